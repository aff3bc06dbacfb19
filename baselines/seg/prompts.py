"""The text prompt of an encounter: query title and content, then the clinicians' responses.

HTML tags are dropped, entities decoded and whitespace collapsed; CLIP's tokenizer then keeps
77 positions (start token, 75 text tokens, end token) and cuts the rest, so with
``query+responses`` the later responses are often cut.

>>> record = {"query_title_en": "Is this <b>eczema</b>?", "query_content_en": "Itchy&nbsp;patch.<BR>",
...           "responses": [{"content_en": "Looks like\\n psoriasis."}]}
>>> build_prompt(record)
'Is this eczema? Itchy patch. Looks like psoriasis.'
>>> build_prompt(record, "query")
'Is this eczema? Itchy patch.'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from magic_submit.text import query_texts, response_texts

PROMPT_CHOICES: tuple[str, ...] = ("query+responses", "query", "title", "responses")
DEFAULT_PROMPT = "query+responses"


def build_prompt(record: Mapping[str, Any], mode: str = DEFAULT_PROMPT, lang: str = "en") -> str:
    """The prompt of one encounter record (a ``{split}.json`` entry) for ``mode`` in PROMPT_CHOICES."""
    if mode not in PROMPT_CHOICES:
        raise ValueError(f"unknown prompt mode {mode!r}; choose from {', '.join(PROMPT_CHOICES)}")
    query = query_texts(record, lang)
    parts = {"title": query[:1], "query": query, "responses": response_texts(record, lang),
             "query+responses": [*query, *response_texts(record, lang)]}[mode]
    # An encounter without any text gives '' (the tokenizer still adds start and end tokens).
    return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class TokenizedPrompts:
    """Token ids and attention masks (``[n, max_length]``) and which prompts were cut."""

    input_ids: Any
    attention_mask: Any
    truncated: tuple[bool, ...]

    @property
    def n_truncated(self) -> int:
        return sum(self.truncated)


def tokenize_prompts(tokenizer: Any, prompts: Sequence[str], max_length: int = 77) -> TokenizedPrompts:
    """Pad to ``max_length`` and cut longer prompts (CLIP's text encoder has 77 positions)."""
    encoded = tokenizer(list(prompts), padding="max_length", truncation=True, max_length=max_length,
                        return_tensors="pt")
    full_lengths = [len(ids) for ids in tokenizer(list(prompts), verbose=False)["input_ids"]]
    return TokenizedPrompts(encoded["input_ids"], encoded["attention_mask"],
                            tuple(n > max_length for n in full_lengths))
