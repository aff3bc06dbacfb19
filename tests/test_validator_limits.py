"""Every limit the validator enforces, at the limit, just inside and just outside it.

Each expectation comes from the official scorer's behaviour (challenge-rules sections 3 and 4):
option indices 0 .. n_options-1, NM padding of multi-slot families, scored keys of exactly 11
characters, foreground = ``uint8(value) == 1``, masks of the image's height x width.
"""

from __future__ import annotations

import numpy as np
import pytest

from builders import record as answered
from magic_submit.challenge import MULTI_SLOT_PARENTS, PARENTS, Parent
from magic_submit.dataset import Encounter
from magic_submit.validation.cvqa_check import check_records, value_problem
from magic_submit.validation.mask_content import content_problems, mask_facts
from magic_submit.validation.problems import CODES
from magic_submit.validation.targets import SplitTargets

ENC = "ENC00001"
WHERE = {"file": "data_cvqa_sys.json", "encounter_id": ENC}
TARGETS = SplitTargets.build([Encounter(ENC, ())], "split")


def full_record(**changes: object) -> dict:
    """Every qid answered with option 0 and NM in the free slots, then ``changes`` applied
    (a value of None deletes the key)."""
    record = answered(ENC)
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def codes(records: list) -> list[str]:
    return sorted(p.code for p in check_records(records, TARGETS)[0])


# ---- option indices: 0 .. n_options-1, NM the last ---------------------------------------------

@pytest.mark.parametrize("parent", PARENTS, ids=lambda p: p.id)
def test_option_index_at_inside_and_outside_the_range(parent: Parent) -> None:
    qid, n = parent.qids[0], parent.n_options
    for inside in (0, n - 1):  # the first option and NM
        assert value_problem(inside, qid, n, WHERE) == (None, False)
    for outside in (-1, n, n + 1):
        problem, crashes = value_problem(outside, qid, n, WHERE)
        assert (problem.code, problem.severity, crashes) == ("cvqa-value-range", "error", False)
        assert problem.message == (f"{outside} is out of range: {qid} has options 0..{n - 1} "
                                   f"(NM = {n - 1})")
        assert (problem.encounter_id, problem.file) == (ENC, "data_cvqa_sys.json")
    # A value equal to the number of options is the classic 1-based NM: its hint says so.
    assert value_problem(n, qid, n, WHERE)[0].hint == (f"indices are 0-based: NM of {qid} is "
                                                         f"{n - 1}, not {n}")
    assert value_problem(n + 1, qid, n, WHERE)[0].hint == CODES["cvqa-value-range"].fix
    assert value_problem(-1, qid, n, WHERE)[0].hint == CODES["cvqa-value-range"].fix


@pytest.mark.parametrize("parent", PARENTS, ids=lambda p: p.id)
def test_integral_floats_follow_the_same_range(parent: Parent) -> None:
    qid, n = parent.qids[0], parent.n_options
    for inside in (0.0, float(n - 1)):
        problem, _ = value_problem(inside, qid, n, WHERE)
        assert (problem.code, problem.severity) == ("cvqa-value-float", "warning")
        assert problem.message == f"{inside} is a float; scored as {int(inside)}"
    for outside in (-1.0, float(n)):
        problem, crashes = value_problem(outside, qid, n, WHERE)
        assert (problem.code, crashes) == ("cvqa-value-range", False)
        assert problem.message.startswith(f"{int(outside)} is out of range")


def test_value_equal_to_the_option_count_is_an_error_in_a_whole_file() -> None:
    for parent in PARENTS:
        n = parent.n_options
        assert codes([full_record(**{parent.qids[0]: n - 1})]) == []
        assert "cvqa-value-range" in codes([full_record(**{parent.qids[0]: n})])
    # NM in the first slot of a multi-slot family is allowed (all NM), not an error
    assert codes([full_record(**{"CQID010-001": 3})]) == []
    assert codes([full_record(**{"CQID010-001": 4})]) == ["cvqa-value-range"]


def test_non_numbers_are_type_errors_and_only_containers_crash() -> None:
    qid = "CQID010-001"
    for value, crash in ((True, False), (False, False), ("2", False), (None, False),
                         (float("nan"), False), (float("inf"), False), (2.5, False),
                         ([1], True), ({"a": 1}, True)):
        problem, crashes = value_problem(value, qid, 4, WHERE)
        assert (problem.code, crashes) == ("cvqa-value-type", crash), value
    assert "unhashable: the scorer crashes" in value_problem([1], qid, 4, WHERE)[0].message
    assert value_problem(" 2 ", qid, 4, WHERE)[0].hint == "write 2 without quotes"
    assert value_problem("x", qid, 4, WHERE)[0].hint == CODES["cvqa-value-type"].fix
    assert value_problem(True, qid, 4, WHERE)[0].message.startswith("true is a boolean")


# ---- multi-slot families: every slot written, NM in the free ones -------------------------------

@pytest.mark.parametrize("parent", MULTI_SLOT_PARENTS, ids=lambda p: p.id)
def test_every_missing_slot_count_warns_and_a_full_family_does_not(parent: Parent) -> None:
    for written in range(1, parent.slots + 1):
        dropped = {q: None for q in parent.qids[written:]}
        record = full_record(**{parent.qids[0]: 1, **dropped})  # a real answer, no NM after it
        found = check_records([record], TARGETS)[0]
        unpadded = [p for p in found if p.code == "cvqa-unpadded"]
        if written == parent.slots:
            assert unpadded == [], written
            continue
        (problem,) = unpadded
        assert problem.severity == "warning" and problem.qid == parent.qids[written]
        assert problem.message.startswith(f"{parent.id}: {written} of {parent.slots} slots written")
        if written == 1:  # the answer 1 alone: the set lacks the gold's NM padding
            assert f"gold pads with NM = {parent.nm_index}, which this set lacks" in problem.message
        else:  # answer 1 then NM in slot 2: NM is already in the set
            assert "NM is already among the answers" in problem.message


def test_five_of_six_slots_without_padding_warn() -> None:
    qids = ("CQID012-001", "CQID012-002", "CQID012-003", "CQID012-004", "CQID012-005")
    record = full_record(**dict(zip(qids, (0, 1, 2, 0, 1))), **{"CQID012-006": None})
    found = check_records([record], TARGETS)[0]
    assert [(p.code, p.qid) for p in found] == [("cvqa-unpadded", "CQID012-006")]
    assert "5 of 6 slots written (absent: CQID012-006)" in found[0].message
    assert "gold pads with NM = 3, which this set lacks" in found[0].message


def test_nm_before_a_real_answer_warns_once_per_record() -> None:
    record = full_record(**{"CQID011-001": 7, "CQID011-002": 2, "CQID011-003": 3})
    found = [p for p in check_records([record], TARGETS)[0]]
    assert [(p.code, p.qid) for p in found] == [("cvqa-nm-before-answer", "CQID011-002")]
    assert found[0].message == ("CQID011: [7, 2, 3, 7, 7, 7] has NM (7) before the answer 2 at "
                                "CQID011-002")
    # NM last, or NM only: no warning
    assert codes([full_record(**{"CQID011-001": 2, "CQID011-002": 7})]) == []
    assert codes([full_record(**{q: 7 for q in PARENTS[1].qids})]) == []


def test_repeated_answer_needs_every_slot_and_no_nm() -> None:
    six = dict(zip(PARENTS[2].qids, (1, 1, 2, 2, 2, 2)))  # CQID012, NM = 3
    found = check_records([full_record(**six)], TARGETS)[0]
    (problem,) = found
    assert problem.code == "cvqa-repeated-answer" and problem.qid == "CQID012-001"
    assert problem.message == ("CQID012: [1, 1, 2, 2, 2, 2] repeats an answer instead of padding "
                               "with NM (3): the scorer reads the set {1, 2}; the gold pads its "
                               "free slots with NM, so against the same answers it scores 2/3")
    assert problem.hint == ("write each real answer once, then NM in the free slots: "
                            "[1, 2, 3, 3, 3, 3]")
    assert codes([full_record(**{**six, "CQID012-006": 3})]) == []  # NM present
    assert codes([full_record(**dict(zip(PARENTS[2].qids, range(4)), **{"CQID012-005": 3,
                                                                         "CQID012-006": 3}))]) == []
    five = {**six, "CQID012-006": None}
    assert codes([full_record(**five)]) == ["cvqa-unpadded"]  # a slot absent: unpadded only
    floats = {**six, "CQID012-001": 1.0}
    assert codes([full_record(**floats)]) == ["cvqa-value-float"]  # not all ints


# ---- keys: exactly 11 characters are read ------------------------------------------------------

def test_key_length_ten_eleven_and_twelve() -> None:
    ten, eleven_unknown, twelve = "CQID10-001", "CQID099-001", "CQID010-0001"
    assert codes([full_record(**{ten: 1})]) == ["cvqa-ignored-key"]
    assert codes([full_record(**{twelve: 1})]) == ["cvqa-ignored-key"]
    assert codes([full_record(**{eleven_unknown: 1})]) == ["cvqa-unknown-qid"]
    # An 11-character key of a scored family counts toward its answers: its value is checked.
    found = check_records([full_record(**{"CQID010-009": 9})], TARGETS)[0]
    assert sorted(p.code for p in found) == ["cvqa-unknown-qid", "cvqa-value-range"]
    assert "it still counts toward CQID010's answers" in found[0].message + found[1].message


# ---- mask values: foreground is uint8(value) == 1 ----------------------------------------------

def mask_codes(array: np.ndarray, expected: tuple[int, int] | None = None) -> list[str]:
    return [p.code for p in content_problems(mask_facts(array), expected or array.shape[:2],
                                             file="m.tiff", image_id="IMG_A")]


def test_int8_minus_one_foreground_is_not_foreground() -> None:
    mask = np.zeros((3, 4), np.int8)
    mask[1, 1:3] = -1
    facts = mask_facts(mask)
    assert (facts.values, facts.nonzero, facts.scorer_foreground) == ("other", 2, 0)
    (problem,) = content_problems(facts, (3, 4), file="m.tiff", image_id="IMG_A")
    assert problem.code == "mask-values" and problem.severity == "error"
    assert problem.message == ("values -1, 0 (int8): the scorer counts 0 of its 2 non-zero pixels "
                               "as foreground (uint8(value) == 1)")
    assert mask_codes(np.abs(mask)) == ["mask-dtype"]  # int8 0/1: scored right, a note


@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "float32"])
def test_value_two_and_255_are_other_values(dtype: str) -> None:
    mask = np.zeros((2, 2), dtype)
    mask[0, 0] = 1
    mask[1, 1] = 2
    assert mask_codes(mask) == ["mask-values"]
    only255 = np.zeros((2, 2), dtype)
    only255[0, 0] = 255
    assert mask_codes(only255) == ["mask-values-255"]


def test_float_masks_at_zero_one_and_between() -> None:
    assert mask_codes(np.array([[0.0, 1.0]], np.float32)) == ["mask-dtype"]
    assert mask_codes(np.array([[0.0, 0.5]], np.float32)) == ["mask-values-probability"]
    assert mask_codes(np.array([[0.0, 1.5]], np.float32)) == ["mask-values"]
    assert mask_codes(np.array([[-0.5, 1.0]], np.float32)) == ["mask-values"]
    assert mask_codes(np.array([[0.0, np.nan]], np.float32)) == ["mask-values"]
    facts = mask_facts(np.array([[0.0, 0.999, 1.0]], np.float64))
    assert (facts.values, facts.nonzero, facts.scorer_foreground) == ("probability", 2, 1)
    assert mask_facts(np.zeros((2, 2), np.float32)).empty
    assert not mask_facts(np.array([[0.0, 1.0]], np.float32)).empty


def test_binary_masks_of_every_dtype_and_their_emptiness() -> None:
    for dtype in ("uint8", "bool"):
        assert mask_codes(np.eye(3, dtype=dtype)) == []
        assert mask_facts(np.zeros((3, 3), dtype)).empty
        assert not mask_facts(np.eye(3, dtype=dtype)).empty
    assert mask_codes(np.eye(3, dtype="uint16")) == ["mask-dtype"]
    assert mask_codes(np.eye(3, dtype="int32")) == ["mask-dtype"]


# ---- mask size: the image's height x width -----------------------------------------------------

def test_mask_size_at_and_one_pixel_off() -> None:
    expected = (310, 557)
    assert mask_codes(np.zeros(expected, np.uint8), expected) == []
    for shape in ((309, 557), (311, 557), (310, 556), (310, 558)):
        (problem,) = content_problems(mask_facts(np.zeros(shape, np.uint8)), expected,
                                      file="m.tiff", image_id="IMG_A")
        assert problem.code == "mask-size" and problem.hint == CODES["mask-size"].fix
        assert problem.message == (f"mask is {shape[0]}x{shape[1]} (height x width), the image is "
                                   "310x557")
    swapped = content_problems(mask_facts(np.zeros((557, 310), np.uint8)), expected,
                               file="m.tiff", image_id="IMG_A")[0]
    assert swapped.message.endswith(": height and width are swapped")
    assert swapped.hint.startswith("transpose it before saving (mask.T)")
    model = content_problems(mask_facts(np.zeros((352, 352), np.uint8)), expected,
                             file="m.tiff", image_id="IMG_A")[0]
    assert model.message.endswith(": 352x352 is a model input size; resize the prediction back")
    odd_square = content_problems(mask_facts(np.zeros((353, 353), np.uint8)), expected,
                                  file="m.tiff", image_id="IMG_A")[0]
    assert odd_square.message == "mask is 353x353 (height x width), the image is 310x557"


def test_pages_and_channels_are_named_and_their_plane_compared() -> None:
    expected = (4, 5)
    rgb = content_problems(mask_facts(np.zeros((4, 5, 3), np.uint8)), expected, file="m",
                           image_id="I")
    assert [p.code for p in rgb] == ["mask-not-2d"]
    assert rgb[0].message == ("shape (4, 5, 3): an RGB image; the scorer compares it flattened, "
                              "channels included")
    rgba = content_problems(mask_facts(np.zeros((4, 5, 4), np.uint8)), expected, file="m",
                            image_id="I")
    assert "an RGBA image" in rgba[0].message
    pages = content_problems(mask_facts(np.zeros((2, 4, 5), np.uint8)), expected, file="m",
                             image_id="I")
    assert [p.code for p in pages] == ["mask-not-2d"]
    assert pages[0].message == "shape (2, 4, 5): 2 pages; the scorer compares all pages flattened"
    one_page = content_problems(mask_facts(np.zeros((1, 4, 5), np.uint8)), expected, file="m",
                                image_id="I")
    assert [p.code for p in one_page] == ["mask-not-2d"]
    wrong_plane = content_problems(mask_facts(np.zeros((2, 4, 6), np.uint8)), expected, file="m",
                                   image_id="I")
    assert [p.code for p in wrong_plane] == ["mask-not-2d", "mask-size"]
    four_d = content_problems(mask_facts(np.zeros((1, 1, 4, 5), np.uint8)), expected, file="m",
                              image_id="I")
    assert four_d[0].message == "shape (1, 1, 4, 5): a mask must be 2-D (height x width)"
    empty = content_problems(mask_facts(np.zeros((0,), np.uint8)), expected, file="m",
                             image_id="I")
    assert [p.code for p in empty] == ["mask-unreadable"]


def test_value_examples_show_six_at_most_the_largest_last() -> None:
    six = np.arange(6, dtype=np.int16).reshape(2, 3) * 2  # 0, 2, 4, 6, 8, 10
    (problem,) = content_problems(mask_facts(six), (2, 3), file="m", image_id="I")
    assert problem.message.startswith("values 0, 2, 4, 6, 8, 10 (int16):")
    seven = np.arange(8, dtype=np.int16).reshape(2, 4) * 2  # 8 values: the first 5 and the last
    (problem,) = content_problems(mask_facts(seven), (2, 4), file="m", image_id="I")
    assert problem.message.startswith("values 0, 2, 4, 6, 8, 14 (int16):")
    floats = np.array([[0.0, 0.25, 0.5]], np.float32)
    (problem,) = content_problems(mask_facts(floats), (1, 3), file="m", image_id="I")
    assert problem.message.startswith("values 0, 0.25, 0.5 (float32): the scorer counts 0 of its "
                                      "2 non-zero pixels")
    odd = mask_facts(np.array([[1 + 1j]]))
    assert (odd.values, odd.examples, odd.nonzero) == ("other", ("complex128",), None)
    (problem,) = content_problems(odd, (1, 1), file="m", image_id="I")
    assert problem.message == "values complex128 (complex128): the scorer cannot cast them to uint8"


def test_facts_of_a_mask_without_pixels_and_of_a_complex_mask_are_whole() -> None:
    """The two early answers of mask_facts, every field: no pixel is an empty 0/1 mask (the
    shape check reports it); a complex mask is 'other', not empty, its dtype the example."""
    from magic_submit.validation.mask_content import BINARY, OTHER, MaskFacts

    assert mask_facts(np.zeros((0, 4), np.uint8)) == MaskFacts((0, 4), "uint8", BINARY, True)
    assert mask_facts(np.zeros((2, 2), np.complex64)) == MaskFacts(
        (2, 2), "complex64", OTHER, False, examples=("complex64",))


def test_a_malformed_key_does_not_hide_the_keys_after_it() -> None:
    """Every key of a record is read: a key the scorer crashes on comes first here, an
    out-of-range answer after it."""
    record = {"encounter_id": ENC, "CQID010_001": 0,
              **{k: v for k, v in full_record(**{"CQID011-001": 99}).items()
                 if k != "encounter_id"}}
    found = check_records([record], TARGETS)[0]
    assert [(p.code, p.qid) for p in found] == [("cvqa-malformed-key", "CQID010_001"),
                                               ("cvqa-value-range", "CQID011-001")]


def test_a_swapped_mask_of_a_turned_photo_is_explained_whole() -> None:
    swapped = np.zeros((3, 2), np.uint8)
    found = content_problems(mask_facts(swapped), (2, 3), file="m.tiff", image_id="I",
                             orientation=6)
    assert [(p.code, p.message, p.hint) for p in found] == [(
        "mask-size", "mask is 3x2 (height x width), the image is 2x3: height and width are "
        "swapped; the photo has EXIF orientation 6: viewers show it turned 90 degrees clockwise, "
        "and masks follow its stored pixels, not that view",
        "predict on the photo as stored (without ImageOps.exif_transpose), or turn the mask back: "
        "np.rot90(mask, 1)")]


@pytest.mark.parametrize("shape, codes", [
    ((2, 3, 1), ["mask-not-2d"]),  # one channel: height x width x 1, the right size
    ((2, 3, 3), ["mask-not-2d"]),  # RGB at the right size
    ((4, 3, 3), ["mask-not-2d", "mask-size"]),  # RGB of another height
    ((2, 2, 3), ["mask-not-2d", "mask-size"]),  # read as a 2x2 RGB image
    ((1, 2, 3), ["mask-not-2d"]),  # one page of the right size
    ((5, 3, 2), ["mask-not-2d", "mask-size"]),  # 5 pages of 3x2: swapped
])
def test_the_size_of_a_3d_mask_is_its_plane(shape: tuple[int, ...], codes: list[str]) -> None:
    """(h, w, channels) for 1, 3 or 4 channels, else (pages, h, w), against a 2x3 image."""
    found = content_problems(mask_facts(np.zeros(shape, np.uint8)), (2, 3), file="m.tiff",
                             image_id="I")
    assert [p.code for p in found] == codes


def test_a_mask_without_pixels_and_a_wide_0_1_mask_are_reported_whole() -> None:
    hint = "write the mask with tifffile.imwrite(path, mask.astype('uint8'))"
    found = content_problems(mask_facts(np.zeros((0, 4), np.uint8)), (2, 2), file="m.tiff",
                             image_id="I")
    assert [p.to_dict() for p in found] == [{
        "code": "mask-unreadable", "severity": "error",
        "message": "no pixel data (shape (0, 4)): truncated file?", "file": "m.tiff",
        "image_id": "I", "encounter_id": None, "qid": None, "hint": hint}]
    found = content_problems(mask_facts(np.zeros((2, 2), np.int16)), (2, 2), file="m.tiff",
                             image_id="I")
    assert [(p.code, p.severity, p.message, p.file, p.image_id) for p in found] == [
        ("mask-dtype", "note", "dtype int16 holding 0/1", "m.tiff", "I")]
