"""Segmentation metrics of the official scorer, as pure functions over arrays and counts.

The official rules (``score_segmentations.py``), each kept here once:

* a pixel is foreground when it equals 1 after a cast to ``uint8`` (so 0/255 has no foreground,
  and 257 in a uint16 mask wraps to 1);
* the prediction is compared with each annotator flattened, with numpy broadcasting (equal pixel
  counts, or a single pixel that stands for all); the annotator masks are added up unflattened
  for the majority vote, broadcast together (see :mod:`evaluation.pixels`);
* per image and annotator: Jaccard = TP/(TP+FP+FN), Dice = 2TP/(2TP+FP+FN); both masks empty is
  0/0 = NaN (zero-division policy of the official scorer, kept as is);
* macro: mean over images of the max / the mean over the annotators present (NaN propagates);
* micro: TP, FP, FN summed over all images against the per-pixel majority vote
  (at least ceil(n/2) of the n annotators present).

The split follows torchmetrics: :func:`score_image` validates and reduces one image to counts
(update), :class:`SegmentationAggregate` holds the counts and :meth:`SegmentationAggregate.compute`
gives the figures.

>>> pred = np.array([[0, 1, 1], [0, 0, 0]], dtype=np.uint8)
>>> ann0 = np.array([[0, 1, 0], [0, 0, 0]], dtype=np.uint8)
>>> ann1 = np.array([[0, 1, 1], [0, 1, 0]], dtype=np.uint8)
>>> result = score_image("IMG_ENC00001_00001", pred, {"ann0": ann0, "ann1": ann1})
>>> result.jaccards, result.dices
((0.5, 0.6666666666666666), (0.6666666666666666, 0.8))
>>> agg = SegmentationAggregate()
>>> agg.update(result)
>>> round(agg.compute()["jaccard"], 4)  # majority of 2 annotators = their union
0.6667
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from evaluation.facts import FLOAT_SEG_KEYS, SEG_COUNT_KEY, SEG_MACRO_KEYS
from evaluation.pixels import (
    Workspace, as_uint8, check_image_shapes, flat_uint8, foreground, majority_vote, overlap_counts,
)

# The pixel rules live in evaluation.pixels; these names are part of this module's interface too.
__all__ = [
    "EMPTY_IS_ONE_SUFFIX", "ImageResult", "SegmentationAggregate", "Workspace", "as_uint8",
    "dice_from_counts", "foreground", "jaccard_from_counts", "majority_vote", "official_max",
    "official_mean", "overlap_counts", "score_image", "zero_segmentation_scores",
]

# Same figures with the common convention "both masks empty = 1.0" in place of NaN.
EMPTY_IS_ONE_SUFFIX = "_empty_is_one"


def jaccard_from_counts(tp: int, fp: int, fn: int) -> float:
    """TP/(TP+FP+FN); NaN when both masks are empty (the official 0/0)."""
    denominator = tp + fp + fn
    return tp / denominator if denominator else math.nan


def dice_from_counts(tp: int, fp: int, fn: int) -> float:
    """2TP/(2TP+FP+FN); NaN when both masks are empty (the official 0/0)."""
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else math.nan


def official_mean(values: Sequence[float]) -> float:
    """``np.mean`` of a list, as the official scorer takes it (NaN propagates)."""
    return float(np.mean(values))


def official_max(values: Sequence[float]) -> float:
    """``np.max`` of a list: any NaN makes the maximum NaN."""
    return float(np.max(values))


@dataclass(frozen=True)
class ImageResult:
    """Counts of one image against each annotator present and against their majority vote."""

    image_id: str
    annotators: tuple[str, ...]
    tp: tuple[int, ...]
    fp: tuple[int, ...]
    fn: tuple[int, ...]
    majority_tp: int
    majority_fp: int
    majority_fn: int
    pred_pixels: int
    shape: tuple[int, ...]
    pred_shape: tuple[int, ...] | None = None  # None: no prediction (scored as empty)

    @property
    def missing_prediction(self) -> bool:
        return self.pred_shape is None

    @property
    def gold_pixels(self) -> tuple[int, ...]:
        return tuple(t + f for t, f in zip(self.tp, self.fn))

    @property
    def majority_pixels(self) -> int:
        return self.majority_tp + self.majority_fn

    @property
    def jaccards(self) -> tuple[float, ...]:
        return tuple(jaccard_from_counts(*c) for c in zip(self.tp, self.fp, self.fn))

    @property
    def dices(self) -> tuple[float, ...]:
        return tuple(dice_from_counts(*c) for c in zip(self.tp, self.fp, self.fn))

    @property
    def has_nan(self) -> bool:
        """Some annotator mask and the prediction are both empty: the official figure is NaN."""
        return any(t + p + n == 0 for t, p, n in zip(self.tp, self.fp, self.fn))

    def macro_values(self, empty_is_one: bool = False) -> tuple[float, float, float, float]:
        """(Jaccard max, Jaccard mean, Dice max, Dice mean) over the annotators: this image's
        terms of the ``SEG_MACRO_KEYS`` means. Officially any NaN (both empty) makes the max and
        the mean NaN; ``empty_is_one`` counts both empty as 1.0 instead.

        >>> empty_pred = np.zeros((2, 2), np.uint8)
        >>> one = np.eye(2, dtype=np.uint8)
        >>> r = score_image("x", empty_pred, {"ann0": empty_pred, "ann1": one})
        >>> r.macro_values(), r.macro_values(empty_is_one=True)
        ((nan, nan, nan, nan), (1.0, 0.5, 1.0, 0.5))
        """
        jaccards, dices = self.jaccards, self.dices
        if empty_is_one:
            jaccards = tuple(_empty_is_one(v) for v in jaccards)
            dices = tuple(_empty_is_one(v) for v in dices)
        return (official_max(jaccards), official_mean(jaccards), official_max(dices),
                official_mean(dices))


def score_image(
    image_id: str,
    pred_mask: np.ndarray | None,
    gold_masks: Mapping[str, np.ndarray],
    workspace: Workspace | None = None,
) -> ImageResult:
    """Reduce one image to counts. ``pred_mask=None`` scores an empty prediction (``--allow-missing``).

    ``gold_masks`` maps annotator names to raw masks; they are used in the order given, which
    should be ann0..ann3 as in the official scorer. Raises
    :class:`evaluation.errors.ShapeMismatchError` where the official numpy operations fail
    (:func:`~evaluation.pixels.check_image_shapes`); a single-pixel prediction stands for every
    pixel, as numpy broadcasts it.
    """
    if not gold_masks:
        raise ValueError(f"{image_id}: no annotator mask")
    workspace = workspace or Workspace()
    annotators = tuple(gold_masks)
    golds = [gold_masks[a] for a in annotators]
    pred_shape = None if pred_mask is None else tuple(np.shape(pred_mask))
    check_image_shapes(pred_shape, [tuple(np.shape(g)) for g in golds], image_id)
    if pred_mask is None:
        pred_fg = np.zeros(1, np.bool_)  # one background pixel stands for an empty mask
    else:
        raw_pred = flat_uint8(pred_mask)
        pred_fg = np.equal(raw_pred, 1, out=workspace.buffer("pred", raw_pred.size, np.bool_))
    n_pred = int(np.count_nonzero(pred_fg))
    counts = []
    for gold in golds:
        raw = flat_uint8(gold)
        gold_fg = np.equal(raw, 1, out=workspace.buffer("gold", raw.size, np.bool_))
        counts.append(overlap_counts(pred_fg, gold_fg, pred_pixels=n_pred, out=gold_fg))
    majority = majority_vote(golds, workspace)
    mv_tp, mv_fp, mv_fn = overlap_counts(pred_fg, majority, pred_pixels=n_pred, out=majority)
    return ImageResult(
        image_id=image_id,
        annotators=annotators,
        tp=tuple(c[0] for c in counts),
        fp=tuple(c[1] for c in counts),
        fn=tuple(c[2] for c in counts),
        majority_tp=mv_tp,
        majority_fp=mv_fp,
        majority_fn=mv_fn,
        pred_pixels=mv_tp + mv_fp,  # as compared with the vote (a single pixel counts for all)
        shape=tuple(np.shape(golds[0])),
        pred_shape=pred_shape,
    )


def _mean_over_images(values: list[float]) -> float:
    # The official ``np.mean(list)`` (pairwise summation); its image order is a set's, so the
    # last bit may differ. No image gives NaN there too.
    return official_mean(values) if values else math.nan


def zero_segmentation_scores() -> dict[str, float | int]:
    """The official figures when the prediction folder holds no ``*.tiff`` at all (or does not
    exist): 0.0 everywhere and ``number_segmentation_instances`` = 0, whatever the reference."""
    scores: dict[str, float | int] = {k: 0.0 for k in FLOAT_SEG_KEYS}
    scores[SEG_COUNT_KEY] = 0
    scores.update({k + EMPTY_IS_ONE_SUFFIX: 0.0 for k in FLOAT_SEG_KEYS})
    return scores


def _empty_is_one(value: float) -> float:
    return 1.0 if math.isnan(value) else value


@dataclass
class SegmentationAggregate:
    """Accumulates :class:`ImageResult` objects; :meth:`compute` gives the official figures."""

    results: list[ImageResult] = field(default_factory=list)

    def update(self, result: ImageResult) -> None:
        self.results.append(result)

    @property
    def nan_images(self) -> list[str]:
        """Images that make the official macro figures NaN."""
        return [r.image_id for r in self.results if r.has_nan]

    def compute(self) -> dict[str, float | int]:
        """Official keys first, then each float figure again under ``<key>_empty_is_one``."""
        out: dict[str, float | int] = {}
        tp = sum(r.majority_tp for r in self.results)
        fp = sum(r.majority_fp for r in self.results)
        fn = sum(r.majority_fn for r in self.results)
        for convention in (False, True):
            fix = _empty_is_one if convention else (lambda v: v)
            per_image = [r.macro_values(convention) for r in self.results]  # images x 4
            figures = {key: _mean_over_images([values[k] for values in per_image])
                       for k, key in enumerate(SEG_MACRO_KEYS)}
            figures["jaccard"] = fix(jaccard_from_counts(tp, fp, fn))
            figures["dice"] = fix(dice_from_counts(tp, fp, fn))
            if convention:
                out.update({k + EMPTY_IS_ONE_SUFFIX: v for k, v in figures.items()})
            else:
                out.update(figures)
                out[SEG_COUNT_KEY] = len(self.results)
        return out
