"""What the validator checks a submission against (the split, the sizes) and its whole-upload
findings, on small hand-built cases: every message and summary field compared."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tifffile
from PIL import Image

from magic_submit.dataset import Encounter
from magic_submit.errors import MagicError
from magic_submit.validation import validate_submission
from magic_submit.validation.core import prepare_checks, unopenable_problem
from magic_submit.validation.targets import (
    SplitTargets, expected_sizes, load_targets, reference_masks_dir, sizes_from_images,
    sizes_from_reference,
)

ID1, ID2 = "IMG_ENC00001_00001", "IMG_ENC00002_00001"


def split_file(root: Path, records: list | None = None, name: str = "test.json") -> Path:
    path = root / name
    path.write_text(json.dumps(records if records is not None else [
        {"encounter_id": "ENC00001", "image_ids": [f"{ID1}.jpg"]},
        {"encounter_id": "ENC00002", "image_ids": [f"{ID2}.png"]}]))
    return path


def photos(root: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    folder = root / "images"
    folder.mkdir(exist_ok=True)
    for name, (h, w) in sizes.items():
        Image.new("RGB", (w, h)).save(folder / name)
    return folder


def test_targets_from_a_query_file(tmp_path: Path) -> None:
    targets = load_targets(split_file(tmp_path))
    assert targets.encounter_ids == ["ENC00001", "ENC00002"] and targets.split_name == "test"
    assert targets.image_ids == [ID1, ID2] and targets.source == str(tmp_path / "test.json")
    assert targets.encounter_of == {ID1: "ENC00001", ID2: "ENC00002"}
    assert targets.image_file == {ID1: f"{ID1}.jpg", ID2: f"{ID2}.png"}
    other = load_targets(split_file(tmp_path, name="mine.json"))
    assert other.split_name is None
    given = load_targets([Encounter("E", ("a.jpg",))])
    assert (given.source, given.split_name, given.image_ids) == ("encounters given", None, ["a"])
    with pytest.raises(MagicError) as info:
        load_targets(["ENC00001"])
    assert (info.value.message, info.value.hint) == (
        "split must be a query file or a list of Encounter objects", "pass the split's test.json")
    answers = split_file(tmp_path, [{"encounter_id": "ENC00001", "CQID010-001": 0}], "a.json")
    with pytest.raises(MagicError) as info:
        load_targets(answers)
    assert info.value.to_dict() == {
        "code": "split-no-images", "file": str(answers), "ids": [],
        "message": "no record of the split file has 'image_ids'",
        "hint": "pass the split's query file (test.json), not its answers"}
    assert load_targets(split_file(tmp_path, [], "empty.json")).encounters == ()


def test_sizes_from_photos_and_the_ones_that_cannot_be_read(tmp_path: Path) -> None:
    targets = load_targets(split_file(tmp_path))
    folder = photos(tmp_path, {f"{ID1}.jpg": (4, 6)})
    (folder / f"{ID2}.png").write_bytes(b"broken")
    sizes = sizes_from_images(targets, folder)
    assert sizes.sizes == {ID1: (4, 6)} and sizes.source == str(folder)
    (problem,) = sizes.problems
    assert (problem.code, problem.image_id, problem.encounter_id) == ("size-unchecked", ID2,
                                                                       "ENC00002")
    assert problem.message.startswith(f"{ID2}.png: cannot read the image (")
    with pytest.raises(MagicError) as info:
        sizes_from_images(targets, tmp_path / "none")
    assert info.value.to_dict() == {"code": "images-missing", "file": str(tmp_path / "none"),
                                    "ids": [], "message": "image folder not found",
                                    "hint": "pass the split's image folder, e.g. images_test/"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MagicError) as info:
        sizes_from_images(targets, empty)
    assert info.value.to_dict() == {"code": "images-missing", "file": str(empty), "ids": [],
                                    "message": "none of the split's images is in this folder",
                                    "hint": "pass the image folder of the same split"}
    no_images = load_targets([Encounter("E", ())])
    assert sizes_from_images(no_images, empty).sizes == {}


def test_only_photos_turned_by_exif_have_their_orientation_kept(tmp_path: Path) -> None:
    """Orientation 1 (as stored) is left out; any other, mirrored (2) included, is kept."""
    folder = photos(tmp_path, {})
    for name, orientation in ((f"{ID1}.jpg", 1), (f"{ID2}.png", 2)):  # 2: mirrored left-right
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.new("RGB", (6, 4)).save(folder / name, exif=exif)
    sizes = sizes_from_images(load_targets(split_file(tmp_path)), folder)
    assert (sizes.sizes, sizes.orientations) == ({ID1: (4, 6), ID2: (4, 6)}, {ID2: 2})


def test_sizes_from_reference_masks(tmp_path: Path) -> None:
    targets = load_targets(split_file(tmp_path))
    refs = tmp_path / "ref" / "masks_refs"
    refs.mkdir(parents=True)
    tifffile.imwrite(refs / f"{ID1}_mask_ann2.tiff", np.zeros((5, 7), np.uint8))
    tifffile.imwrite(refs / f"{ID1}_mask_ann1.tiff", np.zeros((4, 4), np.uint8))  # first: ann1
    sizes = sizes_from_reference(targets, tmp_path / "ref")
    assert sizes.sizes == {ID1: (4, 4)} and sizes.source == str(refs)
    (problem,) = sizes.problems
    assert (problem.code, problem.message, problem.image_id, problem.encounter_id) == (
        "size-unchecked", "no reference mask", ID2, "ENC00002")
    (refs / f"{ID2}_mask_ann0.tiff").write_bytes(b"broken")
    tifffile.imwrite(refs / f"{ID1}_mask_ann1.tiff", np.zeros((2, 4, 4), np.uint8))
    sizes = sizes_from_reference(targets, refs)  # a folder of *.tiff is used as is
    assert sizes.sizes == {}
    assert [p.message for p in sizes.problems] == [f"unreadable reference mask {ID1}_mask_ann1.tiff",
                                                   f"unreadable reference mask {ID2}_mask_ann0.tiff"]


def test_reference_folder_forms(tmp_path: Path, sample_data: Path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    (masks / "a.tiff").write_bytes(b"")
    assert reference_masks_dir(masks, None) == masks
    assert reference_masks_dir(sample_data, "test") == sample_data / "dermavqa-segmentations" / "test"
    gold_only = tmp_path / "gold"
    gold_only.mkdir()
    (gold_only / "data_cvqa_ref.json").write_text("[]")
    with pytest.raises(MagicError) as info:
        reference_masks_dir(gold_only, None)
    assert info.value.to_dict() == {"code": "reference-missing", "file": str(gold_only), "ids": [],
                                    "message": "the reference holds no masks",
                                    "hint": "pass masks_refs/ or the dataset's masks folder"}


def test_expected_sizes_sources(tmp_path: Path) -> None:
    targets = load_targets(split_file(tmp_path))
    with pytest.raises(MagicError) as info:
        expected_sizes(targets, images_dir=tmp_path, reference=tmp_path)
    assert (info.value.code, info.value.message, info.value.hint) == (
        "usage", "give either an image folder or a reference, not both",
        "use --images for participants, --reference for organisers")
    none = expected_sizes(targets, images_dir=None, reference=None)
    assert none.sizes == {} and none.source is None
    (note,) = none.problems
    assert (note.code, note.message) == ("sizes-not-checked", "no image folder given: mask sizes "
                                                              "were not compared with the images")
    folder = photos(tmp_path, {f"{ID1}.jpg": (4, 6), f"{ID2}.png": (3, 3)})
    assert expected_sizes(targets, images_dir=str(folder), reference=None).sizes == {
        ID1: (4, 6), ID2: (3, 3)}


def test_prepare_checks_compares_a_definitions_file(tmp_path: Path, sample_data: Path) -> None:
    defs = sample_data / "closedquestions_definitions_imageclef2025.json"
    checks = prepare_checks(split_file(tmp_path), definitions=defs)
    assert checks.targets.encounter_ids == ["ENC00001", "ENC00002"]
    bad = tmp_path / "defs.json"
    bad.write_text("{}")
    with pytest.raises(MagicError):
        prepare_checks(split_file(tmp_path), definitions=bad)


# ---- the whole upload ---------------------------------------------------------------------------

def submission(root: Path, *, masks: bool = True, cvqa: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if masks:
        (root / "masks_preds").mkdir()
        tifffile.imwrite(root / "masks_preds" / f"{ID1}_mask_sys.tiff", np.eye(4, 6, dtype=np.uint8))
        tifffile.imwrite(root / "masks_preds" / f"{ID2}_mask_sys.tiff", np.eye(3, dtype=np.uint8))
    if cvqa:
        (root / "data_cvqa_sys.json").write_text("[]")
    return root


def test_summary_of_a_folder(tmp_path: Path) -> None:
    folder = photos(tmp_path, {f"{ID1}.jpg": (4, 6), f"{ID2}.png": (3, 3)})
    sub = submission(tmp_path / "sub")
    report = validate_submission(sub, split_file(tmp_path), images_dir=folder)
    seconds = report.summary.pop("seconds")
    assert isinstance(seconds, float) and seconds >= 0
    assert report.summary == {
        "submission": str(sub), "suffix": "sys", "split": str(tmp_path / "test.json"),
        "split_encounters": 2, "split_images": 2, "sizes_from": str(folder), "kind": "folder",
        "mask_files": 2, "masks_matched": 2, "masks_checked": 2, "cvqa_records": 0,
        "cvqa_encounters_answered": 0, "valid": True, "errors": 0, "warnings": 1, "notes": 0}
    assert [p.code for p in report.warnings] == ["cvqa-absent"]


def test_summary_of_a_zip_without_cvqa(tmp_path: Path) -> None:
    sub = submission(tmp_path / "sub", cvqa=False)
    (sub / "answers.json").write_text("[]")
    (sub / "notes.json").write_text("[]")
    (sub / "a_readme.txt").write_text("not JSON")  # sorted first, but not a JSON file
    (sub / "a_folder.json").mkdir()  # nor is a folder
    report = validate_submission(sub, split_file(tmp_path))
    (problem,) = report.errors
    assert (problem.code, problem.hint) == (
        "cvqa-missing", "rename answers.json to data_cvqa_sys.json (the platform reads only that "
                        "name)")
    assert report.summary["cvqa_records"] is None and report.summary["kind"] == "folder"
    assert report.summary["cvqa_encounters_answered"] == 0
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(sub / "masks_preds" / f"{ID1}_mask_sys.tiff", f"masks_preds/{ID1}_mask_sys.tiff")
    report = validate_submission(archive, split_file(tmp_path))
    assert report.summary["kind"] == "zip"
    missing = next(p for p in report.errors if p.code == "cvqa-missing")
    assert missing.hint == "write data_cvqa_sys.json at the root; a segmentation-only team sends []"


def test_odd_entries_at_the_two_paths(tmp_path: Path) -> None:
    sub = submission(tmp_path / "sub", masks=False, cvqa=False)
    (sub / "masks_preds").write_text("x")
    (sub / "data_cvqa_sys.json").mkdir()
    report = validate_submission(sub, split_file(tmp_path))
    assert [(p.code, p.file, p.message) for p in report.errors] == [
        ("masks-not-folder", "masks_preds", "masks_preds is a file, not a folder: the official "
                                            "scorer finds no mask in it and scores segmentation "
                                            "0.0"),
        ("cvqa-not-file", "data_cvqa_sys.json", "data_cvqa_sys.json is a folder, not a file: the "
                                                "official scorer crashes (IsADirectoryError)")]
    assert report.summary["mask_files"] == 0 and report.summary["cvqa_records"] is None
    assert report.warnings == []  # no masks_preds/ folder to look for: it is a file


def test_a_zip_beside_the_parts(tmp_path: Path) -> None:
    sub = submission(tmp_path / "sub")
    (sub / "OLD.ZIP").write_bytes(b"PK")
    (sub / "zipdir.zip").mkdir()  # a folder named .zip is not a leftover upload
    report = validate_submission(sub, split_file(tmp_path))
    leftover = [p for p in report.warnings if p.code == "file-ignored"]
    assert [(p.file, p.message, p.hint) for p in leftover] == [
        ("OLD.ZIP", "a zip inside the upload: the platform does not unpack it and the scorer "
                    "ignores it", "remove OLD.ZIP from the upload")]


def test_uploads_that_cannot_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(path: Path, *, unpacked: bool = False) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:  # a full disk while unpacking names the upload
        patched.setattr("magic_submit.validation.core.open_submission", disk_full)
        report = validate_submission(tmp_path / "s.zip", split_file(tmp_path))
    assert [(p.code, p.file, p.message) for p in report.errors] == [
        ("zip-corrupt", str(tmp_path / "s.zip"),
         "cannot be opened ([Errno 28] No space left on device)")]
    own = MagicError("m", file="f.zip", hint="h", code="submission-wrapped-folder")
    assert unopenable_problem(own, tmp_path).to_dict() == {
        "code": "submission-wrapped-folder", "severity": "error", "message": "m", "file": "f.zip",
        "image_id": None, "encounter_id": None, "qid": None, "hint": "h"}
    unknown = unopenable_problem(MagicError("m", code="not-a-code"), tmp_path)
    assert (unknown.code, unknown.file, unknown.hint) == ("zip-corrupt", str(tmp_path),
                                                          "re-create the zip (python -m zipfile "
                                                          "-c ...)")
    report = validate_submission(tmp_path / "absent", split_file(tmp_path))
    assert [p.code for p in report.errors] == ["submission-missing"]
    assert "kind" not in report.summary and report.summary["split_images"] == 2


def test_api_misuse_is_a_type_error(tmp_path: Path) -> None:
    split = split_file(tmp_path)
    with pytest.raises(TypeError, match="^validate_submission needs split or checks$"):
        validate_submission(tmp_path)
    checks = prepare_checks(split)
    for extra in ({"split": split}, {"images_dir": tmp_path}, {"reference_masks": tmp_path}):
        with pytest.raises(TypeError, match=r"^give checks or split \(with images_dir/"
                           r"reference_masks\), not both$"):
            validate_submission(tmp_path, checks=checks, **extra)
    report = validate_submission(submission(tmp_path / "sub"), checks=checks, suffix="team")
    assert report.summary["suffix"] == "team" and report.summary["sizes_from"] is None
    assert {p.code for p in report.errors} == {"mask-wrong-suffix"}
    seconds = report.summary["seconds"]  # the time the check took, in ms steps
    assert 0 <= seconds < 60 and seconds == round(seconds, 3)


def test_the_time_taken_is_given_in_millisecond_steps(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 100.1234567])  # the start, then the end of the check
    monkeypatch.setattr("magic_submit.validation.core.time",
                        SimpleNamespace(perf_counter=lambda: next(clock)))
    checks = prepare_checks(split_file(tmp_path))
    report = validate_submission(tmp_path / "absent", checks=checks)
    assert report.summary["seconds"] == 0.123


def test_unpacked_uploads_speak_of_the_zip(tmp_path: Path) -> None:
    inner = tmp_path / "up" / "team"
    submission(inner)
    report = validate_submission(tmp_path / "up", split_file(tmp_path), unpacked=True)
    (problem,) = report.errors
    assert problem.code == "submission-wrapped-folder"
    assert problem.hint.startswith("zip the contents, not the folder")
    report = validate_submission(tmp_path / "up", split_file(tmp_path))
    assert report.errors[0].hint == f"point at {inner}"


def test_the_split_targets_are_built_once() -> None:
    targets = SplitTargets.build([Encounter("E1", ("a.jpg", "b.png")), Encounter("E2", ("c",))],
                                 "s", "valid")
    assert targets.image_file == {"a": "a.jpg", "b": "b.png", "c": "c"}
    assert targets.encounter_of == {"a": "E1", "b": "E1", "c": "E2"}
    assert (targets.source, targets.split_name) == ("s", "valid")


def test_ignored_zip_entries_are_noted_on_the_zip(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("data_cvqa_sys.json", "[]")
        handle.writestr("__MACOSX/._x", b"\0")
    report = validate_submission(archive, split_file(tmp_path))
    (note,) = [p for p in report.notes if p.code == "zip-ignored-entries"]
    assert (note.file, note.message) == (str(archive), "ignored 1 macOS/system entries "
                                                       "(__MACOSX/, .DS_Store)")
