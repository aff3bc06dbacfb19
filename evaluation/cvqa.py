"""CVQA metric of the official scorer (``score_cvqa.py``) as pure functions over loaded records.

Rules, each kept here once:

* records are grouped by ``encounter_id`` cut at its first ``-``; records that share an encounter
  merge into one list per parent;
* only keys of exactly 11 characters other than ``encounter_id`` count; each is split at ``-``
  into parent and slot (a kept key without exactly one ``-`` crashes the official scorer);
* per (encounter, parent) the score is IoM = |set(gold) & set(sys)| / max(|set(gold)|, |set(sys)|);
  values compare by Python equality (``1 == 1.0 == True``, ``1 != "1"``), order and repeats ignored;
  ``set()`` is built only for gold encounters x the 9 scored parents, so an unhashable value (a
  list, an object) crashes the official scorer there and nowhere else;
* ``accuracy_<parent>``: the mean over gold encounters; ``accuracy_all``: the mean over every
  (encounter, parent) pair; ``number_cvqa_instances``: distinct raw gold ``encounter_id`` values.

>>> gold = [{"encounter_id": "ENC1", "CQID011-001": 2, "CQID011-002": 7}]
>>> iom([2, 7], [2])
0.5
>>> organize(gold)["ENC1"]["CQID011"]
[2, 7]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from evaluation.errors import MalformedRecordError, MissingAnswersError, ScoringError
from evaluation.facts import (
    CVQA_ACCURACY_KEYS, CVQA_COUNT_KEY, ENCOUNTER_KEY, PARENT_IDS, encounter_key, is_scored_key,
)

Grouped = dict[str, dict[str, list]]


def organize(records: Iterable[Mapping], *, source: str = "CVQA file") -> Grouped:
    """Group answers by encounter and parent, as the official ``organize_values``."""
    grouped: Grouped = {}
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise MalformedRecordError(f"record {index} is a {type(record).__name__}, not an object",
                                       source=source, hint="write one JSON object per encounter")
        if ENCOUNTER_KEY not in record:
            raise MalformedRecordError(f"record {index} has no 'encounter_id'", source=source,
                                       hint="add 'encounter_id' to every record")
        raw_id = record[ENCOUNTER_KEY]
        if not isinstance(raw_id, str):
            raise MalformedRecordError(f"record {index}: encounter_id {raw_id!r} is not a string",
                                       source=source, hint='write ids as strings, e.g. "ENC00908"')
        by_parent = grouped.setdefault(encounter_key(raw_id), {})
        for key, value in record.items():
            if not is_scored_key(key):
                continue
            pieces = key.split("-")
            if len(pieces) != 2:
                raise MalformedRecordError(
                    f"key {key!r} of {raw_id} has 11 characters but not the form PARENT-SLOT",
                    source=source, ids=[raw_id],
                    hint="use the qids of the definitions, e.g. CQID010-001")
            # Any value is kept, as officially: only the IoM of a scored pair needs it hashable.
            by_parent.setdefault(pieces[0], []).append(value)
    return grouped


def iom(gold: Sequence, system: Sequence) -> float:
    """|set(gold) & set(system)| / max(|set(gold)|, |set(system)|); two empty lists crash officially."""
    gold_set, sys_set = set(gold), set(system)
    return len(gold_set & sys_set) / max(len(gold_set), len(sys_set))


@dataclass(frozen=True)
class EncounterParentResult:
    encounter_id: str
    parent: str
    gold: tuple
    system: tuple
    iom: float
    missing: bool = False


@dataclass(frozen=True)
class CvqaResult:
    scores: dict[str, float | int]
    rows: tuple[EncounterParentResult, ...]
    missing: tuple[str, ...]  # "ENC" or "ENC/PARENT" scored as wrong under allow_missing


def unhashable_value(values: Sequence) -> object | None:
    """The first value ``set()`` cannot take (a JSON list or object), or None."""
    for value in values:
        try:
            hash(value)
        except TypeError:
            return value
    return None


def _unhashable_error(culprits: list[tuple[str, str, object]], source: str, hint: str
                      ) -> MalformedRecordError:
    """Every (encounter, parent, value) whose set() crashes the official scorer, in one error."""
    details = "; ".join(f"{enc}/{parent}: {type(v).__name__} {v!r:.40}" for enc, parent, v
                        in culprits[:20])
    more = f" (+{len(culprits) - 20} more)" if len(culprits) > 20 else ""
    return MalformedRecordError(
        f"{len(culprits)} scored answer(s) are not hashable, so the official scorer crashes in "
        f"set(): {details}{more}", source=source, code="cvqa-unhashable", hint=hint)


def find_missing(gold: Grouped, system: Grouped, parents: Sequence[str] = PARENT_IDS) -> list[str]:
    """Every gold encounter, or (encounter, parent), that the system does not answer."""
    missing: list[str] = []
    for enc, by_parent in gold.items():
        if enc not in system:
            missing.append(enc)
            continue
        missing.extend(f"{enc}/{p}" for p in parents if p in by_parent and p not in system[enc])
    return missing


_JSON_KINDS = {dict: "object", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null", list: "list"}


def json_kind(value: object) -> str:
    """The JSON name of a loaded value's type (``object``, ``string``, ``null``...)."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


def not_a_list_effect(data: object) -> str:
    """What the official scorer does with a CVQA file holding ``data``, which is not a list."""
    kind = f"a JSON {json_kind(data)}"
    if isinstance(data, (dict, str)) and len(data) == 0:
        return (f"holds {kind} of length 0: the official scorer takes it as an empty list and "
                "scores CVQA 0.0 with number_cvqa_instances = 0")
    if isinstance(data, (dict, str)):
        return f"holds {kind}: the official scorer iterates it as records and crashes (TypeError)"
    return f"holds {kind}: the official scorer crashes taking its length (TypeError)"


def _not_a_list(data: object, source: str) -> MalformedRecordError:
    return MalformedRecordError(not_a_list_effect(data), source=source, code="cvqa-not-list",
                                hint="write a JSON list with one object per encounter")


def _length(data: object, source: str) -> int:
    """``len(data)`` as the official scorer takes it first; a value without one crashes it."""
    if isinstance(data, (list, tuple, dict, str)):
        return len(data)
    raise _not_a_list(data, source)


def _records(data: object, source: str) -> Sequence[Mapping]:
    if isinstance(data, (list, tuple)):
        return data
    raise _not_a_list(data, source)


def empty_system_scores() -> dict[str, float | int]:
    """The official figures of a system file of length 0 (``[]``, ``{}``, ``""``): 0.0 everywhere
    and ``number_cvqa_instances`` = 0, whatever the gold."""
    scores: dict[str, float | int] = {key: 0.0 for key in CVQA_ACCURACY_KEYS}
    scores[CVQA_COUNT_KEY] = 0
    return scores


def _empty_system_result(gold_data: object, parents: Sequence[str]) -> CvqaResult:
    """Zeros (official), with one IoM-0 row per gold pair when the gold can be read at all."""
    try:  # the official scorer never reads the gold here: an unreadable one gives no rows
        gold = organize(gold_data)  # type: ignore[arg-type]  # a dict or str: a ScoringError
    except ScoringError:
        gold = {}
    rows = tuple(EncounterParentResult(enc, p, tuple(by_parent[p]), (), 0.0, True)
                 for p in parents for enc, by_parent in gold.items() if p in by_parent)
    return CvqaResult(empty_system_scores(), rows, tuple(gold))


def score_cvqa(
    gold_data: object,
    system_data: object,
    *,
    allow_missing: bool = False,
    parents: Sequence[str] = PARENT_IDS,
    gold_source: str = "gold CVQA file",
    system_source: str = "system CVQA file",
) -> CvqaResult:
    """The official CVQA figures of two loaded JSON values (normally lists of records).

    As officially: a system value of length 0 (``[]``, ``{}``, ``""``) is "no CVQA submitted":
    0.0 everywhere and ``number_cvqa_instances`` = 0. Anything the official scorer crashes on
    raises a :class:`~evaluation.errors.ScoringError` naming it; missing answers raise unless
    ``allow_missing`` (then IoM = 0).
    """
    _length(gold_data, gold_source)
    if _length(system_data, system_source) == 0:
        return _empty_system_result(gold_data, parents)
    gold_records = _records(gold_data, gold_source)
    system_records = _records(system_data, system_source)
    gold = organize(gold_records, source=gold_source)
    if not gold:
        raise ScoringError("the gold CVQA file holds no encounter (the official scorer crashes: "
                           "ZeroDivisionError)", source=gold_source)
    for enc, by_parent in gold.items():
        absent = [p for p in parents if p not in by_parent]
        if absent:
            raise MalformedRecordError(f"gold encounter {enc} lacks parents {', '.join(absent)}",
                                       source=gold_source, ids=[enc])
    system = organize(system_records, source=system_source)
    missing = find_missing(gold, system, parents)
    if missing and not allow_missing:
        raise MissingAnswersError(
            f"{len(missing)} gold encounter(s)/parent(s) have no answer (the official scorer crashes)",
            source=system_source, ids=missing,
            hint="answer all 27 qids for every encounter of the split, or pass --allow-missing")
    rows: list[EncounterParentResult] = []
    per_parent: dict[str, float] = {}
    all_weights = 0.0
    bad_gold: list[tuple[str, str, object]] = []
    bad_system: list[tuple[str, str, object]] = []
    for parent in parents:
        weight_sum = 0.0
        for enc, by_parent in gold.items():
            sys_values = system.get(enc, {}).get(parent)
            gold_values = by_parent[parent]
            try:
                score = iom(gold_values, sys_values) if sys_values is not None else 0.0
            except TypeError:  # the official set() crashes: name every such pair below
                for values, bad in ((gold_values, bad_gold), (sys_values or (), bad_system)):
                    culprit = unhashable_value(values)
                    if culprit is not None:
                        bad.append((enc, parent, culprit))
                continue
            weight_sum += score
            rows.append(EncounterParentResult(enc, parent, tuple(gold_values),
                                              tuple(sys_values or ()), score, sys_values is None))
        per_parent[parent] = weight_sum / len(gold)
    if bad_gold:
        raise _unhashable_error(bad_gold, gold_source, "the gold file must hold int option indices")
    if bad_system:
        raise _unhashable_error(bad_system, system_source, "write one int option index per qid")
    # accuracy_all sums the same IoMs parent by parent, as the official x_all/y_all lists do.
    for row in rows:
        all_weights += row.iom
    scores: dict[str, float | int] = {f"accuracy_{p}": per_parent[p] for p in parents}
    scores["accuracy_all"] = all_weights / len(rows)
    scores[CVQA_COUNT_KEY] = len({r[ENCOUNTER_KEY] for r in gold_records})
    return CvqaResult(scores, tuple(rows), tuple(missing))
