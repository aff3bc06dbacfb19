"""Votes -> one answer per family: pure functions, no I/O.

* A single-slot family takes the most frequent answer; a tie goes to the answer of the earliest
  vote among the tied.
* A multi-slot family keeps every real option chosen by at least half of the votes (a vote of
  "Not mentioned" alone counts as a vote for none), most chosen first (ties: first chosen), at
  most ``slots`` of them, written into slots by :meth:`Parent.padded` (all "Not mentioned" when
  none is kept).

Votes are the valid ones: a vote whose answer could not be read is left out before voting.

>>> from magic_submit.challenge import PARENT_BY_ID
>>> vote_single([(2,), (5,), (5,)])
5
>>> vote_single([(2,), (5,), (7,)])
2
>>> vote_family([(2,), (2, 5), (7,)], PARENT_BY_ID["CQID011"])
[2, 7, 7, 7, 7, 7]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from magic_submit.challenge import Parent


def vote_single(votes: Sequence[Sequence[int]]) -> int:
    """The most frequent answer among one-answer votes; ties to the earliest vote."""
    if not votes:
        raise ValueError("no votes")
    counts = Counter(v[0] for v in votes)
    best = max(counts.values())
    return next(v[0] for v in votes if counts[v[0]] == best)


def vote_multi(votes: Sequence[Sequence[int]], parent: Parent) -> list[int]:
    """Real options chosen by at least half of the votes, as padded slots."""
    if not votes:
        raise ValueError("no votes")
    counts: Counter[int] = Counter()
    first_seen: dict[int, int] = {}
    for vote in votes:
        for option in dict.fromkeys(vote):  # an option counts once per vote
            if option != parent.nm_index:
                counts[option] += 1
                first_seen.setdefault(option, len(first_seen))
    kept = [o for o in counts if 2 * counts[o] >= len(votes)]
    kept.sort(key=lambda o: (-counts[o], first_seen[o]))
    return parent.padded(kept[: parent.slots])


def vote_family(votes: Sequence[Sequence[int]], parent: Parent) -> list[int]:
    """The family's slot values from its valid votes (see the module doc)."""
    if parent.multi_slot:
        return vote_multi(votes, parent)
    return [vote_single(votes)]
