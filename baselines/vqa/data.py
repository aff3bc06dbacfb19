"""Encounters, gold answers and the definitions file, read once and aligned for the CVQA baselines.

Alignment rules, each kept here once:

* an answer is an index into the definitions file's ``options_en`` of its qid, exactly as given
  (a permuted definitions file with its gold permuted the same way permutes every prediction);
* every slot of a multi-slot family must list the same options (the family is scored as one set);
* training uses the encounters that have gold (the real ``train.json`` lists 842 encounters,
  ``train_cvqa.json`` answers 300 of them); a gold record without a query is an error;
* text is the English query title and content (optionally the responses), HTML stripped.

>>> family_question("1 Where is the affected area?")
'Where is the affected area?'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magic_submit import challenge as ch
from magic_submit.dataset import DatasetLayout, Encounter, load_encounters
from magic_submit.definitions import Definitions, load_definitions
from magic_submit.errors import MagicError
from magic_submit.jsonio import read_json
from magic_submit.text import query_texts, response_texts

Answers = dict[str, int]  # qid -> option index, all 27 qids
FamilyAnswers = dict[str, tuple[int, ...]]  # parent id -> answers in slot order (1 value if single)

_SLOT_NUMBER = re.compile(r"^\s*\d+\s+")


def encounter_text(record: Mapping[str, Any], *, with_responses: bool = False) -> str:
    """The English query title and content (and the responses' English content) as one text."""
    parts = query_texts(record) + (response_texts(record) if with_responses else [])
    return " ".join(p for p in parts if p)


def family_question(question_en: str) -> str:
    """A multi-slot family's question without its slot number ("1 Where ..." -> "Where ...")."""
    return _SLOT_NUMBER.sub("", question_en).strip()


@dataclass(frozen=True)
class FamilyOptions:
    """A family's question and options as the definitions file gives them."""

    parent: str
    question: str
    options: tuple[str, ...]


def family_options(definitions: Definitions) -> dict[str, FamilyOptions]:
    """Question and options per parent; every slot of a family must list the same options."""
    families: dict[str, FamilyOptions] = {}
    for parent in ch.PARENTS:
        first = parent.qids[0]
        differing = [q for q in parent.qids if definitions.options(q) != definitions.options(first)]
        if differing:
            raise MagicError(f"{parent.id}: slots list options in different orders", ids=differing,
                             file=definitions.source, hint="give every slot of a family the same "
                             "options_en, as the organisers' file does")
        families[parent.id] = FamilyOptions(parent.id, family_question(definitions.question(first)),
                                            definitions.options(first))
    return families


def parse_gold(data: Any, *, source: str | Path) -> dict[str, Answers]:
    """Gold answers by encounter id: every record holds all 27 qids as in-range ints."""
    if not isinstance(data, list):
        raise MagicError("gold CVQA file is not a list of records", file=source)
    gold: dict[str, Answers] = {}
    for index, record in enumerate(data):
        enc = record.get(ch.ENCOUNTER_KEY) if isinstance(record, Mapping) else None
        if not isinstance(enc, str):
            raise MagicError(f"gold record {index} has no string 'encounter_id'", file=source)
        bad = [q for q in ch.QIDS if type(record.get(q)) is not int
               or not 0 <= record[q] < ch.n_options(q)]
        if bad:
            raise MagicError(f"gold {enc}: missing, non-int or out-of-range answers", file=source,
                             ids=[f"{q}={record.get(q)!r}" for q in bad])
        if enc in gold:
            raise MagicError(f"gold {enc} appears twice", file=source, ids=[enc])
        gold[enc] = {q: record[q] for q in ch.QIDS}
    return gold


def family_answers(answers: Mapping[str, int]) -> FamilyAnswers:
    """Group one encounter's 27 answers by family, in slot order."""
    return {p.id: tuple(answers[q] for q in p.qids) for p in ch.PARENTS}


@dataclass(frozen=True)
class SplitData:
    """One split: encounters (with gold when the split has it) and their texts."""

    split: str
    encounters: tuple[Encounter, ...]
    gold: dict[str, Answers] | None
    queries_file: Path
    gold_file: Path | None

    @property
    def encounter_ids(self) -> list[str]:
        return [e.encounter_id for e in self.encounters]

    def texts(self, *, with_responses: bool = False) -> list[str]:
        return [encounter_text(e.record, with_responses=with_responses) for e in self.encounters]

    def gold_records(self) -> list[dict[str, Any]]:
        """The gold in the official file shape (for :func:`evaluation.cvqa.score_cvqa`)."""
        if self.gold is None:
            raise MagicError(f"split '{self.split}' has no gold answers")
        return [{ch.ENCOUNTER_KEY: e, **self.gold[e]} for e in self.encounter_ids]


def load_split(layout: DatasetLayout, split: str, *, gold: str = "optional") -> SplitData:
    """Read a split; ``gold``: "required" (keep only answered encounters), "optional" or "ignore".

    With gold, the split's encounters are those the gold answers (in query-file order); a gold
    encounter that the query file lacks is an error.
    """
    queries = layout.require_queries(split)
    encounters = load_encounters(queries)
    gold_file = layout.find_cvqa(split) if gold != "ignore" else None
    if gold == "required" and gold_file is None:
        gold_file = layout.require_cvqa(split)
    if gold_file is None:
        return SplitData(split, tuple(encounters), None, queries, None)
    answers = parse_gold(read_json(gold_file, what="gold CVQA file"), source=gold_file)
    known = {e.encounter_id for e in encounters}
    orphans = [enc for enc in answers if enc not in known]
    if orphans:
        raise MagicError(f"{len(orphans)} gold encounter(s) are not in {queries.name}", ids=orphans,
                         file=gold_file, hint="use the query file and gold file of the same split")
    kept = tuple(e for e in encounters if e.encounter_id in answers)
    return SplitData(split, kept, answers, queries, gold_file)


def load_family_options(layout: DatasetLayout, required: bool) -> dict[str, FamilyOptions] | None:
    """The dataset's definitions, checked; None when absent and not ``required``."""
    path = layout.find_definitions()
    if path is None:
        if not required:
            return None
        raise MagicError(f"no {ch.DEFINITIONS_FILE} found", file=layout.root,
                         hint="put the organisers' definitions file at the dataset root")
    return family_options(load_definitions(path))

