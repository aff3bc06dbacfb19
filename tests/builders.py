"""Builders of small on-disk cases: reference mask folders, predictions, CVQA files, zips."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import tifffile

from magic_submit.challenge import ANNOTATORS, PARENTS, QIDS

# The small platform case of test_official_parity.py: the official figures recorded there were
# computed on exactly these masks and answers, so they must not change.
I1, I2 = "IMG_ENC00001_00001", "IMG_ENC00002_00001"
A = np.zeros((4, 5), np.uint8)
A[1:3, 1:4] = 1
B = np.zeros((4, 5), np.uint8)
B[0:2, 0:3] = 1
C = np.zeros((4, 5), np.uint8)
C[2:4, 2:5] = 1


def blob(rng: np.random.Generator, shape: tuple[int, int], fill: float) -> np.ndarray:
    """A random 0/1 uint8 mask: a jittered ellipse, sometimes empty or full."""
    h, w = shape
    if fill <= 0:
        return np.zeros(shape, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    ry, rx = max(1.0, h * fill), max(1.0, w * fill)
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    noise = rng.random(shape) < 0.05
    return (inside ^ noise).astype(np.uint8)


def write_seg_case(root: Path, rng: np.random.Generator, n_images: int = 5, *,
                   max_side: int = 40, empty_rate: float = 0.1, suffix: str = "sys",
                   pred_dtype: str = "uint8") -> tuple[Path, Path]:
    """Random reference (2-4 annotators per image) and prediction folders; returns (ref, pred)."""
    ref, pred = root / "masks_refs", root / "masks_preds"
    ref.mkdir(parents=True, exist_ok=True)
    pred.mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        image_id = f"IMG_ENC{i:05d}_{rng.integers(1, 20):05d}"
        shape = (int(rng.integers(1, max_side)), int(rng.integers(1, max_side)))
        n_ann = int(rng.integers(1, 5))
        for ann in sorted(rng.choice(ANNOTATORS, size=n_ann, replace=False)):
            fill = 0.0 if rng.random() < empty_rate else rng.uniform(0.1, 0.6)
            tifffile.imwrite(ref / f"{image_id}_mask_{ann}.tiff", blob(rng, shape, fill))
        fill = 0.0 if rng.random() < empty_rate else rng.uniform(0.1, 0.6)
        mask = blob(rng, shape, fill)
        if pred_dtype == "bool":
            mask = mask.astype(bool)
        elif pred_dtype == "float":
            mask = mask.astype(np.float32)
        tifffile.imwrite(pred / f"{image_id}_mask_{suffix}.tiff", mask)
    return ref, pred


def random_answers(rng: np.random.Generator, *, padded: bool = True) -> dict[str, int]:
    """All 27 qids; multi-slot families hold 1-3 real answers then NM (or random slots)."""
    answers: dict[str, int] = {}
    for parent in PARENTS:
        if parent.multi_slot and padded:
            n_real = int(rng.integers(1, 4))
            values = parent.padded(list(rng.integers(0, parent.n_options, size=n_real)))
        else:
            values = list(rng.integers(0, parent.n_options, size=parent.slots))
        answers.update({q: int(v) for q, v in zip(parent.qids, values)})
    return answers


def cvqa_records(rng: np.random.Generator, encounters: list[str]) -> list[dict]:
    return [{"encounter_id": enc, **random_answers(rng)} for enc in encounters]


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_masks(folder: Path, masks: dict[str, np.ndarray]) -> Path:
    """Each mask as ``folder/name`` (a TIFF), the folder made first; gives the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, mask in masks.items():
        tifffile.imwrite(folder / name, mask)
    return folder


def platform_reference(sample_data: Path, folder: Path, split: str = "test") -> Path:
    """The organisers' layout of a sample split: ``folder/masks_refs/`` + ``data_cvqa_ref.json``."""
    shutil.copytree(sample_data / "dermavqa-segmentations" / split, folder / "masks_refs")
    shutil.copy(sample_data / f"{split}_cvqa.json", folder / "data_cvqa_ref.json")
    return folder


def zip_folder(folder: Path, archive: Path, *, prefix: str = "") -> Path:
    """Zip the contents of ``folder`` with folder entries, as ``zip -r`` does (under ``prefix``)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.rglob("*")):
            name = prefix + path.relative_to(folder).as_posix()
            handle.write(path, name + "/" if path.is_dir() else name)
    return archive


def record(encounter: str, first: int = 0) -> dict:
    """A record of the platform case: every family answered ``first`` (mod its options),
    multi-slot ones padded with NM."""
    out: dict = {"encounter_id": encounter}
    for parent in PARENTS:
        out.update(zip(parent.qids, parent.padded([first % parent.n_options])))
    return out


def platform_case(root: Path) -> tuple[Path, Path]:
    """(reference, submission) in the platform layout: 2 images (2 and 1 annotators), 2 encounters."""
    ref, res = root / "ref", root / "res"
    (ref / "masks_refs").mkdir(parents=True)
    (res / "masks_preds").mkdir(parents=True)
    tifffile.imwrite(ref / "masks_refs" / f"{I1}_mask_ann0.tiff", A)
    tifffile.imwrite(ref / "masks_refs" / f"{I1}_mask_ann1.tiff", B)
    tifffile.imwrite(ref / "masks_refs" / f"{I2}_mask_ann0.tiff", C)
    (ref / "data_cvqa_ref.json").write_text(json.dumps([record("ENC00001", 0),
                                                        record("ENC00002", 1)]))
    tifffile.imwrite(res / "masks_preds" / f"{I1}_mask_sys.tiff", A)
    tifffile.imwrite(res / "masks_preds" / f"{I2}_mask_sys.tiff", B)
    (res / "data_cvqa_sys.json").write_text(json.dumps([record("ENC00001", 0),
                                                        record("ENC00002", 2)]))
    return ref, res



def declare_tiff_size(data: bytes, height: int, width: int) -> bytes:
    """A little-endian TIFF whose first page claims ``height`` x ``width`` (pixels unchanged):
    the ImageLength and ImageWidth tags rewritten as LONG values."""
    out = bytearray(data)
    (ifd,) = struct.unpack_from("<I", out, 4)
    (count,) = struct.unpack_from("<H", out, ifd)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag = struct.unpack_from("<H", out, entry)[0]
        if tag in (256, 257):  # ImageWidth, ImageLength
            struct.pack_into("<HII", out, entry + 2, 4, 1, width if tag == 256 else height)
    return bytes(out)


assert len(QIDS) == 27
