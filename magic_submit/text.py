"""Encounter text as the baselines read it: HTML stripped, entities decoded, whitespace collapsed.

One place for the rule, shared by the CLIPSeg prompt and the CVQA text models.

>>> clean_text("Itchy<br>red &nbsp;<b>spots</b> on my fore<i>arm</i>  ")
'Itchy red spots on my forearm'
>>> record = {"query_title_en": "Rash?", "query_content_en": "<p>Itchy.</p>",
...           "responses": [{"content_en": "Eczema."}, "not a response"]}
>>> query_texts(record), response_texts(record)
(['Rash?', 'Itchy.'], ['Eczema.'])
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

# Block tags separate words; inline ones (<b>, <span>, ...) sit inside them.
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|td|th|h[1-6]|blockquote|hr)\b[^>]*>",
                        re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")  # Unicode whitespace, the non-breaking space of &nbsp; included


def clean_text(text: object) -> str:
    """Text without HTML tags or entities, whitespace collapsed; non-strings give ``''``."""
    if not isinstance(text, str):  # a missing or null field contributes nothing
        return ""
    without_tags = _TAG.sub("", _BLOCK_TAG.sub(" ", text))
    return _SPACE.sub(" ", html.unescape(without_tags)).strip()


def query_texts(record: Mapping[str, Any], lang: str = "en") -> list[str]:
    """The cleaned query title and content of an encounter record (``{split}.json`` entry)."""
    return [clean_text(record.get(f"query_title_{lang}")),
            clean_text(record.get(f"query_content_{lang}"))]


def response_texts(record: Mapping[str, Any], lang: str = "en") -> list[str]:
    """The cleaned clinician responses, in order; test encounters may have none."""
    responses = record.get("responses")
    if not isinstance(responses, list):
        return []
    return [clean_text(r.get(f"content_{lang}")) for r in responses if isinstance(r, Mapping)]
