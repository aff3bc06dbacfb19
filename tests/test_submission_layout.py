"""Opening a submission or a reference: where the parts are, and the whole error when they are not.

Each error is compared field by field (code, message, file, hint): these are what the user reads.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from magic_submit.errors import MagicError, UsageError
from magic_submit.submission import (
    ReferenceFiles, SubmissionFiles, is_platform_reference, locate_submission_parts,
    open_reference, open_submission,
)

MASKS, CVQA = "masks_preds", "data_cvqa_sys.json"
ID = "IMG_ENC00908_00001"


def error_of(path: Path, *, is_zip: bool = False) -> MagicError:
    with pytest.raises(MagicError) as info:
        locate_submission_parts(path, path, is_zip=is_zip)
    return info.value


def test_parts_at_the_root_are_found(tmp_path: Path) -> None:
    (tmp_path / MASKS).mkdir()
    (tmp_path / CVQA).write_text("[]")
    found = locate_submission_parts(tmp_path, tmp_path, is_zip=False)
    assert (found.masks_dir, found.cvqa_file) == (tmp_path / MASKS, tmp_path / CVQA)
    assert (found.masks_kind, found.cvqa_kind, found.is_zip) == ("folder", "file", False)
    assert (found.masks_path, found.cvqa_path) == (tmp_path / MASKS, tmp_path / CVQA)


def test_odd_entries_at_the_official_paths_are_recorded_not_used(tmp_path: Path) -> None:
    (tmp_path / MASKS).write_text("not a folder")
    (tmp_path / CVQA).mkdir()
    found = locate_submission_parts(tmp_path, tmp_path, is_zip=True)
    assert (found.masks_dir, found.cvqa_file) == (None, None)
    assert (found.masks_kind, found.cvqa_kind, found.is_zip) == ("file", "folder", True)
    only_cvqa = tmp_path / "only"
    only_cvqa.mkdir()
    (only_cvqa / CVQA).write_text("[]")
    found = locate_submission_parts(only_cvqa, only_cvqa, is_zip=False)
    assert (found.masks_dir, found.masks_kind, found.cvqa_kind) == (None, "missing", "file")


def test_kinds_default_from_the_paths_given() -> None:
    files = SubmissionFiles(Path("s"), Path("s"), Path("s/m"), None)
    assert (files.masks_kind, files.cvqa_kind) == ("folder", "missing")
    files = SubmissionFiles(Path("s"), Path("s"), None, Path("s/c.json"))
    assert (files.masks_kind, files.cvqa_kind) == ("missing", "file")


def test_a_zip_inside_the_folder(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "inner.zip", "w") as archive:
        archive.writestr(CVQA, "[]")
    (tmp_path / ".DS_Store").write_bytes(b"\0")  # system files do not count as entries
    for is_zip, holder in ((False, "the folder"), (True, "the zip")):
        error = error_of(tmp_path, is_zip=is_zip)
        assert error.code == "submission-nested-zip" and error.file == str(tmp_path)
        assert error.message == (f"{holder} holds only a zip, 'inner.zip': the platform does not "
                                 f"unpack nested zips and finds neither {MASKS}/ nor {CVQA} (the "
                                 f"official scorer crashes: no {CVQA})")
        assert error.hint == f"upload inner.zip itself, or zip {MASKS}/ and {CVQA} directly"


def test_a_file_that_is_not_a_zip_is_no_nested_zip(tmp_path: Path) -> None:
    (tmp_path / "inner.zip").write_bytes(b"not a zip")
    assert error_of(tmp_path).message.startswith(f"neither {MASKS}/ nor {CVQA} found at the root")
    (tmp_path / "other.txt").write_text("x")  # two entries: no single nested zip
    assert error_of(tmp_path).code == "submission-no-parts"


def test_parts_inside_a_top_folder(tmp_path: Path) -> None:
    (tmp_path / "team" / MASKS).mkdir(parents=True)
    (tmp_path / "__MACOSX").mkdir()
    for is_zip, hint in ((True, f"zip the contents, not the folder: cd team && zip -r "
                                f"../submission.zip {MASKS} {CVQA}"),
                         (False, f"point at {tmp_path / 'team'}")):
        error = error_of(tmp_path, is_zip=is_zip)
        assert (error.code, error.file, error.hint) == ("submission-wrapped-folder", str(tmp_path),
                                                        hint)
        assert error.message == (f"{MASKS}/ and {CVQA} are inside the folder 'team/', not at the "
                                 "root")
    (tmp_path / "team" / MASKS).rmdir()
    (tmp_path / "team" / CVQA).write_text("[]")  # the CVQA file alone marks it too
    assert error_of(tmp_path).code == "submission-wrapped-folder"
    (tmp_path / "team" / CVQA).unlink()  # a top folder without the parts: no part at all
    assert error_of(tmp_path).code == "submission-no-parts"


def test_a_reference_given_as_the_submission(tmp_path: Path) -> None:
    platform = tmp_path / "platform"
    (platform / "masks_refs").mkdir(parents=True)
    error = error_of(platform)
    assert error.code == "submission-no-parts" and error.file == str(platform)
    assert error.message == ("this is a reference, not a submission: it holds masks_refs/ or "
                             "data_cvqa_ref.json")
    assert error.hint == ("pass it as --reference; the submission is the folder or zip that holds "
                          f"your {MASKS}/ and {CVQA}")
    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "data_cvqa_ref.json").write_text("[]")
    assert "it holds masks_refs/ or data_cvqa_ref.json" in error_of(gold).message
    annotated = tmp_path / "annotated"
    annotated.mkdir()
    (annotated / f"{ID}_mask_ann3.tiff").write_bytes(b"")
    assert error_of(annotated).message == ("this is a reference, not a submission: 1 annotator "
                                           f"mask(s) such as {ID}_mask_ann3.tiff "
                                           "(IMG_..._mask_annK.tiff)")
    dataset = tmp_path / "dataset"
    (dataset / "dermavqa-segmentations").mkdir(parents=True)
    assert error_of(dataset).message == ("this is a reference, not a submission: it holds "
                                         "dermavqa-segmentations/ (a dataset root)")


def test_annotator_labels_are_read_from_tiff_names_only(tmp_path: Path) -> None:
    (tmp_path / f"{ID}_mask_ann0.png").write_bytes(b"")  # not a TIFF: not a reference mask
    (tmp_path / f"{ID}_mask_annotator.tiff").write_bytes(b"")  # a TIFF, but no annotator label
    error = error_of(tmp_path)
    assert (error.code, error.file) == ("submission-no-parts", str(tmp_path))
    assert error.message == f"mask files lie at the root; the platform reads them only from {MASKS}/"
    assert error.hint == f"move the masks into {MASKS}/"
    short = tmp_path / "short"
    short.mkdir()
    (short / f"{ID}_mask_ann1.tif").write_bytes(b"")  # officially read as the labeler 'ann1.tif'
    assert error_of(short).message.startswith("mask files lie at the root")


def test_nothing_at_all(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    error = error_of(tmp_path)
    assert error.code == "submission-no-parts" and error.file == str(tmp_path)
    assert error.message == (f"neither {MASKS}/ nor {CVQA} found at the root (the official scorer "
                             f"crashes: no {CVQA})")
    assert error.hint == f"put {MASKS}/ and {CVQA} at the top level"


def test_open_submission_refuses_what_is_neither_folder_nor_zip(tmp_path: Path) -> None:
    with pytest.raises(MagicError) as info:
        with open_submission(tmp_path / "absent"):
            pass
    assert (info.value.code, info.value.message, info.value.file, info.value.hint) == (
        "submission-missing", "submission not found", str(tmp_path / "absent"),
        "pass a submission folder or .zip")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(MagicError) as info:
        with open_submission(tmp_path / "notes.txt"):
            pass
    assert (info.value.code, info.value.message, info.value.hint) == (
        "zip-corrupt", "submission is neither a folder nor a zip archive",
        "pass the folder or the .zip you will upload")


def test_a_zip_is_unpacked_privately_and_removed_afterwards(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"{MASKS}/{ID}_mask_sys.tiff", b"x")
        handle.writestr(CVQA, "[]")
    with open_submission(archive) as sub:
        root = sub.root
        assert sub.is_zip and sub.source == archive and sub.notes == []
        assert (sub.masks_dir / f"{ID}_mask_sys.tiff").read_bytes() == b"x"
        assert root != tmp_path and root.name.startswith("magic-submission-")
    assert not root.exists() and archive.is_file()
    folder = tmp_path / "folder"
    (folder / MASKS).mkdir(parents=True)
    with open_submission(folder, unpacked=True) as sub:  # a folder: used in place
        assert sub.root == folder and sub.is_zip and sub.source == folder
    with open_submission(folder) as sub:
        assert not sub.is_zip


def test_a_zip_of_the_parts_inside_a_folder_names_the_zip(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(f"team/{CVQA}", "[]")
    with pytest.raises(MagicError) as info:
        with open_submission(archive):
            pass
    assert info.value.code == "submission-wrapped-folder" and info.value.file == str(archive)
    assert info.value.hint.startswith("zip the contents, not the folder: cd team")


# ---- references ---------------------------------------------------------------------------------

def test_platform_reference(tmp_path: Path) -> None:
    (tmp_path / "masks_refs").mkdir()
    (tmp_path / "data_cvqa_ref.json").write_text("[]")
    ref = open_reference(tmp_path)
    assert ref == ReferenceFiles(tmp_path / "masks_refs", tmp_path / "data_cvqa_ref.json",
                                 f"platform reference {tmp_path}", is_platform=True)
    masks_only = tmp_path / "m"
    (masks_only / "masks_refs").mkdir(parents=True)
    assert open_reference(masks_only, "test").cvqa_file is None  # --split is not needed here
    cvqa_only = tmp_path / "c"
    cvqa_only.mkdir()
    (cvqa_only / "data_cvqa_ref.json").write_text("[]")
    assert open_reference(cvqa_only).masks_dir is None
    (cvqa_only / "masks_refs").write_text("a file")
    assert not is_platform_reference(tmp_path / "nowhere")
    assert is_platform_reference(cvqa_only) and open_reference(cvqa_only).masks_dir is None


def test_dataset_reference_needs_a_split_and_its_files(tmp_path: Path, sample_data: Path) -> None:
    with pytest.raises(UsageError) as info:
        open_reference(sample_data)
    assert info.value.code == "reference-needs-split" and info.value.file == str(sample_data)
    assert info.value.message == (f"{sample_data} has no masks_refs/ or data_cvqa_ref.json: a "
                                  "dataset root needs --split (train, valid or test)")
    assert info.value.hint == "pass --split, or the organisers' folder holding masks_refs/"
    ref = open_reference(sample_data, "test")
    assert ref.masks_dir == sample_data / "dermavqa-segmentations" / "test"
    assert ref.cvqa_file == sample_data / "test_cvqa.json"
    assert ref.description == f"dataset {sample_data}, split test" and not ref.is_platform
    with pytest.raises(MagicError) as info:
        open_reference(tmp_path, "test")
    assert info.value.code == "reference-missing" and info.value.file == str(tmp_path)
    assert info.value.message.startswith("no gold masks or CVQA answers for split 'test' "
                                         f"(looked for {tmp_path}")
    with pytest.raises(MagicError) as info:
        open_reference(tmp_path / "absent", "test")
    assert (info.value.code, info.value.message, info.value.hint) == (
        "reference-missing", "reference folder not found",
        "pass the organisers' folder or the dataset root with --split")


def test_a_dataset_with_only_one_part(tmp_path: Path, sample_data: Path) -> None:
    os.symlink(sample_data / "test_cvqa.json", tmp_path / "test_cvqa.json")
    ref = open_reference(tmp_path, "test")
    assert ref.masks_dir is None and ref.cvqa_file == tmp_path / "test_cvqa.json"
    assert json.loads(ref.cvqa_file.read_text())[0]["encounter_id"]
