"""A model's reply -> option indices of the definitions file, per family, or why it is invalid.

The reply must hold one JSON object, bare or in a Markdown fence (a ``<think>`` block before it
is ignored). Each asked family's value is an option or a list of options; an option is its
number in the list as shown (1-based: ``2``, ``2.0``, ``"2"``, ``"(2)"``, ``"2. limited area"``
when the text, if any, names the same option) or its exact text (case and surrounding spaces
aside). Every step is linear in the reply's length (no backtracking pattern runs over the
reply; an option longer than 200 characters is no option). Numbers map back through the request's shown order, so a shuffled
vote gives indices of the definitions file. Validity per family: a single-slot family takes
exactly one option; a multi-slot family one to ``slots`` real options ("Not mentioned" beside
real ones is dropped) or "Not mentioned" alone. Anything else is invalid, never an exception.

>>> orders = {"CQID025": (1, 0, 2), "CQID011": tuple(range(8))}
>>> options = {"CQID025": ("yes", "no", "Not mentioned"),
...            "CQID011": ("head", "neck", "upper", "lower", "chest", "back", "other",
...                        "Not mentioned")}
>>> parsed = parse_reply('```json\\n{"CQID025": [1], "CQID011": ["Neck", 3]}\\n```', orders, options)
>>> parsed["CQID025"].answer, parsed["CQID011"].answer
((1,), (1, 2))
>>> parse_reply('{"CQID025": "(2)", "CQID011": "2. neck"}', orders, options)["CQID011"].answer
(1,)
>>> parse_reply("I cannot tell.", orders, options)["CQID025"].problem
'no JSON object in the reply'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from magic_submit.challenge import PARENT_BY_ID

THINK_OPEN, THINK_CLOSE, FENCE = "<think>", "</think>", "```"
MAX_ITEM_CHARS = 200  # a longer option is no option: refused before any pattern is tried
# "2", "(2)", "2.0", "2.", "2)", "2. limited area", "2 - limited area": a number, maybe a text
_NUMBERED = re.compile(r"(?:\((\d{1,3})\)|(\d{1,3})(?:\.0+)?)(?:\s*[.):-]?\s+(\S.*)|\s*[.)])?")


@dataclass(frozen=True)
class FamilyParse:
    """One family's answer as definitions' indices (real answers first), or the problem."""

    answer: tuple[int, ...] | None
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.answer is not None


def without_thinking(text: str) -> str:
    """``text`` after its last ``</think>`` (a reasoning block, closed), else before an
    unclosed ``<think>``: linear in the length of the text."""
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        return text[close + len(THINK_CLOSE):]
    opened = text.find(THINK_OPEN)
    return text[:opened] if opened >= 0 else text


def fenced_blocks(text: str) -> list[str]:
    """The contents of the Markdown fences (```json ... ```) of ``text``, in order; one pass."""
    blocks, position = [], 0
    while True:
        start = text.find(FENCE, position)
        if start < 0:
            return blocks
        end = text.find(FENCE, start + len(FENCE))
        if end < 0:
            return blocks
        body = text[start + len(FENCE):end]
        newline = body.find("\n")
        if newline >= 0 and body[:newline].strip().isalnum():  # the language tag
            body = body[newline + 1:]
        blocks.append(body)
        position = end + len(FENCE)


def extract_object(text: str) -> dict | None:
    """The first JSON object in a fence, else the whole text, else from the first ``{`` to
    the last ``}``; None when none of these is a JSON object. Linear in the text's length:
    each candidate is parsed once and the candidates do not overlap beyond the last two."""
    text = without_thinking(text)
    candidates = fenced_blocks(text) + [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate.strip())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _matching(options: Sequence[str], wanted: str) -> int | None:
    wanted = wanted.strip().casefold()
    return next((i for i, text in enumerate(options) if text.strip().casefold() == wanted), None)


def _option_index(item: object, order: Sequence[int], options: Sequence[str]) -> int | None:
    """Definitions' index of one given option (its shown number, alone or with the option's
    text, or its exact text), else None."""
    if isinstance(item, float) and item.is_integer():
        item = int(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return order[item - 1] if 1 <= item <= len(order) else None
    if not isinstance(item, str) or len(item) > MAX_ITEM_CHARS:
        return None
    by_text = _matching(options, item)
    if by_text is not None:
        return by_text
    numbered = _NUMBERED.fullmatch(item.strip())
    if numbered is None:
        return None
    number, text = int(numbered.group(1) or numbered.group(2)), numbered.group(3)
    if not 1 <= number <= len(order):
        return None
    index = order[number - 1]
    named = _matching(options, text) if text else None
    return index if named is None or named == index else None  # a number and a text at odds


def parse_family(value: object, parent_id: str, order: Sequence[int],
                 options: Sequence[str]) -> FamilyParse:
    """One family's JSON value checked against its slots (see the module doc)."""
    parent = PARENT_BY_ID[parent_id]
    items = value if isinstance(value, list) else [value]
    indices: list[int] = []
    for item in items:
        index = _option_index(item, order, options)
        if index is None:
            shown = repr(item) if len(repr(item)) <= 60 else repr(item)[:57] + "..."
            return FamilyParse(None, f"{shown} is neither an option number nor an option's text")
        if index not in indices:
            indices.append(index)
    if not indices:
        return FamilyParse(None, "no option given")
    if not parent.multi_slot:
        if len(indices) > 1:
            return FamilyParse(None, f"{len(indices)} options for a one-answer question")
        return FamilyParse(tuple(indices))
    real = [i for i in indices if i != parent.nm_index]
    if len(real) > parent.slots:
        return FamilyParse(None, f"{len(real)} options, at most {parent.slots} allowed")
    return FamilyParse(tuple(real) or (parent.nm_index,))


def parse_reply(text: str, orders: Mapping[str, Sequence[int]],
                options: Mapping[str, Sequence[str]]) -> dict[str, FamilyParse]:
    """Every family of ``orders`` (those asked) parsed from ``text``; never raises."""
    found = extract_object(text if isinstance(text, str) else "")
    if found is None:
        return {p: FamilyParse(None, "no JSON object in the reply") for p in orders}
    by_key = {str(k).strip().upper(): v for k, v in found.items()}
    out: dict[str, FamilyParse] = {}
    for parent_id, order in orders.items():
        if parent_id not in by_key:
            out[parent_id] = FamilyParse(None, "missing from the reply")
        else:
            out[parent_id] = parse_family(by_key[parent_id], parent_id, order, options[parent_id])
    return out
