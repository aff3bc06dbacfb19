"""The encounter bootstrap: hand cases, reproducibility, and agreement with the official aggregates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import cvqa_records

from evaluation.bootstrap import (
    CVQA_KEYS, SEG_KEYS, build_metric_table, evaluate, flip_rate, interval, point_estimate,
    resample_counts,
)
from evaluation.cvqa import score_cvqa
from evaluation.segmentation import SegmentationAggregate, score_image


def image(image_id: str, pred: list[list[int]], *golds: list[list[int]]):
    return score_image(image_id, np.array(pred, np.uint8),
                       {f"ann{i}": np.array(g, np.uint8) for i, g in enumerate(golds)})


def random_images(rng: np.random.Generator, encounters: list[str], *, nan_rate: float = 0.0):
    """1-3 random images per encounter, 2-4 annotators each; some NaN images when asked."""
    images = []
    for enc in encounters:
        for k in range(int(rng.integers(1, 4))):
            shape = (int(rng.integers(3, 9)), int(rng.integers(3, 9)))
            pred = (rng.random(shape) < 0.4).astype(np.uint8)
            golds = {f"ann{a}": (rng.random(shape) < 0.4).astype(np.uint8)
                     for a in sorted(rng.choice(4, size=int(rng.integers(2, 5)), replace=False))}
            if rng.random() < nan_rate:
                pred[:] = 0
                golds[next(iter(golds))][:] = 0
            images.append(score_image(f"IMG_{enc}_{k + 1:05d}", pred, golds))
    return images


ENCOUNTERS = [f"ENC{i:05d}" for i in range(908, 920)]


def test_hand_case_two_encounters() -> None:
    # Jaccard 0 in ENC1 and 1 in ENC2: the three kinds of resample give 0, 1/2 and 1.
    bad = image("IMG_ENC00001_00001", [[1, 0]], [[0, 1]])
    good = image("IMG_ENC00002_00001", [[1, 0]], [[1, 0]])
    table = build_metric_table([bad, good], [], ["ENC00001", "ENC00002"])
    values = evaluate(table, np.array([[2, 0], [1, 1], [0, 2]]))
    col = table.column("jaccard_meanofmax")
    assert values[:, col].tolist() == [0.0, 0.5, 1.0]
    # Micro Jaccard: TP/(TP+FP+FN) of the summed counts: 0/4, 1/3, 2/2.
    assert values[:, table.column("jaccard")].tolist() == [0.0, 1 / 3, 1.0]
    assert values[:, table.column("dice")].tolist() == [0.0, 0.5, 1.0]


def test_images_stay_with_their_encounter() -> None:
    # ENC1 holds two images (Jaccard 0 and 1), ENC2 one (1/2); drawing ENC1 twice draws 4 images.
    images = [image("IMG_ENC00001_00001", [[1, 0]], [[0, 1]]),
              image("IMG_ENC00001_00002", [[1, 0]], [[1, 0]]),
              image("IMG_ENC00002_00001", [[1, 1]], [[1, 0]])]
    table = build_metric_table(images, [], ["ENC00001", "ENC00002"])
    values = evaluate(table, np.array([[2, 0], [0, 2], [1, 1]]))[:, table.column("jaccard_meanofmax")]
    assert values.tolist() == [0.5, 0.5, pytest.approx(1.5 / 3)]


def test_one_image_gives_a_zero_width_interval() -> None:
    single = image("IMG_ENC00001_00001", [[1, 1, 0]], [[1, 0, 0]], [[1, 1, 1]])
    table = build_metric_table([single], [], ["ENC00001"])
    samples = evaluate(table, resample_counts(1, 500, seed=3))
    for metric in SEG_KEYS:
        low, high = interval(samples[:, table.column(metric)])
        assert low == high == pytest.approx(point_estimate(table)[table.column(metric)])


def test_one_image_repeated_over_encounters_gives_zero_width() -> None:
    same = [image(f"IMG_{enc}_00001", [[1, 1, 0, 0]], [[1, 0, 0, 1]]) for enc in ENCOUNTERS]
    table = build_metric_table(same, [], ENCOUNTERS)
    samples = evaluate(table, resample_counts(len(ENCOUNTERS), 300, seed=1))
    low, high = interval(samples[:, table.column("dice_meanofmean")])
    assert high - low == pytest.approx(0.0, abs=1e-12)
    assert low == pytest.approx(0.5)  # Dice of TP=1, FP=1, FN=1


def test_same_seed_same_interval_other_seed_other_resamples() -> None:
    rng = np.random.default_rng(7)
    table = build_metric_table(random_images(rng, ENCOUNTERS), [], ENCOUNTERS)
    first = [interval(evaluate(table, resample_counts(len(ENCOUNTERS), 200, seed=11))[:, k])
             for k in range(len(SEG_KEYS))]
    second = [interval(evaluate(table, resample_counts(len(ENCOUNTERS), 200, seed=11))[:, k])
              for k in range(len(SEG_KEYS))]
    assert first == second
    assert not np.array_equal(resample_counts(12, 50, seed=11), resample_counts(12, 50, seed=12))


def test_resample_counts_shape_and_totals() -> None:
    counts = resample_counts(7, 40, seed=0)
    assert counts.shape == (40, 7)
    assert (counts.sum(axis=1) == 7).all()
    assert counts.min() >= 0
    assert resample_counts(0, 5).shape == (5, 0)


def _resampled_images(images, encounters, row):
    by_enc = {enc: [r for r in images if r.image_id.split("_")[1] == enc] for enc in encounters}
    return [r for enc, n in zip(encounters, row) for _ in range(int(n)) for r in by_enc[enc]]


@pytest.mark.parametrize("empty_is_one", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_equals_official_aggregate_on_resamples(seed: int, empty_is_one: bool) -> None:
    rng = np.random.default_rng(seed)
    images = random_images(rng, ENCOUNTERS, nan_rate=0.15 if seed == 2 else 0.0)
    assert (seed == 2) == any(r.has_nan for r in images)  # seed 2 covers NaN images
    table = build_metric_table(images, [], ENCOUNTERS, empty_is_one=empty_is_one, cvqa_scored=False)
    counts = np.vstack([np.ones(len(ENCOUNTERS), int), resample_counts(len(ENCOUNTERS), 15, seed)])
    values = evaluate(table, counts)
    suffix = "_empty_is_one" if empty_is_one else ""
    for row, got in zip(counts, values):
        official = SegmentationAggregate(_resampled_images(images, ENCOUNTERS, row)).compute()
        expected = [official[k + suffix] for k in SEG_KEYS]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", [0, 5])
def test_vectorised_equals_official_cvqa_on_resamples(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gold = cvqa_records(rng, ENCOUNTERS)
    system = cvqa_records(rng, ENCOUNTERS)
    result = score_cvqa(gold, system)
    table = build_metric_table([], result.rows, ENCOUNTERS, seg_scored=False)
    assert table.metrics == CVQA_KEYS
    counts = np.vstack([np.ones(len(ENCOUNTERS), int), resample_counts(len(ENCOUNTERS), 10, seed)])
    for row, got in zip(counts, evaluate(table, counts)):
        # A drawn-twice encounter becomes two distinct encounters for the official scorer.
        copies = [(i, c) for i, n in enumerate(row) for c in range(int(n))]
        gold_rs = [{**gold[i], "encounter_id": f"{gold[i]['encounter_id']}x{c}"} for i, c in copies]
        sys_rs = [{**system[i], "encounter_id": f"{system[i]['encounter_id']}x{c}"}
                  for i, c in copies]
        official = score_cvqa(gold_rs, sys_rs).scores
        np.testing.assert_allclose(got, [official[k] for k in CVQA_KEYS], rtol=1e-12)


def test_nan_image_makes_every_resample_holding_it_nan() -> None:
    nan_image = image("IMG_ENC00001_00001", [[0, 0]], [[0, 0]], [[1, 0]])
    fine = image("IMG_ENC00002_00001", [[1, 0]], [[1, 0]])
    assert nan_image.has_nan
    table = build_metric_table([nan_image, fine], [], ["ENC00001", "ENC00002"])
    counts = resample_counts(2, 200, seed=0)
    samples = evaluate(table, counts)[:, table.column("jaccard_meanofmax")]
    assert np.array_equal(np.isnan(samples), counts[:, 0] > 0)
    assert math.isnan(point_estimate(table)[table.column("jaccard_meanofmax")])
    assert all(math.isnan(v) for v in interval(samples))
    # The micro figure has no NaN: ann1's majority over 2 annotators is their union.
    assert not np.isnan(evaluate(table, counts)[:, table.column("jaccard")]).any()
    convention = build_metric_table([nan_image, fine], [], ["ENC00001", "ENC00002"],
                                    empty_is_one=True)
    # Empty-is-one: the NaN image's ann0 counts 1.0, ann1 0.0 -> max 1.0, mean 0.5.
    np.testing.assert_allclose(point_estimate(convention)[:4], [1.0, 0.75, 1.0, 0.75])


def test_interval_percentiles_and_flip_rates() -> None:
    assert interval(np.linspace(0, 100, 101)) == pytest.approx((2.5, 97.5))
    assert interval(np.linspace(0, 100, 101), confidence=0.5) == pytest.approx((25.0, 75.0))
    assert all(math.isnan(v) for v in interval(np.array([])))
    same = np.array([0.2, 0.4, 0.6])
    assert flip_rate(same, same) == 0.5  # identical submissions: a coin toss
    assert flip_rate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0])) == 0.0
    assert flip_rate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, 4.0])) == pytest.approx(0.5)
    assert flip_rate(np.array([1.0, 2.0]), np.array([3.0, 0.0])) == 0.5
    assert math.isnan(flip_rate(np.array([1.0, math.nan]), np.array([0.0, 0.0])))


def test_unknown_encounter_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the resampled set"):
        build_metric_table([image("IMG_ENC00009_00001", [[1]], [[1]])], [], ["ENC00001"])


def test_encounter_without_images_and_no_images_at_all() -> None:
    only = image("IMG_ENC00001_00001", [[1, 0]], [[1, 1]])
    table = build_metric_table([only], [], ["ENC00001", "ENC00002"])
    values = evaluate(table, np.array([[0, 2], [1, 1]]))
    # No image drawn: the official mean over no image is NaN, micro 0/0 NaN too.
    assert np.isnan(values[0, :6]).all()
    assert values[1, table.column("jaccard_meanofmax")] == 0.5
    convention = build_metric_table([only], [], ["ENC00001", "ENC00002"], empty_is_one=True)
    assert evaluate(convention, np.array([[0, 2]]))[0, convention.column("dice")] == 1.0


def test_docstring_example() -> None:
    import doctest

    import evaluation.bootstrap

    assert doctest.testmod(evaluation.bootstrap).failed == 0
