"""``magic validate-submission``: every broken mask kind, as a folder and as a zip, and valid forms."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from builders import declare_tiff_size
from submission_cases import (
    FIRST_ID, FIRST_MASK, MASKS, as_zip, mask_path, problems_of, rename_mask,
    rewrite_mask, validate_cli,
)


def _png(sub: Path) -> None:
    mask = tifffile.imread(mask_path(sub))
    Image.fromarray(mask * 255).save(sub / MASKS / f"{FIRST_ID}.png")
    mask_path(sub).unlink()


def _multipage(sub: Path) -> None:
    mask = tifffile.imread(mask_path(sub))
    tifffile.imwrite(mask_path(sub), np.stack([mask, mask]))


def _truncated(sub: Path) -> None:
    data = mask_path(sub).read_bytes()
    mask_path(sub).write_bytes(data[: len(data) // 2])


def _duplicate(sub: Path) -> None:
    (sub / MASKS / (FIRST_MASK + ".tiff")).write_bytes(mask_path(sub).read_bytes())


def _misplaced(sub: Path) -> None:
    (sub / MASKS).rename(sub / "masks")


# (mutation, expected error code, file named (None: not checked))
BROKEN = {
    "missing": (lambda s: mask_path(s).unlink(), "mask-missing", "masks_preds/"),
    "tif": (lambda s: rename_mask(s, f"{FIRST_ID}_mask_sys.tif"), "mask-extension",
            f"masks_preds/{FIRST_ID}_mask_sys.tif"),
    "TIFF": (lambda s: rename_mask(s, f"{FIRST_ID}_mask_sys.TIFF"), "mask-extension",
             f"masks_preds/{FIRST_ID}_mask_sys.TIFF"),
    "png": (_png, "mask-extension", f"masks_preds/{FIRST_ID}.png"),
    "mask_mask": (lambda s: rename_mask(s, f"{FIRST_ID}_mask_mask_sys.tiff"),
                  "mask-name-double-mask", f"masks_preds/{FIRST_ID}_mask_mask_sys.tiff"),
    "image extension kept": (lambda s: rename_mask(s, f"{FIRST_ID}.jpg_mask_sys.tiff"),
                             "mask-name-image-extension", f"masks_preds/{FIRST_ID}.jpg_mask_sys.tiff"),
    "other suffix": (lambda s: rename_mask(s, f"{FIRST_ID}_mask_pred.tiff"), "mask-wrong-suffix",
                     f"masks_preds/{FIRST_ID}_mask_pred.tiff"),
    "no _mask_": (lambda s: rename_mask(s, f"{FIRST_ID}.tiff"), "mask-name-format",
                  f"masks_preds/{FIRST_ID}.tiff"),
    "nested folder": (lambda s: rename_mask(s, f"preds/{FIRST_MASK}"), "mask-nested-folder",
                      f"masks_preds/preds/{FIRST_MASK}"),
    "0/255": (lambda s: rewrite_mask(s, lambda m: m * 255), "mask-values-255", None),
    "probabilities": (lambda s: rewrite_mask(s, lambda m: m * np.float32(0.8)),
                      "mask-values-probability", None),
    "labels 0..2": (lambda s: rewrite_mask(s, lambda m: m * 2), "mask-values", None),
    "NaN": (lambda s: rewrite_mask(s, lambda m: np.where(m == 1, np.nan, 0).astype(np.float32)),
            "mask-values", None),
    "RGB": (lambda s: rewrite_mask(s, lambda m: np.stack([m] * 3, axis=-1)), "mask-not-2d", None),
    "multi-page": (_multipage, "mask-not-2d", None),
    "352x352": (lambda s: rewrite_mask(s, lambda m: np.zeros((352, 352), np.uint8)), "mask-size",
                None),
    "transposed": (lambda s: rewrite_mask(s, lambda m: np.ascontiguousarray(m.T)), "mask-size",
                   None),
    "empty file": (lambda s: mask_path(s).write_bytes(b""), "mask-unreadable", None),
    "truncated": (_truncated, "mask-unreadable", None),
    "random bytes": (lambda s: mask_path(s).write_bytes(os.urandom(4000)), "mask-unreadable", None),
    "PNG bytes named .tiff": (lambda s: Image.new("L", (5, 5)).save(mask_path(s), format="PNG"),
                              "mask-unreadable", None),
    "two files for one image": (_duplicate, "mask-duplicate", "masks_preds"),
}



@pytest.mark.parametrize("form", ["folder", "zip"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_mask_is_an_error_naming_the_culprit(case: str, form: str, submission: Path,
                                                    sample_data: Path) -> None:
    mutate, code, file = BROKEN[case]
    mutate(submission)
    target = as_zip(submission) if form == "zip" else submission
    status, report = validate_cli(target, sample_data)
    assert status == 1 and report["valid"] is False
    found = [p for p in report["errors"] if p["code"] == code]
    assert found, [p["code"] for p in report["errors"]]
    assert found[0]["image_id"] == FIRST_ID and found[0]["encounter_id"] == "ENC00908"
    assert found[0]["file"] == (file or f"masks_preds/{FIRST_MASK}")
    assert found[0]["message"] and found[0]["hint"]
    # One culprit, one problem: a misnamed mask is not also reported as missing.
    assert [p["code"] for p in report["errors"]].count("mask-missing") == (code == "mask-missing")


def test_sizes_from_reference_masks(submission: Path, sample_data: Path) -> None:
    rewrite_mask(submission, lambda m: np.zeros((352, 352), np.uint8))
    from magic_submit.validation import validate_submission

    platform = submission.parent / "reference"
    shutil.copytree(sample_data / "dermavqa-segmentations" / "test", platform / "masks_refs")
    for reference in (sample_data, sample_data / "dermavqa-segmentations" / "test", platform):
        report = validate_submission(submission, sample_data / "test.json", reference_masks=reference)
        assert [p.image_id for p in report.errors if p.code == "mask-size"] == [FIRST_ID]
        assert report.summary["sizes_from"].endswith(("test", "masks_refs"))


def test_wrong_folder_name_is_an_error(submission: Path, sample_data: Path) -> None:
    _misplaced(submission)
    status, report = validate_cli(submission, sample_data)
    assert status == 1
    assert [p["file"] for p in problems_of(report, "masks-folder-misplaced")] == ["masks/"]
    assert not problems_of(report, "mask-missing")


def test_every_problem_is_reported_at_once(submission: Path, sample_data: Path) -> None:
    BROKEN["0/255"][0](submission)
    rewrite_mask(submission, lambda m: np.stack([m] * 3, -1), name="IMG_ENC00909_00001_mask_sys.tiff")
    mask_path(submission, "IMG_ENC00910_00001_mask_sys.tiff").unlink()
    rename_mask(submission, "IMG_ENC00911_00001_mask_sys.tif", name="IMG_ENC00911_00001_mask_sys.tiff")
    status, report = validate_cli(submission, sample_data)
    assert status == 1
    assert {(p["code"], p["image_id"]) for p in report["errors"]} == {
        ("mask-values-255", FIRST_ID), ("mask-not-2d", "IMG_ENC00909_00001"),
        ("mask-missing", "IMG_ENC00910_00001"), ("mask-extension", "IMG_ENC00911_00001")}


# ---- warnings and valid forms -------------------------------------------------------------------

def _all_empty(sub: Path) -> None:
    for path in (sub / MASKS).glob("*.tiff"):
        tifffile.imwrite(path, np.zeros_like(tifffile.imread(path)))


def _empty_folder(sub: Path) -> None:
    for path in (sub / MASKS).glob("*.tiff"):
        path.unlink()


def _no_folder(sub: Path) -> None:
    _empty_folder(sub)
    (sub / MASKS).rmdir()


WARNED = {
    "extra image": (lambda s: tifffile.imwrite(s / MASKS / "IMG_ENC00999_00001_mask_sys.tiff",
                                               np.zeros((4, 4), np.uint8)), "mask-extra-image"),
    "stray file": (lambda s: (s / MASKS / "README.txt").write_text("hi"), "file-ignored"),
    "spare copy beside the right file": (
        lambda s: (s / MASKS / f"{FIRST_ID}_mask_sys.png").write_bytes(b"x"), "file-ignored"),
    "every mask empty": (_all_empty, "masks-all-empty"),
    "empty masks_preds": (_empty_folder, "segmentation-absent"),
    "no masks_preds": (_no_folder, "segmentation-absent"),
    "uint16 0/1": (lambda s: rewrite_mask(s, lambda m: m.astype(np.uint16)), "mask-dtype"),
    ".DS_Store": (lambda s: (s / MASKS / ".DS_Store").write_bytes(b"\0"), "system-file-ignored"),
}


@pytest.mark.parametrize("case", list(WARNED))
def test_scored_but_suspicious_is_a_warning(case: str, submission: Path, sample_data: Path) -> None:
    mutate, code = WARNED[case]
    mutate(submission)
    status, report = validate_cli(submission, sample_data)
    assert status == 0 and report["valid"] is True, report["errors"]
    assert problems_of(report, code)


@pytest.mark.parametrize("dtype", [bool, np.float32])
def test_bool_and_float_01_masks_are_valid(dtype, submission: Path, sample_data: Path) -> None:
    for path in (submission / MASKS).glob("*.tiff"):
        tifffile.imwrite(path, tifffile.imread(path).astype(dtype))
    status, report = validate_cli(submission, sample_data)
    assert status == 0 and report["errors"] == [] and report["warnings"] == []
    assert report["summary"]["masks_checked"] == 20


def test_sample_submission_is_valid_as_folder_and_zip(submission: Path, sample_data: Path) -> None:
    for target in (submission, as_zip(submission)):
        status, report = validate_cli(target, sample_data)
        assert status == 0 and report["valid"]
        assert report["errors"] == report["warnings"] == report["notes"] == []
        summary = report["summary"]
        assert (summary["masks_matched"], summary["split_images"]) == (20, 20)
        assert (summary["cvqa_encounters_answered"], summary["split_encounters"]) == (12, 12)


def test_tiff_claiming_billions_of_pixels_is_not_decoded(submission: Path, sample_data: Path) -> None:
    tifffile.imwrite(mask_path(submission), np.zeros((2, 2), np.uint8))
    mask_path(submission).write_bytes(declare_tiff_size(mask_path(submission).read_bytes(),
                                                        60_000, 60_000))
    status, report = validate_cli(submission, sample_data)
    (problem,) = report["errors"]
    assert status == 1 and problem["code"] == "mask-too-large"
    assert "3600000000 pixels" in problem["message"]


def test_a_small_file_declaring_a_huge_float64_array_is_not_decoded(submission: Path,
                                                                    sample_data: Path) -> None:
    """16384 x 16383 float64 is 2.1 GB decoded though the file is tiny: refused from the header
    (the guard counts bytes, not pixels: 268 million pixels passed the old pixel guard)."""
    tifffile.imwrite(mask_path(submission), np.zeros((2, 2), np.float64), compression="zlib")
    mask_path(submission).write_bytes(declare_tiff_size(mask_path(submission).read_bytes(),
                                                        16384, 16383))
    status, report = validate_cli(submission, sample_data)
    (problem,) = report["errors"]
    assert status == 1 and problem["code"] == "mask-too-large"
    assert f"{16384 * 16383 * 8} bytes" in problem["message"] and "float64" in problem["message"]


def test_a_mask_drawn_on_the_exif_upright_view_names_the_orientation(
        submission: Path, sample_data: Path, tmp_path: Path) -> None:
    """The photo is stored 310x557 and tagged "turned 90 degrees clockwise": a mask drawn on
    the upright view (557x310) is not a transposed one; the hint turns it back."""
    from magic_submit.validation import validate_submission

    images = tmp_path / "images_test"
    shutil.copytree(sample_data / "images_test", images)
    photo_path = next(images.glob(FIRST_ID + ".*"))
    with Image.open(photo_path) as photo:
        exif = photo.getexif()
        exif[0x0112] = 6
        photo.load()
        photo.save(photo_path, format=photo.format, exif=exif, quality=95)
    stored = tifffile.imread(mask_path(submission))
    rewrite_mask(submission, lambda m: np.ascontiguousarray(np.rot90(m, -1)))  # as a viewer shows
    report = validate_submission(submission, sample_data / "test.json", images_dir=images)
    size = [p for p in report.errors if p.code == "mask-size"]
    assert [p.image_id for p in size] == [FIRST_ID]
    assert "EXIF orientation 6: viewers show it turned 90 degrees clockwise" in size[0].message
    assert "stored pixels" in size[0].message and "np.rot90(mask, 1)" in size[0].hint
    view = tifffile.imread(mask_path(submission))
    assert np.array_equal(eval("np.rot90(mask, 1)", {"np": np, "mask": view}), stored)  # noqa: S307
    # the same mask against the untagged photos: a plain transposition, the plain hint
    report = validate_submission(submission, sample_data / "test.json",
                                 images_dir=sample_data / "images_test")
    size = [p for p in report.errors if p.code == "mask-size"]
    assert "swapped" in size[0].message and "EXIF" not in size[0].message
    assert size[0].hint.startswith("transpose it before saving")
