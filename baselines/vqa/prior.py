"""The ``prior`` baseline: the training gold's most frequent answer per family.

Single-slot families get their most frequent option; multi-slot families their most frequent
answer *set* (NM included as the gold holds it), because the score is the set IoM. Ties go to
the answer seen first in the gold file, so the choice never depends on how options are numbered.

>>> from magic_submit.challenge import PARENT_BY_ID
>>> gold = {"E1": {"CQID011": (2, 7, 7, 7, 7, 7)}, "E2": {"CQID011": (3, 2, 7, 7, 7, 7)},
...         "E3": {"CQID011": (2, 2, 7, 7, 7, 7)}}
>>> most_frequent_set([g["CQID011"] for g in gold.values()], PARENT_BY_ID["CQID011"])
(2, 7)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from baselines.vqa.data import FamilyAnswers
from baselines.vqa.decoding import answer_set
from magic_submit.challenge import PARENTS, Parent

__all__ = ["PriorModel", "fit_prior", "most_frequent_set"]


def most_frequent_set(gold_slots: Iterable[Sequence[int]], parent: Parent) -> tuple[int, ...]:
    """The most frequent answer set, ordered as first seen; on ties the set seen first wins
    (``Counter.most_common`` keeps insertion order)."""
    sets = [answer_set(slots, parent) for slots in gold_slots]
    counts = Counter(frozenset(s) for s in sets)
    if not counts:  # no training gold at all: nothing mentioned
        return (parent.nm_index,)
    best = counts.most_common(1)[0][0]
    return next(s for s in sets if frozenset(s) == best)


@dataclass(frozen=True)
class PriorModel:
    """One answer set per family, used for every encounter."""

    answers: dict[str, tuple[int, ...]]

    def predict(self, encounter_ids: Sequence[str]) -> dict[str, dict[str, tuple[int, ...]]]:
        return {enc: dict(self.answers) for enc in encounter_ids}

    def describe(self) -> dict[str, list[int]]:
        return {parent: list(values) for parent, values in self.answers.items()}


def fit_prior(gold: Mapping[str, FamilyAnswers]) -> PriorModel:
    """Fit on gold grouped by family (:func:`baselines.vqa.data.family_answers`)."""
    return PriorModel({p.id: most_frequent_set((g[p.id] for g in gold.values()), p)
                       for p in PARENTS})

