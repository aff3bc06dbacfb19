"""Answers in the schema: the JSON schema of a request's reply (``--method api``'s
``response_format``) and, for ``--method vlm``, a cheap constraint on generation.

The schema has one required key per asked family: a one-answer family takes one of its shown
option numbers (an integer enum), a multi-slot family a list of 1 to ``choosable`` of them; no
other key. vLLM's guided decoding and OpenAI's structured outputs generate only replies of that
form.

transformers has no JSON-schema decoding of its own, so ``--method vlm`` constrains the
vocabulary instead (:func:`answer_token_mask`): only tokens made of the characters such a reply
needs (braces, brackets, quotes, commas, colons, spaces, digits and the letters of "CQID"), and
the end of the text. The model can then write neither prose nor a ``<think>`` block; the parser
still checks the structure.

>>> schema = answer_schema({"CQID025": (1, 0, 2), "CQID011": tuple(range(8))})
>>> schema["properties"]["CQID025"]
{'type': 'integer', 'enum': [1, 2, 3]}
>>> schema["properties"]["CQID011"]["maxItems"], schema["required"]
(6, ['CQID025', 'CQID011'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from magic_submit.challenge import PARENT_BY_ID, Parent

SCHEMA_NAME = "cvqa_answers"
ANSWER_CHARACTERS = frozenset('{}[]",: \n0123456789CQID')


def choosable(parent: Parent) -> int:
    """How many options a multi-slot family's answer can hold: its slots, or its real options
    when there are fewer (CQID012: 6 slots, 3 sizes)."""
    return min(parent.slots, parent.nm_index)


def answer_schema(orders: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """The JSON schema of a reply to a request asking the families of ``orders``."""
    properties: dict[str, Any] = {}
    for parent_id, order in orders.items():
        numbers = {"type": "integer", "enum": list(range(1, len(order) + 1))}
        parent = PARENT_BY_ID[parent_id]
        properties[parent_id] = numbers if not parent.multi_slot else {
            "type": "array", "items": numbers, "minItems": 1, "maxItems": choosable(parent)}
    return {"type": "object", "properties": properties, "required": list(orders),
            "additionalProperties": False}


def response_format(orders: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """The chat-completions ``response_format`` asking for :func:`answer_schema`."""
    return {"type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": answer_schema(orders)}}


def answer_token_mask(pieces: Sequence[str], ends: Iterable[int], size: int) -> list[bool]:
    """Per token id below ``size``: may it be generated? ``pieces[i]`` is token i decoded;
    ``ends`` the end-of-text ids (always allowed).

    >>> answer_token_mask(['{"', "CQ", "ID", "010", "hello", "", " ]"], [5], 8)
    [True, True, True, True, False, True, True, False]
    """
    allowed = [bool(p) and set(p) <= ANSWER_CHARACTERS for p in pieces[:size]]
    allowed += [False] * (size - len(allowed))
    for end in ends:
        if 0 <= end < size:
            allowed[end] = True
    return allowed


class AllowedTokens:
    """A transformers logits processor: every token outside ``mask`` gets -inf."""

    def __init__(self, mask: Any) -> None:
        self.banned = ~mask  # a bool tensor over the vocabulary

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        width = scores.shape[-1]
        banned = self.banned[:width].to(scores.device)
        if banned.shape[0] < width:  # ids past the tokenizer's vocabulary: never generated
            import torch

            banned = torch.cat([banned, banned.new_ones(width - banned.shape[0])])
        return scores.masked_fill(banned, float("-inf"))


def allowed_tokens(tokenizer: Any, ends: Iterable[int]) -> AllowedTokens:
    """The processor of :func:`answer_token_mask` for ``tokenizer`` (decodes the vocabulary
    once: a second or two for a 150k-token vocabulary)."""
    import torch

    size = len(tokenizer)
    pieces = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False)
    return AllowedTokens(torch.tensor(answer_token_mask(pieces, ends, size)))
