"""Pixel rules of the official segmentation scorer on hand cases: the uint8 cast, broadcasting of a
single pixel, the shapes that add up for the vote, and the errors where numpy fails.

The official code (``score_segmentations.py``): ``imread(fn).astype(np.uint8)``; per annotator
``get_overlaps`` compares the two masks flattened; the vote is ``np.add`` of the unflattened
annotator masks, foreground where the sum reaches ``ceil(n / 2)``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from evaluation.errors import ShapeMismatchError
from evaluation.pixels import (
    MAX_VOTE_PIXELS, Workspace, as_uint8, check_image_shapes, flat_uint8, foreground,
    majority_vote, overlap_counts, sizes_broadcast, vote_shape,
)
from evaluation.segmentation import (
    ImageResult, SegmentationAggregate, dice_from_counts, jaccard_from_counts, official_max,
    official_mean, score_image, zero_segmentation_scores,
)

A = np.array


def test_the_official_cast_without_warnings() -> None:
    raw = A([0.0, 1.0, 1.7, 255.0, -1.0, 256.0, np.nan], np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        official = raw.astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the scorer casts quietly, as many times as it must
        assert as_uint8(raw).tolist() == official.tolist()
        assert as_uint8(A([-1, 257, 1], np.int32)).tolist() == [255, 1, 1]
    same = A([0, 1, 2], np.uint8)
    assert as_uint8(same) is same
    assert as_uint8(A([True, False])).tolist() == [1, 0]
    assert as_uint8(A([True, False])).dtype == np.uint8


def test_foreground_is_uint8_one() -> None:
    assert foreground(A([0, 1, 2, 255], np.uint8)).tolist() == [False, True, False, False]
    assert foreground(A([257, 1, -255], np.int32)).tolist() == [True, True, True]
    flags = A([True, False])
    assert foreground(flags) is flags
    assert flat_uint8(A([[1, 2], [3, 4]], np.int16)).tolist() == [1, 2, 3, 4]


def test_sizes_that_compare() -> None:
    assert sizes_broadcast(6, 6) and sizes_broadcast(1, 6) and sizes_broadcast(6, 1)
    assert sizes_broadcast(1, 1)
    assert not sizes_broadcast(6, 5) and not sizes_broadcast(2, 6) and not sizes_broadcast(6, 2)


def test_overlap_counts_flattened_and_broadcast() -> None:
    pred = A([[True, True, False], [False, True, False]])
    gold = A([[True, False, False], [True, True, True]])
    assert overlap_counts(pred, gold) == (2, 1, 2)
    assert overlap_counts(pred.reshape(3, 2), gold) == (2, 1, 2)  # flattened, not aligned
    assert overlap_counts(pred, gold, pred_pixels=3) == (2, 1, 2)
    assert overlap_counts(pred, gold, pred_pixels=5) == (2, 3, 2)  # a given count is trusted
    out = np.empty(6, bool)
    overlap_counts(pred, gold, out=out)
    assert out.tolist() == [True, False, False, False, True, False]
    # A single-pixel prediction stands for every pixel of the reference, and vice versa.
    assert overlap_counts(A([True]), gold) == (4, 2, 0)
    assert overlap_counts(A([False]), gold) == (0, 0, 4)
    assert overlap_counts(pred, A([True])) == (3, 0, 3)
    assert overlap_counts(pred, A([False])) == (0, 3, 0)
    assert overlap_counts(pred, A([True]), pred_pixels=2) == (2, 0, 4)
    with pytest.raises(ShapeMismatchError) as info:
        overlap_counts(A([True, False]), gold)
    assert info.value.message == "prediction (2,) vs reference (2, 3)"
    assert info.value.side == "prediction"


def test_vote_shapes() -> None:
    assert vote_shape([(2, 3), (2, 3)]) == (2, 3)
    assert vote_shape([(2, 3), (1, 2, 3)]) == (1, 2, 3)
    assert vote_shape([(2, 3), (1, 1)]) == (2, 3)
    with pytest.raises(ShapeMismatchError) as info:
        vote_shape([(2, 3), (3, 2)], "IMG_X")
    assert info.value.message == ("the annotator masks of IMG_X differ in shape and cannot be "
                                  "added up: (2, 3), (3, 2)")
    assert info.value.side == "reference"
    with pytest.raises(ShapeMismatchError) as info:
        vote_shape([(2, 3), (3, 2)])
    assert info.value.message.startswith("the annotator masks differ in shape")
    side = int(math.isqrt(MAX_VOTE_PIXELS))
    assert vote_shape([(side, side)]) == (side, side)  # exactly the limit
    with pytest.raises(ShapeMismatchError) as info:
        vote_shape([(side + 1, 1), (1, side)], "IMG_Y")
    assert info.value.message == (f"the annotator masks of IMG_Y (({side + 1}, 1), (1, {side})) "
                                  f"broadcast to ({side + 1}, {side}): too large to vote on")
    with pytest.raises(ShapeMismatchError) as info:
        vote_shape([(side + 1, 1), (1, side)])
    assert info.value.message.startswith("the annotator masks ((")


def test_image_shapes_checked_from_headers() -> None:
    assert check_image_shapes((2, 3), [(2, 3), (2, 3)]) == (2, 3)
    assert check_image_shapes((3, 2), [(2, 3)]) == (2, 3)  # same pixel count: compared flat
    assert check_image_shapes((1, 1), [(2, 3), (1, 2, 3)]) == (1, 2, 3)
    assert check_image_shapes((6,), [(2, 3), (1, 1)]) == (2, 3)
    assert check_image_shapes(None, [(2, 3)]) == (2, 3)
    with pytest.raises(ValueError, match="IMG_Z: no annotator mask"):
        check_image_shapes((2, 3), [], "IMG_Z")
    with pytest.raises(ShapeMismatchError) as info:
        check_image_shapes((4, 4), [(2, 3), (2, 3)], "IMG_Z")
    assert (info.value.side, info.value.message) == ("prediction",
                                                     "prediction (4, 4) vs reference (2, 3)")
    # The annotators differ in size (only a 1-pixel one broadcasts): the reference's fault.
    with pytest.raises(ShapeMismatchError) as info:
        check_image_shapes((2, 3), [(2, 3), (1, 1), (3, 1)], "IMG_Z")
    assert info.value.side == "reference"
    with pytest.raises(ShapeMismatchError) as info:
        check_image_shapes((2, 3), [(2, 3), (1, 3)], "IMG_Z")
    assert (info.value.side, info.value.message) == (
        "reference", "the annotator masks of IMG_Z differ in size: (2, 3), (1, 3)")
    # Equal sizes whose vote is larger ((1, 6) + (6, 1) is 6 x 6): no prediction fits both.
    with pytest.raises(ShapeMismatchError) as info:
        check_image_shapes((2, 3), [(1, 6), (6, 1)], "IMG_Z")
    assert (info.value.side, info.value.message) == (
        "reference", "the annotator masks of IMG_Z add up to (6, 6), another size than theirs: "
        "(1, 6), (6, 1)")
    with pytest.raises(ShapeMismatchError) as info:
        check_image_shapes((2, 3), [(1, 6), (6, 1)])
    assert info.value.message.startswith("the annotator masks add up to (6, 6)")
    assert check_image_shapes((1, 1), [(1, 6), (6, 1)]) == (6, 6)  # one pixel: compared with all


def test_majority_vote_in_equal_and_broadcast_shapes() -> None:
    a, b, c = A([[1, 0], [1, 1]], np.uint8), A([[1, 1], [0, 1]], np.uint8), A([[0, 0], [1, 1]])
    assert majority_vote([a]).tolist() == [True, False, True, True]
    assert majority_vote([a, b]).tolist() == [True, True, True, True]  # threshold 1: union
    assert majority_vote([a, b, c]).tolist() == [True, False, True, True]  # threshold 2
    assert majority_vote([a, b, c, np.zeros((2, 2), np.uint8)]).tolist() == [True, False, True,
                                                                               True]
    broadcast = majority_vote([a, A([[1]], np.uint8), np.zeros((1, 2, 2), np.uint8)])
    assert broadcast.tolist() == [True, False, True, True]  # a + 1 + 0 >= 2 where a is 1
    assert majority_vote([A([[255]], np.uint8), A([[2]], np.uint8)]).tolist() == [True]
    assert majority_vote([A([[200]], np.uint8), A([[100]], np.uint8)]).tolist() == [True]
    # uint8 sums wrap as officially: 200 + 100 = 44, which still reaches 1
    three = [A([[128]], np.uint8), A([[128]], np.uint8), A([[1]], np.uint8)]
    assert majority_vote(three).tolist() == [False]  # 128 + 128 + 1 = 1 (wrapped) < 2
    with pytest.raises(ValueError, match="majority vote of no annotator"):
        majority_vote([])
    work = Workspace()
    first = majority_vote([a, b, c], work).copy()
    assert majority_vote([a, b, c], work).tolist() == first.tolist()
    assert work.buffer("votes", 3, np.uint8).size == 3 and work.buffer("x", 0, np.uint8).size == 0


def test_score_image_counts_by_hand() -> None:
    pred = A([[1, 1, 0], [0, 0, 1]], np.float32)
    golds = {"ann1": A([[1, 0, 0], [0, 0, 1]], np.uint8), "ann3": A([[1, 1, 1], [1, 1, 1]], bool)}
    r = score_image("IMG_ENC00001_00001", pred, golds)
    assert r.annotators == ("ann1", "ann3")
    assert (r.tp, r.fp, r.fn) == ((2, 3), (1, 0), (0, 3))
    assert (r.majority_tp, r.majority_fp, r.majority_fn) == (3, 0, 3)  # union of 2 annotators
    assert r.pred_pixels == 3 and r.shape == (2, 3) and r.pred_shape == (2, 3)
    assert r.gold_pixels == (2, 6) and r.majority_pixels == 6 and not r.has_nan
    assert r.jaccards == (2 / 3, 1 / 2) and r.dices == (4 / 5, 2 / 3)
    assert r.macro_values() == (2 / 3, (2 / 3 + 1 / 2) / 2, 4 / 5, (4 / 5 + 2 / 3) / 2)
    assert not r.missing_prediction
    one = score_image("IMG_ENC00001_00002", A([[1]], np.uint8), golds)
    assert (one.tp, one.fp, one.fn) == ((2, 6), (4, 0), (0, 0)) and one.pred_pixels == 6
    assert one.pred_shape == (1, 1) and one.shape == (2, 3)
    missing = score_image("IMG_ENC00001_00003", None, golds)
    assert missing.missing_prediction and missing.pred_pixels == 0 and missing.tp == (0, 0)
    assert missing.fn == (2, 6) and missing.pred_shape is None
    with pytest.raises(ValueError, match="IMG_Q: no annotator mask"):
        score_image("IMG_Q", pred, {})
    with pytest.raises(ShapeMismatchError):
        score_image("IMG_Q", A([[1, 0]], np.uint8), golds)


def test_ratios_and_official_reductions() -> None:
    assert jaccard_from_counts(1, 1, 2) == 0.25 and dice_from_counts(1, 1, 2) == 0.4
    assert jaccard_from_counts(0, 0, 3) == 0.0 and dice_from_counts(0, 2, 0) == 0.0
    assert math.isnan(jaccard_from_counts(0, 0, 0)) and math.isnan(dice_from_counts(0, 0, 0))
    assert official_max([0.2, 0.9, 0.5]) == 0.9 and official_mean([0.2, 0.4]) == pytest.approx(0.3)
    assert math.isnan(official_max([0.2, math.nan])) and math.isnan(official_mean([math.nan, 1.0]))


def result(tp: tuple, fp: tuple, fn: tuple, maj: tuple = (0, 0, 0)) -> ImageResult:
    return ImageResult("IMG_ENC00001_00001", tuple(f"ann{i}" for i in range(len(tp))), tp, fp, fn,
                       *maj, 0, (2, 2))


def test_aggregate_by_hand_with_both_conventions() -> None:
    nan_image = result((0, 1), (0, 0), (0, 1), (1, 0, 1))  # ann0 and the prediction both empty
    plain = result((1,), (1,), (0,), (1, 1, 0))
    scores = SegmentationAggregate([nan_image, plain]).compute()
    assert math.isnan(scores["jaccard_meanofmax"]) and math.isnan(scores["dice_meanofmean"])
    assert scores["jaccard"] == 2 / 4 and scores["dice"] == 4 / 6
    assert scores["number_segmentation_instances"] == 2
    assert scores["jaccard_meanofmax_empty_is_one"] == (1.0 + 0.5) / 2
    assert scores["jaccard_meanofmean_empty_is_one"] == ((1.0 + 0.5) / 2 + 0.5) / 2
    assert scores["dice_meanofmax_empty_is_one"] == (1.0 + 2 / 3) / 2
    assert scores["dice_meanofmean_empty_is_one"] == pytest.approx(((1.0 + 2 / 3) / 2 + 2 / 3) / 2)
    assert scores["jaccard_empty_is_one"] == 0.5 and scores["dice_empty_is_one"] == 4 / 6
    assert list(scores) == ["jaccard_meanofmax", "jaccard_meanofmean", "dice_meanofmax",
                            "dice_meanofmean", "jaccard", "dice", "number_segmentation_instances",
                            *(k + "_empty_is_one" for k in ("jaccard_meanofmax",
                                                            "jaccard_meanofmean", "dice_meanofmax",
                                                            "dice_meanofmean", "jaccard", "dice"))]
    agg = SegmentationAggregate()
    agg.update(plain)
    agg.update(nan_image)
    assert agg.nan_images == ["IMG_ENC00001_00001"] and len(agg.results) == 2


def test_no_image_at_all() -> None:
    scores = SegmentationAggregate().compute()
    assert math.isnan(scores["jaccard_meanofmax"]) and math.isnan(scores["jaccard"])
    assert scores["number_segmentation_instances"] == 0
    assert scores["jaccard_empty_is_one"] == 1.0 and math.isnan(
        scores["jaccard_meanofmax_empty_is_one"])
    zeros = zero_segmentation_scores()
    assert zeros == {**{k: 0.0 for k in ("jaccard_meanofmax", "jaccard_meanofmean",
                                         "dice_meanofmax", "dice_meanofmean", "jaccard", "dice")},
                     "number_segmentation_instances": 0,
                     **{k + "_empty_is_one": 0.0 for k in ("jaccard_meanofmax",
                                                           "jaccard_meanofmean", "dice_meanofmax",
                                                           "dice_meanofmean", "jaccard", "dice")}}
    assert isinstance(zeros["number_segmentation_instances"], int)


def test_no_image_gives_nan_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" from the official mean
        scores = SegmentationAggregate().compute()
    assert math.isnan(scores["dice_meanofmean"])


def test_a_workspace_serves_every_image_of_one_size_without_allocating() -> None:
    """The scorer's promise (evaluation.pixels.Workspace): no new buffer per image."""
    work = Workspace()
    golds = {"ann0": A([[1, 0, 1], [0, 1, 1]], np.uint8), "ann1": A([[1, 1, 0], [0, 0, 1]])}
    first = score_image("IMG_1", A([[1, 1, 0], [0, 0, 0]], np.float32), golds, work)
    buffers = dict(work._buffers)  # what the first image allocated
    assert {name: (b.dtype, b.size) for name, b in buffers.items()} == {
        "pred": (np.bool_, 6), "gold": (np.bool_, 6), "votes": (np.uint8, 6),
        "majority": (np.bool_, 6)}
    second = score_image("IMG_2", A([[1, 1, 0], [0, 0, 0]], np.float32), golds, work)
    assert work._buffers.keys() == buffers.keys()
    assert all(work._buffers[name] is b for name, b in buffers.items())
    assert (first.tp, first.majority_tp) == (second.tp, second.majority_tp) == ((1, 2), 2)
    small = work.buffer("pred", 1, np.bool_)
    assert small.size == 1 and small.base is buffers["pred"]
    fresh = Workspace()
    assert fresh.buffer("x", 0, np.uint8).base.size == 1  # never an empty allocation
    assert fresh.buffer("x", 1, np.uint8).base is fresh.buffer("x", 0, np.uint8).base
    assert fresh.buffer("x", 2, np.uint8).base.size == 2  # grown, then kept
    assert fresh.buffer("x", 2, np.uint8).base is fresh.buffer("x", 1, np.uint8).base


def test_broadcast_votes_wrap_in_uint8_too() -> None:
    # Shapes (1, 1) and (1, 2): the slow path; 128 + 128 wraps to 0 in uint8, as officially.
    votes = majority_vote([A([[128]], np.uint8), A([[128, 0]], np.uint8)])
    assert votes.tolist() == [False, True]
    with pytest.raises(ValueError) as info:
        majority_vote([])
    assert str(info.value) == "majority vote of no annotator"


def test_score_image_names_the_image_in_its_shape_errors() -> None:
    gold = A([[1, 0, 0], [0, 0, 0]], np.uint8)
    with pytest.raises(ShapeMismatchError) as info:
        score_image("IMG_Q", np.zeros((4, 4), np.uint8), {"ann0": gold})
    assert info.value.message == "prediction (4, 4) vs reference (2, 3)"
    with pytest.raises(ShapeMismatchError) as info:
        score_image("IMG_Q", gold, {"ann0": gold, "ann1": np.zeros((3, 2), np.uint8)})
    assert info.value.message == ("the annotator masks of IMG_Q differ in shape and cannot be added "
                                  "up: (2, 3), (3, 2)")


def test_pred_pixels_count_the_prediction_as_compared_with_the_vote() -> None:
    r = score_image("IMG_P", A([[1, 1, 1], [0, 0, 0]], np.uint8),
                    {"ann0": A([[1, 0, 0], [0, 0, 1]], np.uint8)})
    assert (r.majority_tp, r.majority_fp, r.majority_fn, r.pred_pixels) == (1, 2, 1, 3)


def test_vote_and_shape_errors_say_whose_fault() -> None:
    side = int(math.isqrt(MAX_VOTE_PIXELS)) + 1
    with pytest.raises(ShapeMismatchError) as info:
        vote_shape([(side, 1), (1, side)])
    assert info.value.side == "reference"
    with pytest.raises(ShapeMismatchError) as info:
        check_image_shapes((1, 2), [(1, 2), (2, 1)], "IMG_W")  # two 2-pixel masks vote on 2 x 2
    assert (info.value.side, info.value.message) == (
        "reference", "the annotator masks of IMG_W add up to (2, 2), another size than theirs: "
        "(1, 2), (2, 1)")
