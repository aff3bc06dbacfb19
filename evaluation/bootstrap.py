"""Bootstrap confidence intervals and paired flip rates of the official figures, by encounter.

A resample draws encounters with replacement (an image stays with its encounter, as the CVQA
answers do). Every official figure is a ratio of sums over images or encounters:

* ``*_meanofmax`` / ``*_meanofmean``: sum of per-image values / number of images;
* ``jaccard`` / ``dice`` (micro): sum of majority-vote TP (x2 for Dice) / sum of the denominators;
* ``accuracy_<parent>``: sum of IoMs / number of gold encounters; ``accuracy_all``: sum of every
  (encounter, parent) IoM / number of pairs.

So one submission reduces to a :class:`MetricTable` of per-encounter numerators, denominators and
NaN counts, and a whole bootstrap is one matrix product: ``counts (B x E) @ table (E x K)``.
Per-image values come from the official functions (:meth:`ImageResult.macro_values`); the
tests check the vectorised figures against
:meth:`SegmentationAggregate.compute` and :func:`score_cvqa` on explicitly resampled data.

NaN semantics (official): an image whose prediction and some annotator mask are both empty has a
NaN score, and any resample that contains it gives NaN for the macro figures, as the official mean
does. The interval of a figure is NaN as soon as one resample is NaN (it then has no 2.5th
percentile); ``empty_is_one=True`` uses the common "both empty = 1.0" convention instead.

>>> from evaluation.segmentation import score_image
>>> pred = np.array([[1, 1, 0, 0]], dtype=np.uint8)
>>> img = score_image("IMG_ENC00001_00001", pred, {"ann0": np.array([[1, 0, 0, 0]])})
>>> table = build_metric_table([img], [], ["ENC00001"])
>>> counts = resample_counts(1, 100, seed=0)
>>> interval(evaluate(table, counts)[:, table.column("jaccard_meanofmax")])
(0.5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.cvqa import EncounterParentResult
from evaluation.facts import (
    CVQA_ACCURACY_KEYS, FLOAT_SEG_KEYS, PARENT_IDS, encounter_key, encounter_of_image,
)
from evaluation.segmentation import ImageResult

# The figures resampled: every float figure of each part (their home: segmentation.py, cvqa.py).
SEG_KEYS: tuple[str, ...] = FLOAT_SEG_KEYS
CVQA_KEYS: tuple[str, ...] = CVQA_ACCURACY_KEYS
_JACCARD, _DICE = SEG_KEYS.index("jaccard"), SEG_KEYS.index("dice")
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class MetricTable:
    """Per-encounter sums behind each figure of one submission: value = sum(num) / sum(den).

    ``numerators``, ``denominators`` and ``nans`` are (encounters x metrics); ``empty_values``
    gives each metric's value when its denominator sums to 0 (NaN officially; 1.0 for the micro
    figures under the "empty is one" convention).
    """

    encounters: tuple[str, ...]
    metrics: tuple[str, ...]
    numerators: np.ndarray
    denominators: np.ndarray
    nans: np.ndarray
    empty_values: np.ndarray

    def column(self, metric: str) -> int:
        return self.metrics.index(metric)


def _encounter_index(encounters: Sequence[str], found: Sequence[str]) -> dict[str, int]:
    index = {enc: i for i, enc in enumerate(encounters)}
    unknown = sorted(set(found) - set(index))
    if unknown:
        raise ValueError(f"results for encounters outside the resampled set: {unknown[:5]}")
    return index


def build_metric_table(
    images: Sequence[ImageResult],
    cvqa_rows: Sequence[EncounterParentResult],
    encounters: Sequence[str],
    *,
    empty_is_one: bool = False,
    seg_scored: bool = True,
    cvqa_scored: bool = True,
) -> MetricTable:
    """Reduce per-image results and per-(encounter, parent) IoMs to per-encounter sums.

    ``encounters`` fixes the resampling units and their order (the same for every submission
    compared); every image and row must belong to one of them. ``seg_scored=False`` (or
    ``cvqa_scored=False``) leaves that part's metrics out of the table.
    """
    metrics = (SEG_KEYS if seg_scored else ()) + (CVQA_KEYS if cvqa_scored else ())
    n_enc = len(encounters)
    num = np.zeros((n_enc, len(metrics)))
    den = np.zeros((n_enc, len(metrics)))
    nans = np.zeros((n_enc, len(metrics)))
    empty = np.full(len(metrics), math.nan)
    if seg_scored:
        index = _encounter_index(encounters, [encounter_of_image(r.image_id) for r in images])
        for result in images:
            row = index[encounter_of_image(result.image_id)]
            for col, value in enumerate(result.macro_values(empty_is_one)):  # SEG_MACRO_KEYS
                if math.isnan(value):  # official: NaN propagates through the mean over images
                    nans[row, col] += 1
                else:
                    num[row, col] += value
                den[row, col] += 1
            tp, fp, fn = result.majority_tp, result.majority_fp, result.majority_fn
            num[row, _JACCARD] += tp
            den[row, _JACCARD] += tp + fp + fn
            num[row, _DICE] += 2 * tp
            den[row, _DICE] += 2 * tp + fp + fn
        if empty_is_one:  # micro figures over all-empty images: 0/0 -> 1.0 under the convention
            empty[[_JACCARD, _DICE]] = 1.0
    if cvqa_scored:
        offset = len(SEG_KEYS) if seg_scored else 0
        index = _encounter_index(encounters, [encounter_key(r.encounter_id) for r in cvqa_rows])
        parent_col = {p: offset + i for i, p in enumerate(PARENT_IDS)}
        all_col = offset + len(PARENT_IDS)
        for r in cvqa_rows:
            row = index[encounter_key(r.encounter_id)]
            num[row, parent_col[r.parent]] += r.iom
            den[row, parent_col[r.parent]] += 1
            num[row, all_col] += r.iom
            den[row, all_col] += 1
    return MetricTable(tuple(encounters), metrics, num, den, nans, empty)


def resample_counts(n_encounters: int, n_resamples: int, seed: int | None = 0) -> np.ndarray:
    """(n_resamples x n_encounters) how often each encounter is drawn; each row sums to n_encounters.

    The same seed and sizes give the same matrix, so every submission compared against one
    reference sees the same resamples (a paired bootstrap).
    """
    n_encounters, n_resamples = max(n_encounters, 0), max(n_resamples, 0)
    draws = np.random.default_rng(seed).integers(n_encounters, size=(n_resamples, n_encounters))
    flat = draws + n_encounters * np.arange(n_resamples)[:, None]
    return np.bincount(flat.ravel(), minlength=n_resamples * n_encounters).reshape(
        n_resamples, n_encounters)


def evaluate(table: MetricTable, counts: np.ndarray) -> np.ndarray:
    """Every metric on every resample: (rows of ``counts``) x (metrics of ``table``)."""
    counts = np.asarray(counts)
    num = counts @ table.numerators
    den = counts @ table.denominators
    with np.errstate(invalid="ignore"):  # 0/0 only: a numerator is never above its denominator
        values = num / den
    values = np.where(den == 0, table.empty_values, values)
    # Official: a NaN image drawn at least once makes the figure NaN.
    return np.where(counts @ table.nans > 0, math.nan, values)


def point_estimate(table: MetricTable) -> np.ndarray:
    """The figures on the data as given (every encounter once): the official values."""
    return evaluate(table, np.ones((1, len(table.encounters))))[0]


def interval(samples: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of bootstrap values; (NaN, NaN) when any value is NaN or none exist."""
    samples = np.asarray(samples)
    if samples.size == 0 or np.isnan(samples).any():
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return float(low), float(high)


def flip_rate(better: np.ndarray, worse: np.ndarray) -> float:
    """Share of paired resamples where the lower-ranked one wins (ties count half).

    0.0: the order never changes; 0.5: a coin toss (identical submissions give exactly 0.5).
    NaN when either side has a NaN resample (no order is defined there).
    """
    better, worse = np.asarray(better), np.asarray(worse)
    if better.size == 0 or np.isnan(better).any() or np.isnan(worse).any():
        return math.nan
    return float(np.mean(worse > better) + 0.5 * np.mean(worse == better))

