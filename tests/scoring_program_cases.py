"""Uploads as the platform unpacks them into ``/app/input/res``, and ``/app`` trees to run the
exported scoring program on (``/app`` mapped to a temporary folder)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import tifffile
from typer.testing import CliRunner

from builders import platform_reference, write_json, zip_folder
from magic_submit.challenge import CVQA_SUBMISSION_FILE, MASKS_PRED_DIR
from magic_submit.cli import app as cli_app
from magic_submit.scoring_program.platform_run import PLATFORM_ARGUMENTS


def _sample(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res)


def _values_255(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res)
    for path in sorted((res / MASKS_PRED_DIR).glob("*.tiff")):
        tifffile.imwrite(path, tifffile.imread(path) * 255)


def _no_cvqa(sub: Path, res: Path) -> None:
    shutil.copytree(sub / MASKS_PRED_DIR, res / MASKS_PRED_DIR)


def _missing_mask(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res)
    sorted((res / MASKS_PRED_DIR).glob("*.tiff"))[-1].unlink()


def _nested_zip(sub: Path, res: Path) -> None:
    res.mkdir(parents=True)
    zip_folder(sub, res / "submission.zip")


def _top_folder(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res / "my_submission")


def _no_masks(sub: Path, res: Path) -> None:
    res.mkdir(parents=True)
    shutil.copy(sub / CVQA_SUBMISSION_FILE, res / CVQA_SUBMISSION_FILE)


def _empty_parts(sub: Path, res: Path) -> None:
    (res / MASKS_PRED_DIR).mkdir(parents=True)
    write_json(res / CVQA_SUBMISSION_FILE, [])


def _extra_mask(sub: Path, res: Path) -> None:
    """A warning only: a mask for an image outside the split (the official scorer ignores it)."""
    shutil.copytree(sub, res)
    first = sorted((res / MASKS_PRED_DIR).glob("*.tiff"))[0]
    shutil.copy(first, res / MASKS_PRED_DIR / "IMG_ENC09999_00001_mask_sys.tiff")


def _leftover_zip(sub: Path, res: Path) -> None:
    """A warning only: an earlier zip left beside the parts (the official scorer ignores it)."""
    shutil.copytree(sub, res)
    zip_folder(sub, res / "submission.zip")


UPLOADS: dict[str, Callable[[Path, Path], None]] = {
    "sample": _sample, "values-255": _values_255, "no-cvqa": _no_cvqa,
    "missing-mask": _missing_mask,
    "nested-zip": _nested_zip, "top-folder": _top_folder, "no-masks": _no_masks,
    "empty-parts": _empty_parts, "extra-mask": _extra_mask, "leftover-zip": _leftover_zip,
}
# Uploads scored with a warning: the validator's code and the file it names.
WARNED: dict[str, tuple[str, str]] = {
    "extra-mask": ("mask-extra-image", "IMG_ENC09999_00001"),
    "leftover-zip": ("file-ignored", "submission.zip"),
}
# Uploads the official scorer crashes on, refused: the validator's code and a piece of what it
# says (the fix or the culprit).
REFUSED: dict[str, tuple[str, str]] = {
    "no-cvqa": ("cvqa-missing", "a segmentation-only team sends []"),
    "missing-mask": ("mask-missing", "IMG_ENC00919_00003"),
    "nested-zip": ("submission-nested-zip", "upload submission.zip itself"),
    "top-folder": ("submission-wrapped-folder", "zip the contents, not the folder"),
}
# Uploads the official scorer silently misreads: scored as officially, with the validator's
# errors (refused with --strict).
MISREAD: dict[str, tuple[str, str]] = {
    "values-255": ("mask-values-255", "(mask > 0).astype('uint8')"),
}

# Every broken upload: the exit status of the scoring program, the code, a piece of its text.
BROKEN: dict[str, tuple[int, str, str]] = {
    **{upload: (1, *said) for upload, said in REFUSED.items()},
    **{upload: (0, *said) for upload, said in (MISREAD | WARNED).items()},
}


def make_app(root: Path, sample_data: Path, upload: str, *, reference: str = "platform") -> Path:
    """``root/input/ref`` (``platform``: masks_refs/ + data_cvqa_ref.json; ``dataset``: the
    sample's test split as distributed, with its photos), ``root/input/res`` holding ``upload``,
    and an empty ``root/output``."""
    ref = root / "input" / "ref"
    if reference == "platform":
        platform_reference(sample_data, ref)
    else:
        ref.mkdir(parents=True)
        for name in ("test.json", "test_cvqa.json", "images_test"):
            source = sample_data / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, ref / name)
        shutil.copytree(sample_data / "dermavqa-segmentations" / "test",
                        ref / "dermavqa-segmentations" / "test")
    UPLOADS[upload](sample_data / "submission", root / "input" / "res")
    (root / "output").mkdir()
    return root


def magic_score_output(app: Path, out: Path) -> bytes:
    """``scores.json`` of ``magic score --output`` for the upload and reference of ``app``."""
    done = CliRunner().invoke(cli_app, ["score", str(app / "input" / "res"), "--reference",
                                        str(app / "input" / "ref"), "--output", str(out), "-q"])
    assert done.exit_code == 0, done.output
    return (out / "scores.json").read_bytes()


def mapped(words: list[str] | tuple[str, ...], app: Path) -> list[str]:
    """The platform's ``/app/...`` paths of a command moved under ``app``."""
    return [w.replace("/app/", f"{app}/", 1) if w.startswith("/app/") else w for w in words]


def platform_arguments(app: Path) -> list[str]:
    return mapped(PLATFORM_ARGUMENTS, app)
