"""The bootstrap's draws against a plain loop over numpy's generator, and their fairness.

``resample_counts`` is specified as: B rows, each drawing ``n`` encounters uniformly with
replacement from ``np.random.default_rng(seed).integers(0, n, size=(B, n))``. The plain loop below
counts those draws one by one, so any slip in the vectorised counting (an encounter never drawn,
a draw counted in the wrong row) shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.bootstrap import (
    build_metric_table, evaluate, flip_rate, interval, point_estimate, resample_counts,
)
from evaluation.cvqa import EncounterParentResult


def plain_counts(n: int, b: int, seed: int) -> list[list[int]]:
    draws = np.random.default_rng(seed).integers(0, n, size=(b, n))
    rows = []
    for row in draws:
        counts = [0] * n
        for encounter in row:
            counts[int(encounter)] += 1
        rows.append(counts)
    return rows


@pytest.mark.parametrize("n, b, seed", [(1, 5, 0), (2, 50, 1), (5, 30, 2), (13, 7, 3)])
def test_counts_equal_the_plain_loop(n: int, b: int, seed: int) -> None:
    assert resample_counts(n, b, seed=seed).tolist() == plain_counts(n, b, seed)


@pytest.mark.parametrize("n", [1, 2, 3, 10])
def test_every_encounter_the_last_included_is_drawn_about_once(n: int) -> None:
    counts = resample_counts(n, 4000, seed=5)
    assert counts.shape == (4000, n) and (counts.sum(axis=1) == n).all()
    # Each encounter is drawn once per resample on average: 4000 +- a few percent.
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.08)
    assert counts[:, -1].max() >= 1 and counts[:, 0].max() >= 1


def test_empty_sizes_give_empty_matrices() -> None:
    assert resample_counts(0, 3).shape == (3, 0)
    assert resample_counts(4, 0).shape == (0, 4)
    assert resample_counts(-1, -2).shape == (0, 0)
    assert resample_counts(3, 2, seed=None).sum() == 6  # unseeded: still 3 draws per row


def test_the_last_encounter_carries_its_weight() -> None:
    """A figure whose whole value sits in the last encounter: it moves with that encounter's draws."""
    rows = [EncounterParentResult(f"ENC{i}", p, (0,), (0,), 1.0 if i == 2 else 0.0)
            for i in range(3) for p in ("CQID010",)]
    table = build_metric_table([], rows, ["ENC0", "ENC1", "ENC2"], seg_scored=False)
    assert table.metrics[0] == "accuracy_CQID010"
    counts = resample_counts(3, 500, seed=9)
    values = evaluate(table, counts)[:, table.column("accuracy_CQID010")]
    np.testing.assert_allclose(values, counts[:, 2] / 3)
    assert point_estimate(table)[table.column("accuracy_CQID010")] == pytest.approx(1 / 3)
    # Parents without rows have a zero denominator: NaN, the official 0/0.
    assert math.isnan(point_estimate(table)[table.column("accuracy_CQID011")])


def test_interval_of_hand_samples() -> None:
    samples = np.arange(11, dtype=float)  # 0..10: quantiles by linear interpolation
    assert interval(samples, confidence=0.8) == pytest.approx((1.0, 9.0))
    assert interval(samples, confidence=1.0) == (0.0, 10.0)
    assert interval(np.array([3.0])) == (3.0, 3.0)
    assert all(math.isnan(v) for v in interval(np.array([1.0, math.nan, 2.0])))


def test_flip_rate_counts_wins_and_half_ties() -> None:
    better = np.array([0.5, 0.5, 0.5, 0.5])
    assert flip_rate(better, np.array([0.6, 0.4, 0.4, 0.4])) == 0.25
    assert flip_rate(better, np.array([0.5, 0.4, 0.4, 0.4])) == 0.125
    assert flip_rate(better, np.array([0.6, 0.6, 0.5, 0.4])) == 0.625
    assert math.isnan(flip_rate(np.array([]), np.array([])))
    assert math.isnan(flip_rate(better, np.array([0.1, 0.1, 0.1, math.nan])))


def test_one_resample_and_the_dtype_of_every_shape() -> None:
    assert resample_counts(3, 1, seed=4).tolist() == plain_counts(3, 1, 4)
    assert resample_counts(1, 1).tolist() == [[1]]
    for n, b in ((0, 3), (3, 0), (2, 2)):
        assert resample_counts(n, b).dtype == np.int64


def test_evaluate_is_quiet_on_zero_denominators() -> None:
    import warnings

    rows = [EncounterParentResult("ENC0", "CQID010", (0,), (0,), 1.0)]
    table = build_metric_table([], rows, ["ENC0", "ENC1"], seg_scored=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 of an encounter never drawn is NaN, silently
        values = evaluate(table, np.array([[0, 2], [2, 0]]))
    assert math.isnan(values[0, 0]) and values[1, 0] == 1.0


def test_both_parts_in_one_table_keep_their_columns() -> None:
    from evaluation.bootstrap import CVQA_KEYS, SEG_KEYS
    from evaluation.segmentation import score_image

    image = score_image("IMG_ENC00001_00001", np.array([[1, 0]], np.uint8),
                        {"ann0": np.array([[1, 1]], np.uint8)})
    rows = [EncounterParentResult("ENC00001", p, (0,), (0,), 0.25) for p in ("CQID010", "CQID036")]
    table = build_metric_table([image], rows, ["ENC00001"])
    assert table.metrics == SEG_KEYS + CVQA_KEYS
    point = dict(zip(table.metrics, point_estimate(table)))
    assert point["jaccard"] == 0.5 and point["dice"] == 2 / 3 and point["jaccard_meanofmax"] == 0.5
    assert point["accuracy_CQID010"] == 0.25 and point["accuracy_CQID036"] == 0.25
    assert point["accuracy_all"] == 0.25 and math.isnan(point["accuracy_CQID011"])
    only_cvqa = build_metric_table([image], rows, ["ENC00001"], seg_scored=False)
    assert only_cvqa.metrics == CVQA_KEYS and only_cvqa.column("accuracy_CQID010") == 0
    only_seg = build_metric_table([image], rows, ["ENC00001"], cvqa_scored=False)
    assert only_seg.metrics == SEG_KEYS and only_seg.numerators.shape == (1, len(SEG_KEYS))


def test_results_outside_the_resampled_set_are_named() -> None:
    rows = [EncounterParentResult(f"ENC{i}", "CQID010", (0,), (0,), 1.0) for i in range(7)]
    with pytest.raises(ValueError) as info:
        build_metric_table([], rows, ["ENC0"], seg_scored=False)
    assert str(info.value) == ("results for encounters outside the resampled set: ['ENC1', "
                               "'ENC2', 'ENC3', 'ENC4', 'ENC5']")


def test_a_single_paired_resample() -> None:
    assert flip_rate(np.array([1.0]), np.array([0.0])) == 0.0
    assert flip_rate(np.array([0.0]), np.array([1.0])) == 1.0
    assert interval(np.array([2, 4, 6]), confidence=0.5) == (3.0, 5.0)  # ints are fine too


def test_the_default_seed_is_zero() -> None:
    assert resample_counts(4, 3).tolist() == plain_counts(4, 3, 0)
