"""The segmentation samples of a split: image, encounter record, annotator masks, training target.

Image ids come from each encounter's ``image_ids`` (never from positions); the annotator masks of
an image are the ``{image_id}_mask_annK.tiff`` files of the split's mask folder, found as the
official scorer finds them (:func:`magic_submit.mask_index.index_masks`).

Training target (``--target``):

* ``or``: a pixel is lesion when any annotator present marks it (the paper's choice);
* ``majority``: when at least half of them do (ceil(n/2)), the official micro metric's reference,
  computed by :func:`evaluation.segmentation.majority_vote` (one place for that rule).

>>> a = np.array([[1, 0, 0]], np.uint8); b = np.array([[1, 1, 0]], np.uint8)
>>> c = np.array([[0, 0, 1]], np.uint8)
>>> merge_annotators({"ann0": a, "ann1": b, "ann2": c}, "or").astype(int).tolist()
[[1, 1, 1]]
>>> merge_annotators({"ann0": a, "ann1": b, "ann2": c}, "majority").astype(int).tolist()
[[1, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.errors import ShapeMismatchError
from evaluation.segmentation import foreground, majority_vote
from magic_submit.challenge import ANNOTATORS
from magic_submit.dataset import DatasetLayout
from magic_submit.errors import MagicError
from magic_submit.masks import mask_shape, read_mask
from magic_submit.mask_index import index_masks
from magic_submit.photos import (
    SWAPPED_ORIENTATIONS, decode_pool, orientation_note, photo_header,
)

TARGET_CHOICES: tuple[str, ...] = ("or", "majority")
DEFAULT_TARGET = "or"  # the paper's


@dataclass(frozen=True)
class SegSample:
    """One image of a split with its encounter record and its annotator mask files."""

    image_id: str
    image_path: Path
    encounter_id: str
    record: dict[str, Any] = field(compare=False, repr=False)
    mask_paths: Mapping[str, Path] = field(default_factory=dict, compare=False)


def load_samples(root: str | Path, split: str, *, need_masks: bool,
                 images_dir: str | Path | None = None) -> list[SegSample]:
    """Every image of ``split`` in file order; with ``need_masks``, only images with a mask.

    The photos are looked up in ``images_dir`` when given (a folder of photos named as the split
    lists them), else in the split's image folder. Raises :class:`MagicError` when the split lists
    no photo, when an image file is missing or, with ``need_masks``, when the split has no mask
    folder or no image has a mask.
    """
    layout = DatasetLayout(Path(root))
    encounters = layout.encounters(split)
    if images_dir is None:
        images_dir = layout.require_images(split)
    elif not Path(images_dir).is_dir():
        raise MagicError("image folder not found", file=images_dir,
                         hint="pass the folder that holds the split's photos")
    images_dir = Path(images_dir)
    masks_dir = layout.require_masks(split) if need_masks else layout.find_masks(split)
    by_labeler = index_masks(masks_dir).by_labeler if masks_dir is not None else {}
    annotators = [(a, by_labeler[a]) for a in ANNOTATORS if a in by_labeler]  # ann0..ann3 order
    samples, missing = [], []
    for encounter in encounters:
        for file_name, image_id in zip(encounter.image_files, encounter.image_ids):
            path = images_dir / file_name
            if not path.is_file():
                missing.append(image_id)
            masks = {a: files[image_id] for a, files in annotators if image_id in files}
            samples.append(SegSample(image_id, path, encounter.encounter_id, encounter.record, masks))
    if not samples:
        raise MagicError(f"split '{split}' lists no photo", file=layout.require_queries(split),
                         hint="each encounter lists its photos in 'image_ids'")
    if missing:
        raise MagicError(f"{len(missing)} image(s) listed in the '{split}' query file are missing",
                         file=images_dir, ids=missing, hint="check the dataset root and split")
    if need_masks:
        samples = [s for s in samples if s.mask_paths]
        if not samples:
            raise MagicError(f"no image of split '{split}' has an annotator mask", file=masks_dir,
                             hint="masks are named IMG_..._mask_ann0.tiff .. _mask_ann3.tiff")
    return samples


def read_annotator_masks(sample: SegSample) -> dict[str, np.ndarray]:
    """The raw annotator masks of a sample, ann0..ann3 order, as the official scorer reads them."""
    return {a: read_mask(path) for a, path in sample.mask_paths.items()}


def merge_annotators(masks: Mapping[str, np.ndarray], target: str) -> np.ndarray:
    """Boolean ``[h, w]`` training target from the annotator masks present (see module doc)."""
    if target not in TARGET_CHOICES:
        raise ValueError(f"unknown target {target!r}; choose from {', '.join(TARGET_CHOICES)}")
    arrays = list(masks.values())
    if not arrays:
        raise ValueError("no annotator mask to merge")
    shape = np.shape(arrays[0])
    if any(np.shape(a) != shape for a in arrays):
        raise ShapeMismatchError(f"annotator masks differ in shape: {[np.shape(a) for a in arrays]}")
    if target == "or":
        return np.logical_or.reduce([foreground(a) for a in arrays])
    return majority_vote(arrays).reshape(shape).copy()  # the vote returns a reused flat buffer


def size_mismatch(sample: SegSample, size: tuple[int, int],
                  shapes: Mapping[str, tuple[int, ...]], orientation: int = 1) -> str | None:
    """Why the annotator masks of ``sample`` (their ``shapes``) cannot be used with its image of
    stored (height, width) ``size`` and EXIF ``orientation``, or None when each has that size."""
    wrong = {a: tuple(shape) for a, shape in shapes.items() if tuple(shape) != tuple(size)}
    if not wrong:
        return None
    details = ", ".join(f"{a} {shape}" for a, shape in wrong.items())
    message = (f"{sample.image_id}: annotator masks ({details}) differ from the image's stored "
               f"size {tuple(size)}")
    if all(shape == tuple(size)[::-1] for shape in wrong.values()):
        message += (f" (the photo has {orientation_note(orientation)}: the masks follow that "
                    "view, not the stored pixels)" if orientation in SWAPPED_ORIENTATIONS else
                    " (height and width swapped)")
    return message


def check_mask_size(sample: SegSample, masks: Mapping[str, np.ndarray], size: tuple[int, int]) -> None:
    """Each annotator mask must have the image's stored (height, width)."""
    problem = size_mismatch(sample, size, {a: np.shape(m) for a, m in masks.items()})
    if problem:
        raise MagicError(problem, file=next(iter(sample.mask_paths.values())),
                         ids=[sample.image_id], hint="masks must have the photo's height and width")


def drop_mismatched(samples: Sequence[SegSample], *,
                    workers: int | None = None) -> tuple[list[SegSample], dict[str, str]]:
    """(samples whose masks have their image's size, {image id: why} of those left out).

    Only headers are read (the photo's stored size, each TIFF's shape), so a split is checked in
    moments before any decoding. A photo whose masks were drawn on another orientation cannot
    train or be scored at its stored size; it is left out and named instead of stopping the run.
    """
    def problem(sample: SegSample) -> str | None:
        shapes = {a: mask_shape(path) for a, path in sample.mask_paths.items()}
        size, orientation = photo_header(sample.image_path)
        return size_mismatch(sample, size, shapes, orientation)

    problems = list(decode_pool(problem, samples, workers=workers))
    kept = [s for s, p in zip(samples, problems) if p is None]
    return kept, {s.image_id: p for s, p in zip(samples, problems) if p is not None}
