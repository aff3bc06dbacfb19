"""A model's reply -> option indices of the definitions file, per family, or why it is invalid.

The reply must hold one JSON object, bare or in a Markdown fence (a ``<think>`` block before it
is ignored). Each asked family's value is an option or a list of options; an option is its
number in the list as shown (1-based, an int or a string of digits) or its exact text (case and
surrounding spaces aside). Numbers map back through the request's shown order, so a shuffled
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
>>> parse_reply("I cannot tell.", orders, options)["CQID025"].problem
'no JSON object in the reply'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from magic_submit.challenge import PARENT_BY_ID

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class FamilyParse:
    """One family's answer as definitions' indices (real answers first), or the problem."""

    answer: tuple[int, ...] | None
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.answer is not None


def extract_object(text: str) -> dict | None:
    """The first JSON object in a fence, else the whole text, else from the first ``{`` to
    the last ``}``; None when none of these is a JSON object."""
    text = _THINK.sub("", text)
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
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


def _option_index(item: object, order: Sequence[int], options: Sequence[str]) -> int | None:
    """Definitions' index of one given option (shown number or exact text), else None."""
    if isinstance(item, str) and _DIGITS.match(item.strip()):
        item = int(item.strip())
    if isinstance(item, int) and not isinstance(item, bool):
        return order[item - 1] if 1 <= item <= len(order) else None
    if isinstance(item, str):
        wanted = item.strip().casefold()
        matches = [i for i, text in enumerate(options) if text.strip().casefold() == wanted]
        return matches[0] if matches else None
    return None


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
