"""Answer sets <-> padded slots: the one place where "Not mentioned" (NM) padding is decided.

The gold writes a multi-slot family as its real answers in the first slots, then NM in the rest,
and the score is the set IoM per family. So a prediction is an ordered *answer set* per family
(real answers first, NM last when it belongs to the set), written into slots by
:func:`write_slots`, which reproduces the set exactly. Single-slot families are 1-value sets.

>>> from magic_submit.challenge import PARENT_BY_ID
>>> site = PARENT_BY_ID["CQID011"]
>>> write_slots((2, 7), site)
[2, 7, 7, 7, 7, 7]
>>> write_slots(padded_set([4, 2], site, pad_nm=True), site)
[4, 2, 7, 7, 7, 7]
>>> write_slots((), site)        # nothing real: all NM
[7, 7, 7, 7, 7, 7]
>>> decode_scores([0.1, 0.7, 0.2, 0.6, 0.1, 0.0, 0.0], SetPolicy(threshold=0.5))
(1, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from magic_submit import challenge as ch

FALLBACKS = ("prior", "top1", "nm")


def real_answers(values: Iterable[int], parent: ch.Parent) -> tuple[int, ...]:
    """The distinct non-NM values, in first-seen order."""
    seen: dict[int, None] = {}
    for value in values:
        if value != parent.nm_index:
            seen.setdefault(int(value), None)
    return tuple(seen)


def padded_set(real: Iterable[int], parent: ch.Parent, *, pad_nm: bool) -> tuple[int, ...]:
    """The answer set of ``real`` answers as the gold would hold it: NM added when it pads.

    Real answers beyond the family's slots are dropped (a full family has no room for NM); a
    single-slot family never gets NM added; an empty set is NM alone.
    """
    kept = real_answers(real, parent)[: parent.slots]
    if not kept:  # nothing real: the gold writes NM in every slot
        return (parent.nm_index,)
    if pad_nm and parent.multi_slot and len(kept) < parent.slots:
        return kept + (parent.nm_index,)
    return kept


def write_slots(answer_set: Sequence[int], parent: ch.Parent) -> list[int]:
    """Slots whose set is exactly ``answer_set`` (real answers first, then NM or repeats).

    NM in the set fills the free slots; without NM the last real answer repeats (the set stays
    the same). Extra real answers beyond the slots are dropped.
    """
    real = list(real_answers(answer_set, parent))[: parent.slots]
    if not real or parent.nm_index in answer_set:
        return parent.padded(real)  # the gold's rule: NM in every free slot
    return real + [real[-1]] * (parent.slots - len(real))


def answer_set(slots: Sequence[int], parent: ch.Parent) -> tuple[int, ...]:
    """The ordered answer set of gold or predicted slots (inverse of :func:`write_slots`)."""
    real = real_answers(slots, parent)
    return real + (parent.nm_index,) if parent.nm_index in slots or not real else real


def nm_pads(gold_sets: Iterable[Sequence[int]], parent: ch.Parent) -> bool:
    """Whether the gold convention pads this family with NM, learnt from gold answer sets.

    Counted over sets with at least one real answer and a free slot; with none, the challenge's
    documented convention (NM padding) holds.
    """
    with_nm = without_nm = 0
    for values in gold_sets:
        real = real_answers(values, parent)
        if not real or len(real) >= parent.slots:  # no evidence: all NM, or no free slot
            continue
        if parent.nm_index in values:
            with_nm += 1
        else:
            without_nm += 1
    return with_nm >= without_nm


def to_record(encounter_id: str, answers: Mapping[str, Sequence[int]]) -> dict[str, object]:
    """One submission record: ``encounter_id`` and the 27 qids as ints, from sets per family."""
    record: dict[str, object] = {ch.ENCOUNTER_KEY: encounter_id}
    for parent in ch.PARENTS:
        for qid, value in zip(parent.qids, write_slots(answers[parent.id], parent)):
            record[qid] = int(value)
    return record


@dataclass(frozen=True)
class SetPolicy:
    """How per-option scores over a family's real options become a set of real answers.

    ``threshold``: keep options scoring at least this (None: keep none by threshold);
    ``top_k``: then keep at most k (or exactly the best k when ``threshold`` is None);
    ``fallback`` when nothing is kept: "prior" (the caller's prior set), "top1" (the best option)
    or "nm" (no real answer).
    """

    threshold: float | None = 0.5
    top_k: int | None = None
    fallback: str = "top1"

    def __post_init__(self) -> None:
        if self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}")
        if self.threshold is None and self.top_k is None:
            raise ValueError("give a threshold, a top_k or both")

    def describe(self) -> str:
        if self.threshold is None:  # exactly the best k: the fallback never applies
            return f"top{self.top_k}"
        cap = f" top{self.top_k}" if self.top_k is not None else ""
        return f"p>={self.threshold:g}{cap}, else {self.fallback}"


def decode_scores(scores: Sequence[float], policy: SetPolicy,
                  prior: Sequence[int] = ()) -> tuple[int, ...]:
    """Real-answer indices chosen from per-option scores (index = option index), best first.

    Ties keep the lower index first, so the result depends only on the scores.
    """
    order = sorted(range(len(scores)), key=lambda j: (-scores[j], j))
    if policy.threshold is None:
        chosen = order[: policy.top_k]
    else:
        chosen = [j for j in order if scores[j] >= policy.threshold][: policy.top_k]
    if chosen or not order:
        return tuple(chosen)
    if policy.fallback == "prior":
        return tuple(prior)
    return (order[0],) if policy.fallback == "top1" else ()


def candidate_policies(parent: ch.Parent) -> list[SetPolicy]:
    """The decoding policies cross-validation chooses from for a multi-slot family."""
    policies = [SetPolicy(threshold=None, top_k=k) for k in (1, 2, 3) if k <= parent.slots]
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6):
        for fallback in FALLBACKS:
            policies.append(SetPolicy(threshold=threshold, top_k=parent.slots, fallback=fallback))
    return policies
