"""The one place for the exact text sent to a vision-language model, and its option orders.

A request shows the encounter's photos, the patient's query (English title and content, HTML
stripped; the clinicians' responses with ``with_responses``), optional worked examples (other
encounters' text with their gold answers, written exactly as the model must answer), then the
question families with their options as numbered lists in the *shown* order, and asks for one
JSON object ``{"CQID010": [2], "CQID011": [1, 4], ...}`` of option numbers.

Vote 0 shows the options in the definitions file's order; every further vote shuffles the real
options of every family by a permutation seeded by (seed, encounter, vote, family). "Not
mentioned" always stays last: it means "none applies", not one answer among others. Retries of a
vote keep its order and ask only the families whose answer could not be read.

>>> from magic_submit.challenge import PARENT_BY_ID
>>> option_order(PARENT_BY_ID["CQID025"], seed=0, encounter_id="ENC1", vote=0)
(0, 1, 2)
>>> order = option_order(PARENT_BY_ID["CQID034"], seed=0, encounter_id="ENC1", vote=1)
>>> sorted(order) == list(range(12)) and order[-1] == 11
True
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from baselines.vqa.data import FamilyOptions
from baselines.vqa.decoding import answer_set, real_answers
from magic_submit.challenge import PARENT_BY_ID, PARENTS, Parent
from magic_submit.text import query_texts, response_texts

Orders = dict[str, tuple[int, ...]]  # parent id -> definitions' indices in shown order

INSTRUCTIONS = """\
You are a dermatologist. A patient sent {photos} of a skin problem and the message below. \
Fill in the questionnaire that follows it.

How to answer:
- Use what the photos show and what is written{who}.
- Answer "Not mentioned" when the information is neither visible in the photos nor stated in \
the text. Onset, itching and texture are often not stated: do not guess them from the photos.
- A question that says "choose up to N" may take several options, at most N; most patients \
need one or two. Choose "Not mentioned" there only if no other option applies.
- Give each option by its number in the list under its question.
- Reply with one JSON object and nothing else: the question ids as keys, each with the list of \
chosen option numbers, for example {example}."""
RETRY_NOTE = ("Your previous reply could not be read for the questions below. Answer them again, "
              "as one JSON object and nothing else.")
EXAMPLES_HEADER = ("Worked examples (other patients, text only, with the answers the annotators "
                   "gave):")


@dataclass(frozen=True)
class Request:
    """One model request: what is asked about which encounter, and the exact text."""

    encounter_id: str
    vote: int
    attempt: int
    parents: tuple[str, ...]  # the families asked, in question order
    orders: Orders  # for every asked family: shown position -> definitions' index
    text: str
    photos: tuple[Path, ...]  # at most max_images, in image_ids order

    def prompt_hash(self, settings: str) -> str:
        """Hash of everything the model sees and how it is asked (``settings``: image size,
        temperature, token budget): a changed prompt is never answered from the store."""
        material = "\n".join([self.text, *(p.name for p in self.photos), settings])
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def option_order(parent: Parent, *, seed: int, encounter_id: str, vote: int) -> tuple[int, ...]:
    """Vote 0: the definitions' order. Later votes: the real options shuffled by a seeded
    permutation, "Not mentioned" (always the last option) kept last."""
    if vote == 0:
        return tuple(range(parent.n_options))
    real = list(range(parent.nm_index))
    random.Random(f"{seed}/{encounter_id}/{vote}/{parent.id}").shuffle(real)
    return (*real, parent.nm_index)


def slot_phrase(parent: Parent) -> str:
    if not parent.multi_slot:
        return "Choose one."
    return (f"Choose up to {parent.slots}; answer \"Not mentioned\" only if none of the others "
            "applies.")


def render_question(family: FamilyOptions, order: Sequence[int]) -> str:
    """``CQID011: Where is the affected area? Choose up to 6; ...`` and the numbered options."""
    parent = PARENT_BY_ID[family.parent]
    lines = [f"{family.parent}: {family.question} {slot_phrase(parent)}"]
    lines += [f"  {number}. {family.options[index]}" for number, index in enumerate(order, 1)]
    return "\n".join(lines)


def render_answer(answers: Mapping[str, Sequence[int]], orders: Orders) -> str:
    """Answers (definitions' indices per family) as the model must write them: one JSON object
    of shown option numbers; a multi-slot family lists its real answers, or "Not mentioned"."""
    out: dict[str, list[int]] = {}
    for parent_id, order in orders.items():
        parent = PARENT_BY_ID[parent_id]
        values = answer_set(answers[parent_id], parent)
        shown = (real_answers(values, parent) or (parent.nm_index,)) if parent.multi_slot \
            else values
        out[parent_id] = [order.index(v) + 1 for v in shown]
    return json.dumps(out)


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
    """A worked example: another encounter's record and its gold answers per family."""

    record: Mapping[str, object]
    answers: Mapping[str, Sequence[int]]


def build_text(record: Mapping[str, object], n_photos: int, families: Mapping[str, FamilyOptions],
               orders: Orders, *, with_responses: bool, examples: Sequence[Example] = (),
               retry: bool = False) -> str:
    """The full request text for the families in ``orders`` (question order kept)."""
    photos = f"{n_photos} photo{'s' if n_photos != 1 else ''}" if n_photos else "no photo"
    asked = list(orders)
    sample = {p: [1] if not PARENT_BY_ID[p].multi_slot else [1, 2][: PARENT_BY_ID[p].slots]
              for p in asked[:2]}
    parts = [INSTRUCTIONS.format(photos=photos, example=json.dumps(sample),
                                 who=" by the patient and the clinicians" if with_responses
                                 else " by the patient")]
    if examples:
        parts.append(EXAMPLES_HEADER)
        for number, example in enumerate(examples, 1):
            parts.append(f"Example {number}\n"
                         f"{patient_text(example.record, with_responses=with_responses)}\n"
                         f"Answer: {render_answer(example.answers, orders)}")
    parts.append("The patient's message:\n" + patient_text(record, with_responses=with_responses))
    if retry:
        parts.append(RETRY_NOTE)
    parts.append("Questions:\n" + "\n".join(render_question(families[p], orders[p])
                                            for p in asked))
    return "\n\n".join(parts)


def build_request(encounter_id: str, record: Mapping[str, object], photos: Sequence[Path],
                  families: Mapping[str, FamilyOptions], parents: Sequence[str], *, vote: int,
                  attempt: int, seed: int, with_responses: bool,
                  examples: Sequence[Example] = ()) -> Request:
    """One request about ``parents`` (in the challenge's family order) for one vote."""
    asked = tuple(p.id for p in PARENTS if p.id in set(parents))
    orders = {p: option_order(PARENT_BY_ID[p], seed=seed, encounter_id=encounter_id, vote=vote)
              for p in asked}
    text = build_text(record, len(photos), families, orders, with_responses=with_responses,
                      examples=examples, retry=attempt > 0)
    return Request(encounter_id, vote, attempt, asked, orders, text, tuple(photos))
