"""The one place for the exact text sent to a vision-language model, and its option orders.

A request is a sequence of segments, each some photos then a text, in reading order: the
instructions; optional worked examples (other encounters' text with their gold answers, written
exactly as the model must answer, and their photos with ``shot_photos``); then the encounter's
photos, the patient's query (English title and content, HTML stripped; the clinicians'
responses with ``with_responses``) and the question families with their options as numbered
lists in the *shown* order. The reply asked for is one JSON object of option numbers: a number
for a one-answer family, a list for a multi-slot one (:mod:`.schema` gives its JSON schema).
Question and option texts are shown cleaned (:func:`clean_text`: no "please specify", which
invites free text the closed questions cannot take); the format example has placeholders, not
option numbers, so that it anchors no answer.

Vote 0 shows the options in the definitions file's order; every further vote shows another
order of the real options of every family, drawn by a permutation seeded by (seed, encounter,
family) and never one shown before (:func:`option_orders`). "Not mentioned" always stays last:
it means "none applies", not one answer among others. At temperature 0 a family with fewer
orders than votes gets fewer votes (:func:`vote_count`): an identical request would only repeat
its answer. Retries of a vote keep its order and ask only the families whose answer could not
be read.

>>> from magic_submit.challenge import PARENT_BY_ID
>>> option_order(PARENT_BY_ID["CQID025"], seed=0, encounter_id="ENC1", vote=0)
(0, 1, 2)
>>> option_order(PARENT_BY_ID["CQID025"], seed=0, encounter_id="ENC1", vote=1)
(1, 0, 2)
>>> order = option_order(PARENT_BY_ID["CQID034"], seed=0, encounter_id="ENC1", vote=1)
>>> sorted(order) == list(range(12)) and order[-1] == 11
True
>>> clean_text("How large are the affected areas? Please specify which affected area for each "
...            "selection."), clean_text("other (please specify)")
('How large are the affected areas?', 'other')
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from baselines.vqa.data import FamilyOptions
from baselines.vqa.decoding import answer_set, real_answers
from baselines.vqa.vlm.schema import choosable
from magic_submit.challenge import PARENT_BY_ID, PARENTS, Parent
from magic_submit.text import query_texts, response_texts

Orders = dict[str, tuple[int, ...]]  # parent id -> definitions' indices in shown order
ENUMERATED_UP_TO = 6  # families with at most this many real options: all orders listed

INSTRUCTIONS = """\
You are a dermatologist. A patient sent {photos} of a skin problem and the message below. \
Fill in the questionnaire that follows it.

How to answer:
- Answer every question from the photos and the text together{who}: what the photos show \
counts as much as what is written.
- Answer "Not mentioned" only when neither the photos nor the text tell.
- A question that says "choose up to N" may take several options, at most N; most patients \
need one or two. Choose "Not mentioned" there only if no other option applies.
- Give each option by its number in the list under its question.
- Reply with one JSON object and nothing else: the question ids as keys, a number for a \
"choose one" question, a list of numbers for a "choose up to N" one, in this form: {example}"""
RETRY_NOTE = ("Your previous reply could not be read for the questions below. Answer them again, "
              "as one JSON object and nothing else.")
EXAMPLES_TEXT_ONLY = ("Worked examples (other patients, text only: their photos are not shown; "
                      "the annotators answered from the photos and the text):")
EXAMPLES_WITH_PHOTOS = ("Worked examples (other patients, each with its photos, then its text "
                        "and the answers the annotators gave):")
_PLEASE_SPECIFY = re.compile(r"\s*\(\s*please specify\s*\)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


@dataclass(frozen=True)
class Segment:
    """Photos, then a text, as the model reads them."""

    photos: tuple[Path, ...]
    text: str


@dataclass(frozen=True)
class Request:
    """One model request: what is asked about which encounter, and the exact content."""

    encounter_id: str
    vote: int
    attempt: int
    parents: tuple[str, ...]  # the families asked, in question order
    orders: Orders  # for every asked family: shown position -> definitions' index
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        """Every text of the request, as one string."""
        return "\n\n".join(s.text for s in self.segments)

    @property
    def photos(self) -> tuple[Path, ...]:
        """Every photo of the request, in reading order."""
        return tuple(p for s in self.segments for p in s.photos)

    def prompt_hash(self, settings: str) -> str:
        """Hash of everything the model sees and how it is asked (``settings``: the endpoint,
        the model's parameters): a changed prompt is never answered from the store."""
        material = [f"{len(s.photos)}:{'|'.join(p.name for p in s.photos)}\n{s.text}"
                    for s in self.segments]
        return hashlib.sha256("\n".join([*material, settings]).encode("utf-8")).hexdigest()[:16]


def clean_text(text: str) -> str:
    """A question or option text without "(please specify)" and without sentences asking to
    specify (the questions are closed: nothing can be specified)."""
    text = _PLEASE_SPECIFY.sub("", text)
    kept = [s for s in _SENTENCE_END.split(text.strip()) if "please specify" not in s.casefold()]
    return " ".join(kept).strip() or text.strip()


def shown_options(family: FamilyOptions) -> tuple[str, ...]:
    """The option texts as the model sees them (definitions' order)."""
    return tuple(clean_text(o) for o in family.options)


def order_count(parent: Parent) -> int:
    """How many distinct orders a family's options can be shown in ("Not mentioned" last)."""
    return math.factorial(parent.nm_index)


@functools.lru_cache(maxsize=4096)
def _orders(parent_id: str, seed: int, encounter_id: str, count: int) -> tuple[tuple[int, ...], ...]:
    parent = PARENT_BY_ID[parent_id]
    real = parent.nm_index
    rng = random.Random(f"{seed}/{encounter_id}/{parent_id}")
    identity = tuple(range(real))
    if real <= ENUMERATED_UP_TO:
        others = [p for p in itertools.permutations(range(real)) if p != identity]
        rng.shuffle(others)
        chosen = [identity, *others][:count]
    else:
        chosen, seen = [identity], {identity}
        while len(chosen) < count:
            order = list(identity)
            rng.shuffle(order)
            if tuple(order) not in seen:
                seen.add(tuple(order))
                chosen.append(tuple(order))
    return tuple((*o, parent.nm_index) for o in chosen)


def option_orders(parent: Parent, *, seed: int, encounter_id: str,
                  count: int) -> tuple[tuple[int, ...], ...]:
    """The first ``count`` distinct orders of ``parent``'s options for an encounter (fewer when
    it has fewer): the definitions' order first, then seeded permutations of the real options,
    "Not mentioned" kept last."""
    return _orders(parent.id, seed, encounter_id, min(count, order_count(parent)))


def option_order(parent: Parent, *, seed: int, encounter_id: str, vote: int) -> tuple[int, ...]:
    """The order shown in ``vote``: the vote-th distinct order, repeating only once all were
    shown (at temperature 0 such votes are not asked: :func:`vote_count`)."""
    orders = option_orders(parent, seed=seed, encounter_id=encounter_id, count=vote + 1)
    return orders[vote % len(orders)]


def vote_count(parents: Sequence[str], votes: int, temperature: float) -> int:
    """How many votes a request about ``parents`` gets: ``votes``, or at temperature 0 no more
    than the orders of its family with the most (each vote then differs from the others)."""
    if temperature > 0:
        return votes
    return min(votes, max(order_count(PARENT_BY_ID[p]) for p in parents))


def slot_phrase(parent: Parent) -> str:
    if not parent.multi_slot:
        return "Choose one."
    return (f"Choose up to {choosable(parent)}; answer \"Not mentioned\" only if none of the "
            "others applies.")


def render_question(family: FamilyOptions, order: Sequence[int]) -> str:
    """``CQID011: Where is the affected area? Choose up to 6; ...`` and the numbered options."""
    parent = PARENT_BY_ID[family.parent]
    options = shown_options(family)
    lines = [f"{family.parent}: {clean_text(family.question)} {slot_phrase(parent)}"]
    lines += [f"  {number}. {options[index]}" for number, index in enumerate(order, 1)]
    return "\n".join(lines)


def render_answer(answers: Mapping[str, Sequence[int]], orders: Orders) -> str:
    """Answers (definitions' indices per family) as the model must write them: one JSON object
    of shown option numbers, a number per one-answer family, a list per multi-slot family (its
    real answers, or "Not mentioned")."""
    out: dict[str, int | list[int]] = {}
    for parent_id, order in orders.items():
        parent = PARENT_BY_ID[parent_id]
        values = answer_set(answers[parent_id], parent)
        if parent.multi_slot:
            shown = real_answers(values, parent) or (parent.nm_index,)
            out[parent_id] = [order.index(v) + 1 for v in shown]
        else:
            out[parent_id] = order.index(values[0]) + 1
    return json.dumps(out)


def format_example(asked: Sequence[str]) -> str:
    """The reply's form with placeholders: a one-answer and a multi-slot family of ``asked``."""
    single = next((p for p in asked if not PARENT_BY_ID[p].multi_slot), None)
    multi = next((p for p in asked if PARENT_BY_ID[p].multi_slot), None)
    items = ([f'"{single}": <number>'] if single else []) + \
        ([f'"{multi}": [<number>, ...]'] if multi else [])
    return "{" + ", ".join(items) + (", ..." if len(asked) > len(items) else "") + "}"


def patient_text(record: Mapping[str, object], *, with_responses: bool) -> str:
    """The cleaned English query, and the clinicians' responses when asked for."""
    title, content = query_texts(record)
    lines = [f"Title: {title}" if title else "Title: (none)", content or "(no text)"]
    responses = [r for r in response_texts(record) if r] if with_responses else []
    if responses:
        lines += ["", "Clinicians' responses:"]
        lines += [f"{number}. {text}" for number, text in enumerate(responses, 1)]
    return "\n".join(lines)


@dataclass(frozen=True)
class Example:
    """A worked example: another encounter's record, its gold answers per family, and its
    photos (sent only with ``shot_photos``)."""

    record: Mapping[str, object]
    answers: Mapping[str, Sequence[int]]
    photos: tuple[Path, ...] = ()


def build_segments(record: Mapping[str, object], photos: Sequence[Path],
                   families: Mapping[str, FamilyOptions], orders: Orders, *,
                   with_responses: bool, examples: Sequence[Example] = (),
                   shot_photos: bool = False, retry: bool = False) -> tuple[Segment, ...]:
    """The request's segments for the families in ``orders`` (question order kept)."""
    n_photos = len(photos)
    shown = f"{n_photos} photo{'s' if n_photos != 1 else ''}" if n_photos else "no photo"
    asked = list(orders)
    first = [INSTRUCTIONS.format(photos=shown, example=format_example(asked),
                                 who=" (the patient's and the clinicians')" if with_responses
                                 else "")]
    segments = []
    if examples:
        first.append(EXAMPLES_WITH_PHOTOS if shot_photos else EXAMPLES_TEXT_ONLY)
    segments.append(Segment((), "\n\n".join(first)))
    for number, example in enumerate(examples, 1):
        segments.append(Segment(
            example.photos if shot_photos else (),
            f"Example {number}\n{patient_text(example.record, with_responses=with_responses)}\n"
            f"Answer: {render_answer(example.answers, orders)}"))
    last = ["The patient's message:\n" + patient_text(record, with_responses=with_responses)]
    if retry:
        last.append(RETRY_NOTE)
    last.append("Questions:\n" + "\n".join(render_question(families[p], orders[p])
                                           for p in asked))
    segments.append(Segment(tuple(photos), "\n\n".join(last)))
    return tuple(segments)


def build_request(encounter_id: str, record: Mapping[str, object], photos: Sequence[Path],
                  families: Mapping[str, FamilyOptions], parents: Sequence[str], *, vote: int,
                  attempt: int, seed: int, with_responses: bool,
                  examples: Sequence[Example] = (), shot_photos: bool = False) -> Request:
    """One request about ``parents`` (in the challenge's family order) for one vote."""
    asked = tuple(p.id for p in PARENTS if p.id in set(parents))
    orders = {p: option_order(PARENT_BY_ID[p], seed=seed, encounter_id=encounter_id, vote=vote)
              for p in asked}
    segments = build_segments(record, photos, families, orders, with_responses=with_responses,
                              examples=examples, shot_photos=shot_photos, retry=attempt > 0)
    return Request(encounter_id, vote, attempt, asked, orders, segments)
