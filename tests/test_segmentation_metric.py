"""Segmentation metric: hand-computed golden values, the official rules, and identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evaluation.errors import ShapeMismatchError
from evaluation.segmentation import (
    EMPTY_IS_ONE_SUFFIX, SegmentationAggregate, dice_from_counts, foreground,
    jaccard_from_counts, majority_vote, overlap_counts, score_image,
)

A = np.array


def test_golden_single_image_two_annotators() -> None:
    # pred has 3 pixels; ann0 shares 2 of its 2, ann1 shares 1 of its 4.
    pred = A([[1, 1, 0], [1, 0, 0]], np.uint8)
    ann0 = A([[1, 1, 0], [0, 0, 0]], np.uint8)
    ann1 = A([[0, 1, 1], [0, 1, 1]], np.uint8)
    r = score_image("IMG_ENC00001_00001", pred, {"ann0": ann0, "ann1": ann1})
    assert (r.tp, r.fp, r.fn) == ((2, 1), (1, 2), (0, 3))
    assert r.jaccards == (2 / 3, 1 / 6)
    assert r.dices == (4 / 5, 2 / 7)
    # 2 annotators: majority = union = 5 pixels, of which pred hits 2; pred has 1 outside.
    assert (r.majority_tp, r.majority_fp, r.majority_fn) == (2, 1, 3)
    scores = SegmentationAggregate([r]).compute()
    assert scores["jaccard_meanofmax"] == 2 / 3
    assert scores["jaccard_meanofmean"] == (2 / 3 + 1 / 6) / 2
    assert scores["dice_meanofmax"] == 4 / 5
    assert scores["dice_meanofmean"] == pytest.approx((4 / 5 + 2 / 7) / 2, rel=1e-15)
    assert scores["jaccard"] == 2 / 6
    assert scores["dice"] == 4 / 8
    assert scores["number_segmentation_instances"] == 1


def test_golden_micro_sums_over_images_with_three_and_four_annotators() -> None:
    ones, zeros = np.ones((2, 2), np.uint8), np.zeros((2, 2), np.uint8)
    corner = A([[1, 0], [0, 0]], np.uint8)
    # image 1: 3 annotators -> pixel is gold when >= 2 say so: only the corner.
    r1 = score_image("a", ones, {"ann0": corner, "ann1": corner, "ann3": ones})
    assert (r1.majority_tp, r1.majority_fp, r1.majority_fn) == (1, 3, 0)
    # image 2: 4 annotators -> threshold 2: the corner again (ones + corner).
    r2 = score_image("b", zeros, {"ann0": corner, "ann1": ones, "ann2": zeros, "ann3": zeros})
    assert (r2.majority_tp, r2.majority_fp, r2.majority_fn) == (0, 0, 1)
    scores = SegmentationAggregate([r1, r2]).compute()
    assert scores["jaccard"] == 1 / 5  # TP 1, FP 3, FN 1
    assert scores["dice"] == 2 / 6


def test_official_foreground_is_uint8_cast_equal_one() -> None:
    assert not foreground(A([0, 255], np.uint8)).any()  # 0/255 scores 0 silently
    assert foreground(A([257], np.uint16)).all()  # wraps to 1
    assert foreground(A([1.7, 0.99], np.float32)).tolist() == [True, False]
    assert foreground(A([True, False])).tolist() == [True, False]


def test_both_empty_is_nan_and_poisons_the_macro_mean() -> None:
    empty = np.zeros((3, 3), np.uint8)
    full = np.ones((3, 3), np.uint8)
    r_nan = score_image("x", empty, {"ann0": empty, "ann1": full})
    r_ok = score_image("y", full, {"ann0": full})
    assert math.isnan(r_nan.jaccards[0]) and r_nan.jaccards[1] == 0.0
    assert r_nan.has_nan and not r_ok.has_nan
    agg = SegmentationAggregate([r_nan, r_ok])
    scores = agg.compute()
    for key in ("jaccard_meanofmax", "jaccard_meanofmean", "dice_meanofmax", "dice_meanofmean"):
        assert math.isnan(scores[key])
    assert agg.nan_images == ["x"]
    assert scores["jaccard_meanofmax" + EMPTY_IS_ONE_SUFFIX] == 1.0  # max(1, 0) and 1
    assert scores["jaccard_meanofmean" + EMPTY_IS_ONE_SUFFIX] == (0.5 + 1.0) / 2
    assert scores["jaccard"] == 9 / 18  # micro: majority of {empty, full} = union = full


def test_all_empty_micro_is_nan() -> None:
    empty = np.zeros((2, 2), np.uint8)
    scores = SegmentationAggregate([score_image("x", empty, {"ann0": empty})]).compute()
    assert math.isnan(scores["jaccard"]) and math.isnan(scores["dice"])
    assert scores["dice" + EMPTY_IS_ONE_SUFFIX] == 1.0


def test_same_pixel_count_is_compared_flattened_and_other_sizes_raise() -> None:
    gold = A([[1, 0, 0], [0, 0, 0]], np.uint8)
    transposed = A([[1, 0], [0, 0], [0, 0]], np.uint8)
    assert score_image("t", transposed, {"ann0": gold}).tp == (1,)
    with pytest.raises(ShapeMismatchError):
        score_image("s", np.zeros((352, 352), np.uint8), {"ann0": gold})
    with pytest.raises(ShapeMismatchError):
        score_image("g", gold, {"ann0": gold, "ann1": np.zeros((4, 4), np.uint8)})


def test_missing_prediction_scores_as_empty() -> None:
    gold = A([[1, 1], [0, 0]], np.uint8)
    r = score_image("m", None, {"ann0": gold})
    assert r.missing_prediction and r.tp == (0,) and r.fn == (2,) and r.jaccards == (0.0,)


def test_majority_uses_raw_uint8_sums_like_the_official_scorer() -> None:
    # Values other than 0/1 in a reference count by their uint8 value in the vote.
    assert majority_vote([A([2], np.uint8), A([0], np.uint8), A([0], np.uint8)]).tolist() == [True]
    assert majority_vote([A([128], np.uint8), A([128], np.uint8), A([0], np.uint8)]).tolist() == [False]


masks = arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)),
               elements=st.integers(0, 1))


@settings(max_examples=200, deadline=None)
@given(masks, st.data())
def test_identities(pred: np.ndarray, data) -> None:
    gold = data.draw(arrays(np.uint8, pred.shape, elements=st.integers(0, 1)))
    tp, fp, fn = overlap_counts(pred == 1, gold == 1)
    j, d = jaccard_from_counts(tp, fp, fn), dice_from_counts(tp, fp, fn)
    if tp + fp + fn == 0:
        assert math.isnan(j) and math.isnan(d)
        return
    assert 0.0 <= j <= d <= 1.0
    assert d == pytest.approx(2 * j / (1 + j), rel=1e-12)  # Dice-Jaccard identity
    # symmetric in prediction and gold
    assert overlap_counts(gold == 1, pred == 1) == (tp, fn, fp)
    # a mask against itself is perfect
    assert jaccard_from_counts(*overlap_counts(gold == 1, gold == 1)) in (1.0,) or not gold.any()


@settings(max_examples=100, deadline=None)
@given(masks, st.integers(1, 4), st.data())
def test_majority_thresholds(first: np.ndarray, n: int, data) -> None:
    golds = [first] + [data.draw(arrays(np.uint8, first.shape, elements=st.integers(0, 1)))
                       for _ in range(n - 1)]
    votes = np.sum(golds, axis=0)
    expected = votes >= {1: 1, 2: 1, 3: 2, 4: 2}[n]
    assert (majority_vote(golds).reshape(first.shape) == expected).all()
    if n == 2:
        assert (expected == (golds[0] | golds[1]).astype(bool)).all()
    r = score_image("h", first, {f"ann{i}": g for i, g in enumerate(golds)})
    assert r.majority_tp + r.majority_fn == int(expected.sum())
    assert r.gold_pixels == tuple(int(g.sum()) for g in golds)
