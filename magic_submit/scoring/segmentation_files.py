"""Segmentation scoring of two mask folders: find the files the official way, read each once on a
thread pool, score with :mod:`evaluation.segmentation`.

The metric is pure code in :mod:`evaluation`; this module only reads files and turns the official
scorer's crashes into :class:`~magic_submit.errors.MagicError` messages that list every culprit
at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.errors import PREDICTION_SIDE, REFERENCE_SIDE, ShapeMismatchError
from evaluation.facts import ANNOTATORS, DEFAULT_SUFFIX
from evaluation.segmentation import (
    ImageResult, SegmentationAggregate, Workspace, score_image, zero_segmentation_scores,
)
from magic_submit.challenge import DEFAULT_WORKERS
from magic_submit.errors import MagicError, MissingPredictionsError
from magic_submit.masks import MaskFileError, read_mask
from magic_submit.scoring.mask_index import index_masks


@dataclass
class SegmentationReport:
    """Figures (official keys + ``_empty_is_one`` keys) with the per-image results behind them."""

    scores: dict[str, float | int]
    images: list[ImageResult]
    notes: list[str] = field(default_factory=list)

    @property
    def nan_images(self) -> list[str]:
        """Images whose official figure is NaN (prediction and an annotator mask both empty)."""
        return [r.image_id for r in self.images if r.has_nan]


def score_segmentation(
    pred_dir: str | Path,
    ref_dir: str | Path,
    *,
    suffix: str = DEFAULT_SUFFIX,
    allow_missing: bool = False,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[], None] | None = None,
) -> SegmentationReport:
    """Score every reference image; raise :class:`MagicError` where the official scorer crashes.

    ``on_start(n)`` is called once with the number of images about to be read, ``on_image()``
    after each (progress bars).
    """
    ref = index_masks(ref_dir)
    pred = index_masks(pred_dir)
    if ref.duplicates:
        raise MagicError("reference masks with two files for one image and annotator",
                         file=ref.folder, ids=ref.duplicate_names())
    image_ids = sorted(ref.image_ids)
    if not image_ids:
        raise MagicError("no reference mask (*.tiff) found", file=ref.folder,
                         hint="pass the folder holding IMG_..._mask_annK.tiff")
    gold_of = {i: {a: ref.by_labeler[a][i] for a in ANNOTATORS if i in ref.by_labeler.get(a, {})}
               for i in image_ids}
    unlabelled = [i for i, golds in gold_of.items() if not golds]
    if unlabelled:
        raise MagicError("reference images without any ann0..ann3 mask (the official scorer crashes)",
                         file=ref.folder, ids=unlabelled)
    notes: list[str] = []
    preds = pred.by_labeler.get(suffix, {})
    if not pred.by_labeler:
        notes.append(f"{pred.folder} holds no *.tiff mask: the platform scores segmentation 0.0")
        return SegmentationReport(zero_segmentation_scores(len(image_ids)), [], notes)
    if pred.duplicates.get(suffix):
        raise MagicError("two prediction files map to the same image", file=pred.folder,
                         ids=pred.duplicate_names(suffix),
                         hint=f"keep exactly one IMG_..._mask_{suffix}.tiff per image")
    missing = [i for i in image_ids if i not in preds]
    if missing and not allow_missing:
        other = sorted(set(pred.by_labeler) - {suffix})
        hint = "write one mask per reference image, or pass --allow-missing to score them as empty"
        if other:
            hint += f"; files with other suffixes were found: {', '.join(other)} (see --suffix)"
        raise MissingPredictionsError(
            f"{len(missing)} of {len(image_ids)} reference images have no *_mask_{suffix}.tiff "
            "(the official scorer crashes)", file=pred.folder, ids=missing, hint=hint)
    if missing:
        notes.append(f"--allow-missing: {len(missing)} image(s) without a prediction scored as empty")
    extra = sorted(set(preds) - set(image_ids))
    if extra:
        notes.append(f"{len(extra)} prediction file(s) for images outside the reference were ignored")

    local = threading.local()

    def score_one(image_id: str) -> ImageResult | _Failure:
        if not hasattr(local, "workspace"):
            local.workspace = Workspace()
        try:
            golds = {a: read_mask(path) for a, path in gold_of[image_id].items()}
        except MaskFileError as exc:
            return _Failure(REFERENCE_SIDE, exc)
        pred_path = preds.get(image_id)
        try:
            pred_mask = read_mask(pred_path) if pred_path is not None else None
        except MaskFileError as exc:
            return _Failure(PREDICTION_SIDE, exc)
        try:
            return score_image(image_id, pred_mask, golds, local.workspace)
        except ShapeMismatchError as exc:
            if exc.side == REFERENCE_SIDE:
                files = ", ".join(p.name for p in gold_of[image_id].values())
                return _Failure(REFERENCE_SIDE, MagicError(f"{exc} ({files})", file=ref.folder))
            return _Failure(PREDICTION_SIDE, MagicError(
                f"prediction and reference sizes differ: {exc}", file=pred_path))

    if on_start is not None:
        on_start(len(image_ids))
    results: list[ImageResult] = []
    failures: list[_Failure] = []
    with ThreadPoolExecutor(max_workers=workers or DEFAULT_WORKERS) as pool:
        for outcome in pool.map(score_one, image_ids):
            if isinstance(outcome, _Failure):
                failures.append(outcome)
            else:
                results.append(outcome)
            if on_image is not None:
                on_image()
    if failures:
        raise _failures_error(failures)
    for r in results:
        if r.pred_shape is not None and r.pred_shape != r.shape:
            notes.append(f"{r.image_id}: prediction shape {r.pred_shape} differs from the reference "
                         f"{r.shape} with the same pixel count; scored flattened, as officially")
    return SegmentationReport(SegmentationAggregate(results).compute(), results, notes)


@dataclass(frozen=True)
class _Failure:
    """An image the official scorer would crash on, and which side's file is at fault."""

    side: str  # PREDICTION_SIDE or REFERENCE_SIDE
    error: MagicError


_FIX_BY_SIDE = {
    PREDICTION_SIDE: "write 2-D masks of each image's exact size with tifffile (magic pack checks "
                     "them)",
    REFERENCE_SIDE: "the reference masks are damaged or inconsistent: check the organisers' "
                    "masks_refs/ (or the dataset's dermavqa-segmentations/ folder)",
}


def _failures_error(failures: list[_Failure]) -> MagicError:
    """One error listing every image that cannot be scored, each line naming its file."""
    sides = [s for s in (REFERENCE_SIDE, PREDICTION_SIDE) if any(f.side == s for f in failures)]
    lines = "\n  ".join(f"[{f.side}] {f.error.render(with_hint=False)}" for f in failures[:50])
    more = f"\n  (+{len(failures) - 50} more)" if len(failures) > 50 else ""
    # The ids are in the lines already: the error carries none, so they are not printed twice.
    return MagicError(f"{len(failures)} image(s) cannot be scored (the official scorer crashes):"
                      f"\n  {lines}{more}", code="mask-unscorable",
                      hint="; ".join(_FIX_BY_SIDE[side] for side in sides))
