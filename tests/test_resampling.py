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
