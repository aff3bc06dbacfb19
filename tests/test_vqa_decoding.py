"""Answer sets <-> padded slots, NM padding, set decoding, and the IoM of the written records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baselines.vqa.decoding import (
    SetPolicy, answer_set, candidate_policies, decode_scores, nm_pads, padded_set, real_answers,
    to_record, write_slots,
)
from evaluation.cvqa import score_cvqa
from magic_submit.challenge import PARENT_BY_ID, PARENTS, QIDS

SITE = PARENT_BY_ID["CQID011"]  # 6 slots, 8 options, NM 7
SIZE = PARENT_BY_ID["CQID012"]  # 6 slots, 4 options, NM 3
ITCH = PARENT_BY_ID["CQID025"]  # 1 slot, NM 2


def test_write_slots_pads_with_nm_and_keeps_order():
    assert write_slots((4, 2, 7), SITE) == [4, 2, 7, 7, 7, 7]
    assert write_slots((7,), SITE) == [7] * 6
    assert write_slots((), SITE) == [7] * 6  # nothing real: all NM


def test_write_slots_without_nm_repeats_the_last_answer():
    # the set {2, 5} without NM: padding by repetition keeps NM out of the set
    assert write_slots((2, 5), SITE) == [2, 5, 5, 5, 5, 5]


def test_write_slots_drops_answers_beyond_the_slots():
    assert write_slots((0, 1, 2, 3), SIZE) == [0, 1, 2, 3, 3, 3]
    many = (0, 1, 2, 3, 4, 5, 6)
    assert write_slots(many, SITE) == [0, 1, 2, 3, 4, 5]  # full: no room for NM


def test_single_slot_families():
    assert write_slots((1,), ITCH) == [1]
    assert write_slots((2,), ITCH) == [2]  # NM is an ordinary answer there
    assert padded_set((), ITCH, pad_nm=True) == (2,)


def test_padded_set_follows_the_convention():
    assert padded_set([4, 2, 4], SITE, pad_nm=True) == (4, 2, 7)
    assert padded_set([4, 2], SITE, pad_nm=False) == (4, 2)
    assert padded_set([], SITE, pad_nm=False) == (7,)
    assert padded_set(range(7), SITE, pad_nm=True) == (0, 1, 2, 3, 4, 5)  # no free slot


def test_answer_set_reads_gold_slots():
    assert answer_set([2, 0, 7, 7, 7, 7], SITE) == (2, 0, 7)
    assert answer_set([5, 5, 7, 7, 7, 7], SITE) == (5, 7)
    assert answer_set([7] * 6, SITE) == (7,)
    assert real_answers([7, 3, 3, 1], SITE) == (3, 1)


@given(st.lists(st.integers(0, SITE.nm_index), min_size=SITE.slots, max_size=SITE.slots))
def test_slots_set_round_trip(slots):
    """Writing the set read from any slots gives slots with exactly the same set."""
    rewritten = write_slots(answer_set(slots, SITE), SITE)
    assert len(rewritten) == SITE.slots
    assert set(rewritten) == set(slots)


def test_nm_padding_convention_is_learnt_from_gold():
    padded = [(2, 7, 7, 7, 7, 7), (3, 1, 7, 7, 7, 7), (7,) * 6]
    repeated = [(2, 2, 2, 2, 2, 2), (3, 1, 1, 1, 1, 1)]
    assert nm_pads(padded, SITE) is True
    assert nm_pads(repeated, SITE) is False
    assert nm_pads([(7,) * 6, (0, 1, 2, 3, 4, 5)], SITE) is True  # no evidence: the documented NM


def test_decode_scores_policies():
    scores = [0.1, 0.7, 0.2, 0.6, 0.1, 0.0, 0.0]
    assert decode_scores(scores, SetPolicy(threshold=0.5)) == (1, 3)
    assert decode_scores(scores, SetPolicy(threshold=0.5, top_k=1)) == (1,)
    assert decode_scores(scores, SetPolicy(threshold=None, top_k=2)) == (1, 3)
    low = [0.1, 0.3, 0.2]
    assert decode_scores(low, SetPolicy(threshold=0.5, fallback="top1")) == (1,)
    assert decode_scores(low, SetPolicy(threshold=0.5, fallback="nm")) == ()
    assert decode_scores(low, SetPolicy(threshold=0.5, fallback="prior"), prior=(2,)) == (2,)
    assert decode_scores([0.4, 0.4], SetPolicy(threshold=None, top_k=1)) == (0,)  # tie: lower index


def test_policy_arguments_are_checked():
    with pytest.raises(ValueError):
        SetPolicy(threshold=None, top_k=None)
    with pytest.raises(ValueError):
        SetPolicy(fallback="guess")
    assert all(p.top_k is None or p.top_k <= SIZE.slots for p in candidate_policies(SIZE))


def _gold_record() -> dict:
    record = {"encounter_id": "ENC00001"}
    answers = {p.id: [p.nm_index] * p.slots for p in PARENTS}
    answers["CQID011"] = [2, 0, 7, 7, 7, 7]  # {0, 2, NM}
    answers["CQID012"] = [1, 3, 3, 3, 3, 3]  # {1, NM}
    answers["CQID020"] = [3, 6, 9, 9, 9, 9, 9, 9, 9]  # {3, 6, NM}
    answers["CQID025"] = [0]
    for p in PARENTS:
        record.update(zip(p.qids, answers[p.id]))
    return record


def test_iom_of_written_records_matches_hand_computed_values():
    gold = [_gold_record()]
    sets = {p.id: (p.nm_index,) for p in PARENTS}  # NM everywhere: right for the 5 untouched
    sets["CQID011"] = padded_set([2], SITE, pad_nm=True)  # {2, 7} vs {0, 2, 7}: 2/3
    sets["CQID012"] = padded_set([1], SIZE, pad_nm=True)  # {1, 3} vs {1, 3}: 1
    sets["CQID020"] = padded_set([3, 6], PARENT_BY_ID["CQID020"], pad_nm=False)  # {3,6} v {3,6,9}
    sets["CQID025"] = (1,)  # wrong: 0
    record = to_record("ENC00001", sets)
    assert list(record)[1:] == list(QIDS) and all(type(record[q]) is int for q in QIDS)
    scores = score_cvqa(gold, [record]).scores
    assert scores["accuracy_CQID011"] == pytest.approx(2 / 3)
    assert scores["accuracy_CQID012"] == 1.0
    assert scores["accuracy_CQID020"] == pytest.approx(2 / 3)
    assert scores["accuracy_CQID025"] == 0.0
    assert scores["accuracy_all"] == pytest.approx((2 / 3 + 1 + 2 / 3 + 0 + 5) / 9)


def test_unpadded_answer_loses_half():
    """The rules' example: gold {2, 7} against an unpadded {2} scores 1/2, padded 1."""
    gold = [_gold_record() | dict(zip(SITE.qids, [2, 7, 7, 7, 7, 7]))]
    sets = {p.id: answer_set([gold[0][q] for q in p.qids], p) for p in PARENTS}
    padded = score_cvqa(gold, [to_record("ENC00001", sets)]).scores["accuracy_CQID011"]
    sets["CQID011"] = padded_set([2], SITE, pad_nm=False)
    unpadded = score_cvqa(gold, [to_record("ENC00001", sets)]).scores["accuracy_CQID011"]
    assert (padded, unpadded) == (1.0, 0.5)


@pytest.mark.parametrize("name", ["baselines.vqa.data", "baselines.vqa.decoding",
                                  "baselines.vqa.prior"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(name)).failed == 0
