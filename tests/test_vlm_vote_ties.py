"""Voting ties, decided by the documented rule and nothing else (no seed, no set order).

The rule (``baselines.vqa.vlm.voting``): a single-slot tie goes to the answer of the earliest vote
among the tied; in a multi-slot family options chosen equally often keep the order in which they
were first chosen. Every expected value below is worked out by hand from that rule, with the tied
answers in both orders, so that an order taken from the values themselves (smallest first,
largest first, hash order) fails one of each pair.
"""

from __future__ import annotations

import pytest

from baselines.vqa.vlm.voting import vote_family, vote_multi, vote_single
from magic_submit.challenge import PARENT_BY_ID

SITE, ONSET = PARENT_BY_ID["CQID011"], PARENT_BY_ID["CQID015"]  # 6 slots, NM 7; 1 slot


@pytest.mark.parametrize("votes, expected", [
    ([(1,), (3,), (3,), (1,)], 1),  # 2-2: vote 0 said 1
    ([(3,), (1,), (1,), (3,)], 3),  # the same tie, the other order
    ([(4,), (2,)], 4),
    ([(2,), (4,)], 2),
    ([(6,), (0,), (5,), (0,), (5,)], 0),  # 0 and 5 tie at 2; 0 came first (vote 1)
    ([(6,), (5,), (0,), (0,), (5,)], 5),
    ([(6,), (5,), (0,), (0,), (6,), (0,)], 0),  # no tie: 0 has 3
])
def test_single_slot_ties_go_to_the_earliest_vote(votes, expected: int) -> None:
    assert vote_single(votes) == expected
    assert vote_family(votes, ONSET) == [expected]


@pytest.mark.parametrize("votes, expected", [
    ([(3, 1), (1, 3)], [3, 1]),
    ([(1, 3), (3, 1)], [1, 3]),
    ([(5,), (2, 5), (2,)], [5, 2]),  # 5 and 2 twice each of 3 votes; 5 chosen first
    ([(2,), (5, 2), (5,)], [2, 5]),
    ([(0, 4), (4,), (0, 6), (6, 4)], [4, 0, 6]),  # 4 thrice; 0 and 6 twice: 0 chosen first
    ([(6, 4), (0, 4), (0, 6), (4,)], [4, 6, 0]),
])
def test_multi_slot_ties_keep_the_order_of_first_choice(votes, expected: list[int]) -> None:
    assert vote_multi(votes, SITE) == SITE.padded(expected)
