"""The organisers' closed-question definitions file, read and checked against the package's table.

``closedquestions_definitions_imageclef2025.json`` is a list of 27 objects with ``qid``,
``question_en``, ``options_en`` (and Chinese fields). The package knows the structure itself
(:mod:`magic_submit.challenge`); a file is accepted when it agrees on qids and option counts and
keeps "Not mentioned" last. Option *order* comes from the file: predictions are indices into it.

>>> from pathlib import Path
>>> defs = load_definitions(Path("sample_data") / "closedquestions_definitions_imageclef2025.json")
>>> defs.options("CQID025-001")
('yes', 'no', 'Not mentioned')
>>> defs.question("CQID010-001")
'How much of the body is affected?'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magic_submit.challenge import QID_TO_PARENT, QIDS
from magic_submit.errors import MagicError
from magic_submit.jsonio import read_json

NOT_MENTIONED = "Not mentioned"


@dataclass(frozen=True)
class QuestionDefinition:
    qid: str
    question_en: str
    options_en: tuple[str, ...]
    question_type_en: str = ""


@dataclass(frozen=True)
class Definitions:
    """The 27 questions by qid, in the official qid order."""

    questions: dict[str, QuestionDefinition]
    source: str = "built-in"

    def options(self, qid: str) -> tuple[str, ...]:
        return self.questions[qid].options_en

    def question(self, qid: str) -> str:
        return self.questions[qid].question_en


def parse_definitions(data: Any, *, source: str) -> Definitions:
    """Check a loaded definitions list against the qid table; every disagreement is listed."""
    if not isinstance(data, list):
        raise MagicError("definitions file is not a list of questions", file=source)
    problems: list[str] = []
    questions: dict[str, QuestionDefinition] = {}
    for index, item in enumerate(data):
        qid = item.get("qid") if isinstance(item, dict) else None
        options = item.get("options_en") if isinstance(item, dict) else None
        if qid not in QID_TO_PARENT:
            problems.append(f"entry {index}: unknown qid {qid!r}")
            continue
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            problems.append(f"{qid}: options_en is not a list of strings")
            continue
        parent = QID_TO_PARENT[qid]
        if len(options) != parent.n_options:
            problems.append(f"{qid}: {len(options)} options, expected {parent.n_options}")
        elif options[-1] != NOT_MENTIONED:
            problems.append(f"{qid}: the last option is {options[-1]!r}, not {NOT_MENTIONED!r}")
        questions[qid] = QuestionDefinition(qid, str(item.get("question_en", "")), tuple(options),
                                            str(item.get("question_type_en", "")))
    missing = [q for q in QIDS if q not in questions]
    if missing:
        problems.append(f"missing qids: {', '.join(missing)}")
    if problems:
        raise MagicError("definitions file disagrees with the challenge's 27 questions", file=source,
                         ids=problems, hint="use the organisers' "
                         "closedquestions_definitions_imageclef2025.json unchanged")
    return Definitions({q: questions[q] for q in QIDS}, source)


def load_definitions(path: str | Path) -> Definitions:
    """Read and check an official definitions file."""
    return parse_definitions(read_json(path, what="definitions file"), source=str(path))
