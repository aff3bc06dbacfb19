"""The gallery of the worst images: which ones, and their overlay JPEGs written beside the page.

Worst first: images whose official score is NaN (they make the macro means NaN), then by the
best annotator's Jaccard (the paper's Jacc. M(Max) per image), lowest first; ties by image id.
A photo that cannot be read is replaced by grey, with a note: the report is still written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.segmentation import ImageResult
from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.errors import MagicError
from magic_submit.masks import read_mask
from magic_submit.reporting.overlay import GALLERY_MAX_SIDE, render_overlay
from magic_submit.mask_index import index_masks

GALLERY_DIR = "gallery"


def _badness(result: ImageResult) -> tuple[int, float, str]:
    best = result.macro_values()[0]  # the best annotator's Jaccard; NaN officially
    return (0, 0.0, result.image_id) if math.isnan(best) else (1, best, result.image_id)


def worst_images(images: Sequence[ImageResult], count: int) -> list[ImageResult]:
    """The ``count`` worst images, NaN ones first, then lowest best-annotator Jaccard."""
    return sorted(images, key=_badness)[:max(count, 0)]


@dataclass(frozen=True)
class GalleryItem:
    """One drawn image: its result, the JPEG path relative to the page, its (width, height), and
    whether a photo was used."""

    result: ImageResult
    file: str
    size: tuple[int, int]
    has_photo: bool


def write_gallery(items: Sequence[ImageResult], reference_masks: Path, prediction_masks: Path | None,
                  photos: Mapping[str, Path], output_dir: Path, *, suffix: str = DEFAULT_SUFFIX,
                  max_side: int = GALLERY_MAX_SIDE, notes: list[str] | None = None,
                  outline_reference: bool = True) -> list[GalleryItem]:
    """Draw each image's overlay into ``output_dir/gallery/`` and describe it for the page.

    A photo that cannot be read is drawn as grey and said in ``notes`` (when given);
    ``outline_reference=False`` draws the prediction's outline only (see :func:`render_overlay`).
    """
    if not items:
        return []
    gold_index = index_masks(reference_masks).by_labeler
    pred_index = index_masks(prediction_masks).by_labeler.get(suffix, {}) if prediction_masks else {}
    folder = output_dir / GALLERY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    for result in items:
        golds = {a: read_mask(gold_index[a][result.image_id]) for a in result.annotators}
        pred_file = pred_index.get(result.image_id)
        prediction = read_mask(pred_file) if pred_file is not None else None
        photo = photos.get(result.image_id)
        try:
            image = render_overlay(photo, golds, prediction, max_side,
                                   outline_annotators=outline_reference)
        except MagicError as error:  # an unreadable photo: the masks on grey instead
            if notes is not None:
                why = error.render(with_hint=False)
                notes.append(f"{result.image_id}: photo not shown ({why})")
            photo = None
            image = render_overlay(None, golds, prediction, max_side,
                                   outline_annotators=outline_reference)
        name = f"{result.image_id}.jpg"
        # JPEG: photos compress ~5x better than PNG and much faster; 4:4:4 keeps outlines crisp.
        image.save(folder / name, quality=90, subsampling=0)
        drawn.append(GalleryItem(result, f"{GALLERY_DIR}/{name}", image.size, photo is not None))
    return drawn
