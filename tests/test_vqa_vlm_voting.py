"""Votes -> slots: majority, ties, the half rule, the slot cap and NM padding (by hand)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baselines.vqa.decoding import answer_set
from baselines.vqa.vlm.voting import vote_family, vote_multi, vote_single
from evaluation.cvqa import iom
from magic_submit.challenge import PARENT_BY_ID

SITE, SIZE, LABEL = PARENT_BY_ID["CQID011"], PARENT_BY_ID["CQID012"], PARENT_BY_ID["CQID020"]
ITCH = PARENT_BY_ID["CQID025"]


def test_single_slot_majority_and_first_vote_ties():
    assert vote_single([(1,), (0,), (1,)]) == 1
    assert vote_single([(2,), (0,), (1,)]) == 2  # three-way tie: the first vote
    assert vote_single([(0,), (1,), (1,), (0,)]) == 0  # 2-2: the answer of the earliest vote
    assert vote_family([(2,)], ITCH) == [2]
    with pytest.raises(ValueError):
        vote_single([])


def test_multi_slot_half_rule_and_padding():
    # 3 votes: 2 is chosen 3 times, 5 twice (>= 1.5), 0 once: {2, 5} + NM padding
    assert vote_multi([(2, 5), (5, 2, 0), (2,)], SITE) == [2, 5, 7, 7, 7, 7]
    # 2 votes: each option chosen once is chosen by half: kept, most chosen first
    assert vote_multi([(1,), (3, 1)], SITE) == [1, 3, 7, 7, 7, 7]
    # NM-only votes count as votes for nothing: 4 chosen once of 3 votes: dropped
    assert vote_multi([(7,), (4,), (7,)], SITE) == SITE.padded([])
    # ties in count keep the order of first choice
    assert vote_multi([(2, 0), (0, 2)], SIZE) == [2, 0, 3, 3, 3, 3]


def test_multi_slot_cap_at_the_slot_count():
    votes = [tuple(range(9))] * 3  # 9 real labels every time, 9 slots: all kept, no NM
    assert vote_multi(votes, LABEL) == list(range(9))
    many = [(0, 1, 2, 3, 4, 5, 6)] * 2  # 7 real sites in 6 slots: the first 6 chosen
    assert vote_multi(many, SITE) == [0, 1, 2, 3, 4, 5]


def test_voted_sets_score_as_computed_by_hand():
    gold = answer_set([2, 7, 7, 7, 7, 7], SITE)  # one site, then NM: {2, 7}
    voted = answer_set(vote_multi([(2, 5), (5, 2), (2,)], SITE), SITE)  # {2, 5, 7}
    assert set(voted) == {2, 5, 7}
    assert iom(gold, voted) == pytest.approx(2 / 3)
    unpadded = (2,)  # what a system without NM padding would write: 1/2
    assert iom(gold, unpadded) == pytest.approx(1 / 2)
    assert iom(gold, answer_set(vote_multi([(2,), (2,), (4,)], SITE), SITE)) == 1.0


votes_strategy = st.lists(st.lists(st.integers(0, 7), min_size=1, max_size=6, unique=True)
                          .map(tuple), min_size=1, max_size=7)


@given(votes_strategy)
def test_multi_vote_set_ignores_the_order_of_votes(votes):
    """The kept set depends on the order of votes only through the cap: when more options pass
    the half mark than there are slots, ties at the cap go to the option chosen first."""
    counts = {o: sum(o in v for v in votes) for o in range(SITE.nm_index)}
    passing = {o for o, c in counts.items() if 2 * c >= len(votes)}
    forward = set(vote_multi(votes, SITE)) - {SITE.nm_index}
    backward = set(vote_multi(list(reversed(votes)), SITE)) - {SITE.nm_index}
    assert len(vote_multi(votes, SITE)) == SITE.slots
    if len(passing) <= SITE.slots:
        assert forward == backward == passing
    else:  # capped: both keep `slots` passing options, and every option counted more than any
        assert len(forward) == len(backward) == SITE.slots  # option left out is kept by both
        assert forward <= passing and backward <= passing
        left_out = max(counts[o] for o in passing - forward)
        assert {o for o in passing if counts[o] > left_out} <= forward & backward


@given(st.lists(st.integers(0, 7), min_size=1, max_size=6, unique=True), st.integers(1, 5))
def test_unanimous_votes_give_back_the_vote(real, k):
    vote = tuple(real)
    kept = [v for v in vote if v != SITE.nm_index]
    assert vote_multi([vote] * k, SITE) == SITE.padded(kept)
