"""Checks of ``data_cvqa_sys.json``: the file as ``json.load`` reads it, then every record and value.

Grouping follows the official scorer through :mod:`evaluation.cvqa` itself: a record's key is its
``encounter_id`` cut at the first ``-`` (:func:`~evaluation.cvqa.encounter_key`), only keys of 11
characters count (:func:`~magic_submit.challenge.is_scored_key`), records of one encounter merge
(:func:`~evaluation.cvqa.organize`) and an unanswered encounter or family is what
:func:`~evaluation.cvqa.find_missing` finds. Option counts are the package's table
(:mod:`magic_submit.challenge`), which any accepted definitions file agrees with.

Values are checked only where the scorer reads them: in the split's encounters (the gold
encounters), under the 9 scored families. Answers of an encounter outside the split are ignored
by the scorer, whatever they hold (one ``cvqa-extra-encounter`` warning says so).

>>> from magic_submit.dataset import Encounter
>>> from magic_submit.validation.targets import SplitTargets
>>> targets = SplitTargets.build([Encounter("ENC00908", ())], "split")
>>> record = {"encounter_id": "ENC00908", "CQID010-001": "2"}
>>> sorted({p.code for p in check_records([record], targets)[0]})
['cvqa-missing-parent', 'cvqa-value-type']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.cvqa import find_missing, not_a_list_effect, organize
from evaluation.facts import encounter_key
from magic_submit.challenge import (
    CVQA_SUBMISSION_FILE, ENCOUNTER_KEY, MULTI_SLOT_PARENTS, PARENT_BY_ID, PARENT_IDS,
    QID_TO_PARENT, QIDS, Parent, is_scored_key,
)
from magic_submit.files import MISSING, NotRegularFileError, describe, official_effect, open_regular
from magic_submit.jsonio import JsonFileError, parse_json_bytes
from magic_submit.validation.problems import Problem
from magic_submit.validation.targets import SplitTargets

JSON_CODES = {"json-bom": "cvqa-bom", "json-encoding": "cvqa-not-utf8", "json-empty": "cvqa-empty-file",
              "json-syntax": "cvqa-not-json"}
_LOOSE_QID = re.compile(r"^\s*cqid\s*0*(\d{1,3})\s*[-_ ]\s*0*(\d{1,3})\s*$", re.IGNORECASE)


def read_cvqa(path: Path | None, rel: str = CVQA_SUBMISSION_FILE, *,
              missing_hint: str | None = None) -> tuple[list | None, list[Problem]]:
    """The records of the CVQA file, or None with the problems that stop ``json.load``.

    ``missing_hint``: the fix to give when there is no file (default: the code's own).
    """
    if path is None:
        return None, [Problem.of("cvqa-missing", f"no {CVQA_SUBMISSION_FILE} at the root", file=rel,
                                 hint=missing_hint)]
    try:
        with open_regular(path) as handle:
            data = parse_json_bytes(handle.read(), file=rel, what="CVQA file")
    except JsonFileError as exc:
        return None, [Problem.of(JSON_CODES.get(exc.code or "", "cvqa-not-json"), exc.message,
                                 file=rel, hint=exc.hint)]
    except NotRegularFileError as exc:
        code = "cvqa-missing" if exc.kind == MISSING else "cvqa-not-file"
        return None, [Problem.of(code, f"{CVQA_SUBMISSION_FILE} is {describe(exc.kind)}: "
                                 f"{official_effect(exc.kind)}", file=rel)]
    except OSError as exc:
        return None, [Problem.of("cvqa-missing", f"cannot be read ({exc.strerror})", file=rel)]
    if not isinstance(data, list):
        return None, [Problem.of("cvqa-not-list", not_a_list_effect(data), file=rel)]
    return data, []


def suggest_qid(key: str) -> str | None:
    """The qid a loose key was meant to be (``cqid10-1`` -> ``CQID010-001``), if any."""
    match = _LOOSE_QID.match(key)
    if match:
        qid = f"CQID{int(match[1]):03d}-{int(match[2]):03d}"
        return qid if qid in QIDS else None
    return None


def value_problem(value: Any, qid: str, n_options: int, where: dict) -> tuple[Problem | None, bool]:
    """(the problem of one answer or None, whether the scorer crashes on it)."""
    nm = n_options - 1
    if isinstance(value, bool):
        return Problem.of("cvqa-value-type", f"{str(value).lower()} is a boolean, not an option "
                          "index (the scorer compares True == 1)", **where), False
    if isinstance(value, float):
        if not math.isfinite(value):
            return Problem.of("cvqa-value-type", f"{value} is not an option index", **where), False
        if not value.is_integer():
            return Problem.of("cvqa-value-type", f"{value} is not an int option index", **where), False
        as_int = int(value)
        if 0 <= as_int < n_options:
            return Problem.of("cvqa-value-float", f"{value} is a float; scored as {as_int}",
                              **where), False
        value = as_int
    if isinstance(value, int):
        if 0 <= value < n_options:
            return None, False
        message = f"{value} is out of range: {qid} has options 0..{nm} (NM = {nm})"
        hint = (f"indices are 0-based: NM of {qid} is {nm}, not {value}" if value == n_options
                else None)
        return Problem.of("cvqa-value-range", message, hint=hint, **where), False
    if isinstance(value, str):
        hint = f"write {value.strip()} without quotes" if value.strip().isdigit() else None
        return Problem.of("cvqa-value-type", f"{value!r} is a string, which never equals an int "
                          "answer", hint=hint, **where), False
    if value is None:
        return Problem.of("cvqa-value-type", "null is not an option index", **where), False
    crash = isinstance(value, (list, dict))
    message = f"{type(value).__name__} {value!r:.40}" + (" (unhashable: the scorer crashes)" if crash
                                                          else "")
    return Problem.of("cvqa-value-type", message, **where), crash


def _record_problems(index: int, record: Mapping, rel: str,
                     in_split: bool) -> tuple[list[Problem], bool]:
    """Problems of one record's keys and values; True when the scorer would crash on it.

    ``in_split``: the record answers an encounter of the split. Only there does the scorer read
    the values (an unhashable one crashes it); elsewhere only the keys matter.
    """
    raw_id = record[ENCOUNTER_KEY]
    enc = encounter_key(raw_id)
    problems: list[Problem] = []
    crash = False
    for key, value in record.items():
        if key == ENCOUNTER_KEY:
            continue
        where = {"file": rel, "encounter_id": enc, "qid": str(key)}
        if not is_scored_key(key):  # a key that is not a str (records built in memory) included
            meant = suggest_qid(str(key))
            problems.append(Problem.of("cvqa-ignored-key", f"record {index}: key {key!r} is not 11 "
                                       "characters long: the scorer ignores it",
                                       hint=f"did you mean {meant}?" if meant else None, **where))
            continue
        parent_id, *rest = key.split("-")
        if len(rest) != 1:
            problems.append(Problem.of("cvqa-malformed-key", f"record {index}: key {key!r} does not "
                                       "split into PARENT-SLOT at one '-'", **where))
            crash = True
            continue
        parent = PARENT_BY_ID.get(parent_id)
        if key not in QID_TO_PARENT:
            counted = (f"it still counts toward {parent_id}'s answers" if parent
                       else f"'{parent_id}' is not a scored family: ignored")
            problems.append(Problem.of("cvqa-unknown-qid", f"record {index}: {key} is not one of the "
                                       f"27 qids; {counted}", **where))
            if parent is None:
                continue
        if not in_split:  # never read by the scorer: cvqa-extra-encounter says it is ignored
            continue
        problem, crashes = value_problem(value, key, parent.n_options, where)
        crash = crash or crashes
        if problem is not None:
            problems.append(problem)
    return problems, crash


def _repeated_answer(parent: Parent, records: Sequence[Mapping]) -> tuple[str, str] | None:
    """(message, fix) when every slot of a multi-slot family is written with ints, one real
    answer repeated and no NM: the scorer reads a set, which then lacks the gold's NM padding."""
    values = [r[q] for r in records for q in parent.qids if q in r]
    if (len({q for r in records for q in parent.qids if q in r}) < parent.slots
            or any(type(v) is not int for v in values) or parent.nm_index in values
            or len(set(values)) == len(values)):
        return None
    answers = list(dict.fromkeys(values))
    shown = "{" + ", ".join(map(str, sorted(answers))) + "}"
    return (f"{parent.id}: {values} repeats an answer instead of padding with NM "
            f"({parent.nm_index}): the scorer reads the set {shown}; the gold pads its free slots "
            f"with NM, so against the same answers it scores {len(answers)}/{len(answers) + 1}",
            f"write each real answer once, then NM in the free slots: {parent.padded(answers)}")


def _family_problems(enc: str, records: Sequence[Mapping], rel: str) -> list[Problem]:
    """Unpadded multi-slot families and NM before a real answer, for one encounter's records."""
    problems: list[Problem] = []
    keys = {k for r in records for k in r}
    for parent in MULTI_SLOT_PARENTS:
        nm = parent.nm_index
        present = [q for q in parent.qids if q in keys]
        if 0 < len(present) < parent.slots:
            absent = [q for q in parent.qids if q not in keys]
            has_nm = any(type(r.get(q)) is int and r[q] == nm for r in records for q in present)
            effect = ("NM is already among the answers, so the set is unchanged" if has_nm else
                      f"gold pads with NM = {nm}, which this set lacks")
            problems.append(Problem.of(
                "cvqa-unpadded", f"{parent.id}: {len(present)} of {parent.slots} slots written "
                f"(absent: {', '.join(absent)}); {effect}", file=rel, encounter_id=enc,
                qid=absent[0]))
        repeated = _repeated_answer(parent, records)
        if repeated is not None:
            problems.append(Problem.of("cvqa-repeated-answer", repeated[0], file=rel,
                                       encounter_id=enc, qid=parent.qids[0], hint=repeated[1]))
        for record in records:
            values = [record[q] for q in parent.qids if q in record]
            seen_nm = False
            for qid, value in ((q, record[q]) for q in parent.qids if q in record):
                if type(value) is int and value == nm:
                    seen_nm = True
                elif seen_nm and type(value) is int:
                    problems.append(Problem.of(
                        "cvqa-nm-before-answer", f"{parent.id}: {values} has NM ({nm}) before the "
                        f"answer {value} at {qid}", file=rel, encounter_id=enc, qid=qid))
                    break
    return problems


def check_records(records: Sequence[Any], targets: SplitTargets,
                  rel: str = CVQA_SUBMISSION_FILE) -> tuple[list[Problem], int]:
    """(every problem of the loaded records, number of split encounters answered)."""
    if not records:
        return [Problem.of("cvqa-absent", "the list is empty", file=rel)], 0
    problems: list[Problem] = []
    usable: list[int] = []  # indices of the records the scorer reads without crashing
    by_encounter: dict[str, list[int]] = {}
    split_ids = set(targets.encounter_ids)
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            problems.append(Problem.of("cvqa-record-not-object", f"record {index} is a JSON "
                                       f"{type(record).__name__}", file=rel))
            continue
        if ENCOUNTER_KEY not in record:
            keys = ", ".join(map(str, list(record)[:3]))
            problems.append(Problem.of("cvqa-no-encounter-id", f"record {index} has no "
                                       f"'encounter_id' (keys: {keys or 'none'})", file=rel))
            continue
        raw_id = record[ENCOUNTER_KEY]
        if not isinstance(raw_id, str):
            problems.append(Problem.of("cvqa-encounter-id-type", f"record {index}: encounter_id "
                                       f"{raw_id!r} is a {type(raw_id).__name__}", file=rel,
                                       encounter_id=str(raw_id)))
            continue
        enc = encounter_key(raw_id)
        by_encounter.setdefault(enc, []).append(index)
        if enc != raw_id:
            problems.append(Problem.of("cvqa-encounter-suffix", f"record {index}: '{raw_id}' is read "
                                       f"as '{enc}'", file=rel, encounter_id=enc))
        found, crash = _record_problems(index, record, rel, enc in split_ids)
        problems.extend(found)
        if not crash:
            usable.append(index)
    # The usable records are those organize() reads: _record_problems flags every one it refuses.
    grouped = organize([records[i] for i in usable], source=rel)
    expected = {enc: dict.fromkeys(PARENT_IDS) for enc in targets.encounter_ids}
    for missing in find_missing(expected, grouped):
        enc, _, parent = missing.partition("/")
        if enc not in grouped and enc in by_encounter:
            continue  # its only records crash the scorer: reported above
        if parent:
            problems.append(Problem.of("cvqa-missing-parent", f"{enc} has no answer for {parent} "
                                       f"({PARENT_BY_ID[parent].type_en})", file=rel,
                                       encounter_id=enc, qid=PARENT_BY_ID[parent].qids[0]))
        else:
            problems.append(Problem.of("cvqa-missing-encounter", f"no record for {enc}", file=rel,
                                       encounter_id=enc))
    for enc, indices in by_encounter.items():
        if enc not in split_ids:
            problems.append(Problem.of("cvqa-extra-encounter", f"{enc} is not in the split",
                                       file=rel, encounter_id=enc))
        if len(indices) > 1:
            problems.append(Problem.of("cvqa-duplicate-encounter", f"records {indices} all answer "
                                       f"{enc}; their answers merge into one set per family",
                                       file=rel, encounter_id=enc))
    readable = set(usable)
    for enc in (e for e in grouped if e in split_ids):  # families elsewhere are never scored
        own = [records[i] for i in by_encounter[enc] if i in readable]
        problems.extend(_family_problems(enc, own, rel))
    return problems, len(split_ids & set(grouped))
