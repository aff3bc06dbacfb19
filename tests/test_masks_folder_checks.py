"""The validator's checks of ``masks_preds/`` on small hand-built folders (check_masks directly).

Three split images of 2 x 3 pixels; every finding compared with its code, place and message.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from magic_submit.dataset import Encounter
from magic_submit.validation.masks_check import check_masks, misplaced_masks
from magic_submit.validation.targets import SplitTargets

IDS = ("IMG_ENC00001_00001", "IMG_ENC00001_00002", "IMG_ENC00002_00001")
TARGETS = SplitTargets.build([Encounter("ENC00001", (f"{IDS[0]}.jpg", f"{IDS[1]}.png")),
                              Encounter("ENC00002", (f"{IDS[2]}.jpg",))], "split")
SIZES = {i: (2, 3) for i in IDS}
GOOD = np.array([[0, 1, 1], [0, 0, 0]], np.uint8)


def folder(root: Path, files: dict[str, np.ndarray | bytes]) -> Path:
    masks = root / "masks_preds"
    masks.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = masks / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            tifffile.imwrite(path, content)
    return masks


def all_good(**changes: np.ndarray | bytes | None) -> dict:
    files: dict = {f"{i}_mask_sys.tiff": GOOD for i in IDS}
    for name, content in changes.items():
        if content is None:
            files.pop(name)
        else:
            files[name] = content
    return files


def found(tmp_path: Path, files: dict, sizes: dict | None = SIZES, suffix: str = "sys"):
    masks = folder(tmp_path, files)
    outcome = check_masks(masks, tmp_path, TARGETS, sizes if sizes is not None else {}, suffix)
    return outcome, [(p.code, p.file, p.image_id, p.encounter_id) for p in outcome.problems]


def test_a_clean_folder(tmp_path: Path) -> None:
    outcome, problems = found(tmp_path, all_good())
    assert problems == [] and (outcome.files, outcome.matched, outcome.checked) == (3, 3, 3)


def test_a_missing_mask_names_its_image_and_expected_file(tmp_path: Path) -> None:
    outcome, problems = found(tmp_path, all_good(**{f"{IDS[1]}_mask_sys.tiff": None}))
    assert problems == [("mask-missing", "masks_preds/", IDS[1], "ENC00001")]
    assert outcome.problems[0].message == (f"no {IDS[1]}_mask_sys.tiff for the image {IDS[1]}.png")
    assert (outcome.files, outcome.matched, outcome.checked) == (2, 2, 2)


def test_every_mask_empty_warns_one_non_empty_mask_does_not(tmp_path: Path) -> None:
    empty = np.zeros((2, 3), np.uint8)
    _, problems = found(tmp_path / "a", {f"{i}_mask_sys.tiff": empty for i in IDS})
    assert problems == [("masks-all-empty", "masks_preds/", None, None)]
    outcome, _ = found(tmp_path / "b", {f"{i}_mask_sys.tiff": empty for i in IDS})
    assert outcome.problems[0].message == "all 3 masks read hold no foreground pixel"
    _, problems = found(tmp_path / "c", all_good(**{f"{IDS[0]}_mask_sys.tiff": empty,
                                                    f"{IDS[1]}_mask_sys.tiff": empty}))
    assert problems == []
    # An empty mask that is not read (a misnamed one) does not count toward "every mask".
    _, problems = found(tmp_path / "d", {f"{IDS[0]}_mask_sys.tiff": empty,
                                         f"{IDS[1]}_mask_sys.tiff": empty,
                                         f"{IDS[2]}_mask_sys.tif": GOOD})
    assert ("masks-all-empty", "masks_preds/", None, None) in problems


def test_masks_of_other_values_with_one_pixel_set_are_not_called_empty(tmp_path: Path) -> None:
    """A 0/255, a -1 and a probability mask, each with one non-zero pixel: each is named for
    its values, and "every mask empty" (no non-zero pixel) is not said of them."""
    masks = {IDS[0]: np.array([[0, 255, 0], [0, 0, 0]], np.uint8),
             IDS[1]: np.array([[0, 0, 0], [-1, 0, 0]], np.int8),
             IDS[2]: np.array([[0, 0, 0], [0, 0, 0.5]], np.float32)}
    _, problems = found(tmp_path, {f"{i}_mask_sys.tiff": m for i, m in masks.items()})
    assert [code for code, *_ in problems] == ["mask-values-255", "mask-values",
                                               "mask-values-probability"]


def test_one_square_size_without_image_sizes(tmp_path: Path) -> None:
    square = np.zeros((352, 352), np.uint8)
    square[0, 0] = 1
    outcome, problems = found(tmp_path / "a", {f"{i}_mask_sys.tiff": square for i in IDS}, {})
    assert problems == [("masks-one-square-size", "masks_preds/", None, None)]
    assert outcome.problems[0].message == (
        "all 3 masks are 352x352 (a common network input size); photos differ in size, and the "
        "scorer needs each photo's own size")
    odd = np.zeros((50, 50), np.uint8)
    outcome, _ = found(tmp_path / "b", {f"{i}_mask_sys.tiff": odd for i in IDS[:2]}, {})
    assert [p.message for p in outcome.problems if p.code == "masks-one-square-size"] == [
        "all 2 masks are 50x50; photos differ in size, and the scorer needs each photo's own size"]
    # One mask: a square only counts when it is a network input size.
    outcome, _ = found(tmp_path / "c", {f"{IDS[0]}_mask_sys.tiff": odd}, {})
    assert "masks-one-square-size" not in {p.code for p in outcome.problems}
    outcome, _ = found(tmp_path / "d", {f"{IDS[0]}_mask_sys.tiff": square}, {})
    assert "masks-one-square-size" in {p.code for p in outcome.problems}
    # Two sizes, a non-square size, or image sizes to compare with: no such warning.
    for name, files, sizes in (
            ("e", {f"{IDS[0]}_mask_sys.tiff": square, f"{IDS[1]}_mask_sys.tiff": odd}, {}),
            ("f", {f"{i}_mask_sys.tiff": np.zeros((352, 353), np.uint8) for i in IDS}, {}),
            ("g", {f"{i}_mask_sys.tiff": square for i in IDS}, SIZES),
            ("h", {f"{i}_mask_sys.tiff": np.zeros((2, 352, 352), np.uint8) for i in IDS}, {})):
        outcome, _ = found(tmp_path / name, files, sizes)
        assert "masks-one-square-size" not in {p.code for p in outcome.problems}, name


def test_a_misnamed_mask_is_traced_and_its_content_still_read(tmp_path: Path) -> None:
    wrong = np.full((2, 3), 255, np.uint8)
    outcome, problems = found(tmp_path, all_good(**{f"{IDS[0]}_mask_sys.tiff": None,
                                                    f"{IDS[0]}_mask_mask_sys.tiff": wrong}))
    assert problems == [
        ("mask-name-double-mask", f"masks_preds/{IDS[0]}_mask_mask_sys.tiff", IDS[0], "ENC00001"),
        ("mask-values-255", f"masks_preds/{IDS[0]}_mask_mask_sys.tiff", IDS[0], "ENC00001")]
    assert (outcome.files, outcome.matched, outcome.checked) == (3, 2, 3)


def test_a_stray_file_beside_the_right_one_is_only_ignored(tmp_path: Path) -> None:
    outcome, problems = found(tmp_path, all_good(**{f"{IDS[0]}.png": b"png", "notes.txt": b"x"}))
    assert sorted(problems, key=str) == [
        ("file-ignored", f"masks_preds/{IDS[0]}.png", IDS[0], "ENC00001"),
        ("file-ignored", "masks_preds/notes.txt", None, None)]
    stray = next(p for p in outcome.problems if p.image_id == IDS[0])
    assert stray.message == f"ignored: the scorer reads {IDS[0]}_mask_sys.tiff for this image"
    assert outcome.files == 5 and outcome.checked == 3


def test_nested_and_system_files(tmp_path: Path) -> None:
    outcome, problems = found(tmp_path, all_good(**{
        f"{IDS[1]}_mask_sys.tiff": None, f"sub/{IDS[1]}_mask_sys.tiff": GOOD,
        "sub/other.tiff": GOOD, ".DS_Store": b"\0", "__MACOSX/x.tiff": b"\0", "._x.tiff": b"\0"}))
    assert sorted(problems) == [
        ("file-ignored", "masks_preds/sub/other.tiff", None, None),
        ("mask-nested-folder", f"masks_preds/sub/{IDS[1]}_mask_sys.tiff", IDS[1], "ENC00001"),
        ("system-file-ignored", "masks_preds/.DS_Store", None, None),
        ("system-file-ignored", "masks_preds/._x.tiff", None, None),
        ("system-file-ignored", "masks_preds/__MACOSX/x.tiff", None, None)]
    nested = next(p for p in outcome.problems if p.code == "mask-nested-folder")
    assert nested.message == ("in the subfolder 'sub/': the scorer reads only files directly in "
                              "masks_preds/")
    assert outcome.files == 4 and outcome.checked == 3  # the nested TIFF is read for its content


def test_two_files_read_as_one_mask(tmp_path: Path) -> None:
    outcome, problems = found(tmp_path, all_good(**{f"{IDS[2]}_mask_sys.tiff.tiff": GOOD,
                                                    "IMG_ENC00009_00001_mask_sys.tiff": GOOD,
                                                    "IMG_ENC00009_00001_mask_sys.tiff.tiff": GOOD}))
    duplicate = [p for p in outcome.problems if p.code == "mask-duplicate"]
    assert [(p.file, p.image_id, p.encounter_id) for p in duplicate] == [
        ("masks_preds", IDS[2], "ENC00002")]  # the image outside the split is not reported
    assert duplicate[0].message == (f"{IDS[2]}_mask_sys.tiff / {IDS[2]}_mask_sys.tiff.tiff: the "
                                    "scorer reads one of them, whichever it lists last")
    assert ("mask-extra-image", "masks_preds/IMG_ENC00009_00001_mask_sys.tiff",
            "IMG_ENC00009_00001", None) in problems


def test_other_suffixes_and_a_chosen_suffix(tmp_path: Path) -> None:
    files = {f"{i}_mask_team.tiff": GOOD for i in IDS}
    _, problems = found(tmp_path / "a", files, suffix="team")
    assert problems == []
    outcome, problems = found(tmp_path / "b", files)
    assert [p[0] for p in problems] == ["mask-wrong-suffix"] * 3
    assert outcome.matched == 0 and outcome.checked == 3  # each is still read for its content


def test_a_folder_without_any_tiff_is_a_skipped_subtask(tmp_path: Path) -> None:
    outcome, problems = found(tmp_path / "a", {"readme.txt": b"x"})
    assert problems == [("file-ignored", "masks_preds/readme.txt", None, None),
                        ("segmentation-absent", "masks_preds/", None, None)]
    assert outcome.problems[1].message == "masks_preds/ holds no mask of the split"
    # A TIFF of no split image is still a TIFF: the scorer crashes on the missing ones.
    _, problems = found(tmp_path / "b", {"IMG_ENC00009_00001_mask_sys.tiff": GOOD})
    assert [p[0] for p in problems] == ["mask-extra-image", "mask-missing", "mask-missing",
                                        "mask-missing"]
    # A misnamed mask of a split image is not a skipped subtask either.
    _, problems = found(tmp_path / "c", {f"{IDS[0]}_mask_sys.png": b"png"})
    assert [p[0] for p in problems] == ["mask-extension", "mask-missing", "mask-missing"]


def test_unreadable_and_fifo_masks(tmp_path: Path) -> None:
    masks = folder(tmp_path, all_good(**{f"{IDS[0]}_mask_sys.tiff": b"broken"}))
    os.remove(masks / f"{IDS[1]}_mask_sys.tiff")
    os.mkfifo(masks / f"{IDS[1]}_mask_sys.tiff")
    outcome = check_masks(masks, tmp_path, TARGETS, SIZES, "sys")
    codes = {(p.code, p.image_id) for p in outcome.problems}
    assert codes == {("mask-unreadable", IDS[0]), ("mask-not-a-file", IDS[1])}
    # A FIFO misnamed for an image is never opened for its content either.
    masks = folder(tmp_path / "b", all_good(**{f"{IDS[2]}_mask_sys.tiff": None}))
    os.mkfifo(masks / f"{IDS[2]}_mask.tiff")
    outcome = check_masks(masks, tmp_path / "b", TARGETS, SIZES, "sys")
    assert [(p.code, p.image_id) for p in outcome.problems] == [("mask-name-format", IDS[2])]
    assert outcome.checked == 2


def test_no_masks_folder(tmp_path: Path) -> None:
    assert check_masks(None, tmp_path, TARGETS, SIZES, "sys", look_for_misplaced=False).problems == []
    (problem,) = check_masks(None, tmp_path, TARGETS, SIZES, "sys").problems
    assert (problem.code, problem.file, problem.message) == ("segmentation-absent", "masks_preds/",
                                                             "no masks_preds/ folder")


def test_masks_put_elsewhere_are_counted_by_folder(tmp_path: Path) -> None:
    (tmp_path / "preds").mkdir()
    tifffile.imwrite(tmp_path / "preds" / f"{IDS[0]}_mask_sys.tiff", GOOD)
    (tmp_path / "preds" / f"{IDS[1]}.png").write_bytes(b"png")  # named for a split image
    (tmp_path / "preds" / "notes.txt").write_text("x")
    (tmp_path / "x.TIF").write_bytes(b"")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "y.tiff").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "z.tiff").write_bytes(b"")
    problems = misplaced_masks(tmp_path, TARGETS)
    assert [(p.code, p.file, p.message) for p in problems] == [
        ("masks-folder-misplaced", "preds/", "2 mask file(s) in 'preds/' (the platform reads only "
                                             "masks_preds/)"),
        ("masks-folder-misplaced", "./", "1 mask file(s) in './' (the platform reads only "
                                         "masks_preds/)")]
    (tmp_path / "preds" / "sub").mkdir()  # a folder itself is not a mask file
    assert len(misplaced_masks(tmp_path, TARGETS)) == 2


@pytest.mark.parametrize("content, code", [
    (np.zeros((3, 2), np.uint8), "mask-size"),
    (np.full((2, 3), 0.5, np.float32), "mask-values-probability"),
    (np.stack([GOOD, GOOD]), "mask-not-2d"),
    (GOOD.astype(np.int16), "mask-dtype"),
])
def test_content_problems_are_placed_on_the_scored_file(tmp_path: Path, content, code: str) -> None:
    _, problems = found(tmp_path, all_good(**{f"{IDS[2]}_mask_sys.tiff": content}))
    assert (code, f"masks_preds/{IDS[2]}_mask_sys.tiff", IDS[2], "ENC00002") in problems


def test_messages_of_ignored_files_and_missing_masks_of_another_suffix(tmp_path: Path) -> None:
    files = {f"{IDS[0]}_mask_t1.tiff": GOOD, ".DS_Store": b"\0", "notes.txt": b"x"}
    outcome, _ = found(tmp_path, files, suffix="t1")
    messages = {(p.code, p.file): p.message for p in outcome.problems}
    assert messages[("system-file-ignored", "masks_preds/.DS_Store")] == "ignored"
    assert messages[("file-ignored", "masks_preds/notes.txt")] == (
        "not a *.tiff mask of the split: the scorer ignores it")
    assert messages[("mask-missing", "masks_preds/")] in (
        f"no {IDS[1]}_mask_t1.tiff for the image {IDS[1]}.png",
        f"no {IDS[2]}_mask_t1.tiff for the image {IDS[2]}.jpg")
