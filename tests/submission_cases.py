"""Broken and valid submissions built from ``sample_data/`` (copied, never written in place)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import tifffile
from typer.testing import CliRunner

from builders import zip_folder
from magic_submit.cli import app

MASKS = "masks_preds"
CVQA = "data_cvqa_sys.json"
FIRST_ID = "IMG_ENC00908_00001"  # 310 x 557 in the sample test split
FIRST_MASK = f"{FIRST_ID}_mask_sys.tiff"

runner = CliRunner()


def copy_submission(sample_submission: Path, dest: Path) -> Path:
    return Path(shutil.copytree(sample_submission, dest))


def mask_path(sub: Path, name: str = FIRST_MASK) -> Path:
    return sub / MASKS / name


def rewrite_mask(sub: Path, transform, name: str = FIRST_MASK) -> None:
    """Replace a mask by ``transform(mask)`` (written with tifffile as is)."""
    path = mask_path(sub, name)
    tifffile.imwrite(path, transform(tifffile.imread(path)))


def rename_mask(sub: Path, new_name: str, name: str = FIRST_MASK) -> None:
    target = sub / MASKS / new_name
    target.parent.mkdir(parents=True, exist_ok=True)
    mask_path(sub, name).rename(target)


def load_records(sub: Path) -> list[dict]:
    return json.loads((sub / CVQA).read_text(encoding="utf-8"))


def save_records(sub: Path, records) -> None:
    (sub / CVQA).write_text(json.dumps(records), encoding="utf-8")


def edit_records(sub: Path, edit) -> None:
    records = load_records(sub)
    edit(records)
    save_records(sub, records)


def as_zip(sub: Path) -> Path:
    return zip_folder(sub, sub.with_suffix(".zip"))


def validate_cli(sub: Path, sample_data: Path, *extra: str) -> tuple[int, dict]:
    """(exit status, --json report) of ``magic validate-submission`` against the sample test split."""
    result = runner.invoke(app, ["validate-submission", str(sub), "--split",
                                 str(sample_data / "test.json"), "--images",
                                 str(sample_data / "images_test"), "--json", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def problems_of(report: dict, code: str) -> list[dict]:
    return [p for kind in ("errors", "warnings", "notes") for p in report[kind] if p["code"] == code]


def binary_blob(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[shape[0] // 4: shape[0] // 2, shape[1] // 4: shape[1] // 2] = 1
    return mask
