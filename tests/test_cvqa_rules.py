"""The CVQA metric's rules and errors, each on a hand case, errors compared whole.

What the official ``score_cvqa.py`` does with each input is stated in the test; magic raises a
named error wherever it crashes.
"""

from __future__ import annotations

import math

import pytest

from builders import record as answered
from evaluation.cvqa import (
    empty_system_scores, find_missing, iom, json_kind, not_a_list_effect, organize, score_cvqa,
    unhashable_value,
)
from evaluation.errors import (
    MalformedRecordError, MissingAnswersError, ScoringError, ShapeMismatchError,
)
from evaluation.facts import CVQA_ACCURACY_KEYS, PARENT_IDS, PARENTS


def record(enc: str, first: int = 0, **changes: object) -> dict:
    """builders.record with ``changes`` (CQID010_001 for CQID010-001) set."""
    return {**answered(enc, first), **{k.replace("_", "-"): v for k, v in changes.items()}}


def fields(error: ScoringError) -> tuple:
    return (type(error).__name__, error.message, error.source, error.ids, error.hint, error.code)


def test_records_the_grouping_cannot_read() -> None:
    cases = [
        ([["ENC1"]], ("MalformedRecordError", "record 0 is a list, not an object", "f", [],
                      "write one JSON object per encounter", None)),
        ([{"encounter_id": "E"}, 3], ("MalformedRecordError", "record 1 is a int, not an object",
                                      "f", [], "write one JSON object per encounter", None)),
        ([{"CQID010-001": 1}], ("MalformedRecordError", "record 0 has no 'encounter_id'", "f", [],
                                "add 'encounter_id' to every record", None)),
        ([{"encounter_id": 7}], ("MalformedRecordError", "record 0: encounter_id 7 is not a string",
                                 "f", [], 'write ids as strings, e.g. "ENC00908"', None)),
        ([{"encounter_id": "E1", "CQID010--01": 1}],
         ("MalformedRecordError", "key 'CQID010--01' of E1 has 11 characters but not the form "
          "PARENT-SLOT", "f", ["E1"], "use the qids of the definitions, e.g. CQID010-001", None)),
    ]
    for records, expected in cases:
        with pytest.raises(MalformedRecordError) as info:
            organize(records, source="f")
        assert fields(info.value) == expected
    with pytest.raises(MalformedRecordError) as info:
        organize([{"encounter_id": "E1", "CQID010-0-1": 1}])
    assert info.value.source == "CVQA file" and str(info.value).startswith("CVQA file: key")


def test_grouping_keeps_every_scored_value_in_record_order() -> None:
    records = [{"encounter_id": "E1-a", "CQID011-002": 5, "CQID011-001": 2, "encounter": 1,
                "CQID011-00x": 9, "CQID01-0001": 4},
               {"encounter_id": "E1", "CQID011-003": 2}, {"encounter_id": "E2"}]
    assert organize(records) == {"E1": {"CQID011": [5, 2, 9, 2], "CQID01": [4]}, "E2": {}}


def test_iom_of_sets_and_its_crash_cases() -> None:
    assert iom([1], [1]) == 1.0 and iom([1, 2], [2, 3]) == 1 / 2 and iom([1, 2, 3], [4]) == 0.0
    assert iom([True], [1]) == 1.0
    with pytest.raises(ZeroDivisionError):
        iom([], [])
    with pytest.raises(TypeError):
        iom([[1]], [1])
    assert unhashable_value([1, "a", (2,), [3], {4: 5}]) == [3]
    assert unhashable_value([1, 2.0, None]) is None


def test_missing_answers_listed_in_gold_order() -> None:
    gold = {"E1": {"CQID010": [0], "CQID011": [1]}, "E2": {"CQID010": [0]}, "E3": {}}
    system = {"E1": {"CQID010": [0]}, "E3": {}}
    assert find_missing(gold, system) == ["E1/CQID011", "E2"]
    assert find_missing(gold, system, parents=["CQID010"]) == ["E2"]
    assert find_missing(gold, {"E1": gold["E1"], "E2": {}, "E3": {}}) == ["E2/CQID010"]


def test_what_the_official_scorer_does_with_a_value_that_is_not_a_list() -> None:
    assert not_a_list_effect({}) == ("holds a JSON object of length 0: the official scorer takes "
                                     "it as an empty list and scores CVQA 0.0 with "
                                     "number_cvqa_instances = 0")
    assert not_a_list_effect("").startswith("holds a JSON string of length 0")
    assert not_a_list_effect({"a": 1}) == ("holds a JSON object: the official scorer iterates it "
                                           "as records and crashes (TypeError)")
    assert not_a_list_effect("ab") == ("holds a JSON string: the official scorer iterates it as "
                                       "records and crashes (TypeError)")
    assert not_a_list_effect(3) == ("holds a JSON number: the official scorer crashes taking its "
                                    "length (TypeError)")
    assert not_a_list_effect(None) == ("holds a JSON null: the official scorer crashes taking its "
                                       "length (TypeError)")
    kinds = [json_kind(v) for v in ({}, "", 1, 1.5, True, None, [], (1,), b"x")]
    assert kinds == ["object", "string", "number", "number", "boolean", "null", "list", "tuple",
                     "bytes"]


@pytest.mark.parametrize("system", [[], {}, "", ()])
def test_a_system_value_of_length_zero_scores_zero(system) -> None:
    gold = [record("E1"), record("E2-x"), record("E2")]
    result = score_cvqa(gold, system)
    assert result.scores == empty_system_scores()
    assert list(result.scores) == [*CVQA_ACCURACY_KEYS, "number_cvqa_instances"]
    assert result.scores["number_cvqa_instances"] == 0
    assert all(result.scores[k] == 0.0 for k in CVQA_ACCURACY_KEYS)
    assert result.missing == ("E1", "E2")
    assert len(result.rows) == 18 and {r.iom for r in result.rows} == {0.0}
    assert all(r.missing and r.system == () for r in result.rows)
    # Rows parent by parent, encounters in gold order, the gold's answers kept.
    assert [(r.encounter_id, r.parent) for r in result.rows[:3]] == [
        ("E1", "CQID010"), ("E2", "CQID010"), ("E1", "CQID011")]
    assert result.rows[2].gold == tuple(PARENTS[1].padded([0]))
    assert [r.gold for r in result.rows if r.encounter_id == "E2"][0] == (0, 0)


def test_length_zero_with_an_unreadable_gold_still_scores_zero() -> None:
    """The official scorer returns before reading the gold: so does magic (no rows then)."""
    result = score_cvqa([{"no": "id"}], [])
    assert result.scores == empty_system_scores() and result.rows == () and result.missing == ()
    assert score_cvqa({"a": 1}, []).rows == ()


def test_values_without_a_length_crash() -> None:
    for gold, system, source in ((3, [record("E")], "gold CVQA file"),
                                 ([record("E")], None, "system CVQA file"),
                                 ([record("E")], 2.5, "system CVQA file")):
        with pytest.raises(MalformedRecordError) as info:
            score_cvqa(gold, system)
        assert info.value.code == "cvqa-not-list" and info.value.source == source
        assert info.value.hint == "write a JSON list with one object per encounter"
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa([record("E")], {"E": 1})
    assert info.value.message == not_a_list_effect({"E": 1})
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa({"E": 1}, [record("E")], gold_source="g.json")
    assert info.value.source == "g.json" and info.value.code == "cvqa-not-list"


def test_gold_problems_are_named() -> None:
    with pytest.raises(ScoringError) as info:
        score_cvqa([], [record("E")], gold_source="g.json")
    assert fields(info.value) == ("ScoringError", "the gold CVQA file holds no encounter (the "
                                  "official scorer crashes: ZeroDivisionError)", "g.json", [], None,
                                  None)
    gappy = {k: v for k, v in record("E1").items() if not k.startswith(("CQID012", "CQID036"))}
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa([gappy], [record("E1")], gold_source="g.json")
    assert fields(info.value) == ("MalformedRecordError", "gold encounter E1 lacks parents "
                                  "CQID012, CQID036", "g.json", ["E1"], None, None)


def test_missing_answers_error_lists_them_all() -> None:
    with pytest.raises(MissingAnswersError) as info:
        score_cvqa([record("E1"), record("E2")], [{"encounter_id": "E1", "CQID010-001": 0}],
                   system_source="s.json")
    assert fields(info.value)[:4] == ("MissingAnswersError", "9 gold encounter(s)/parent(s) have "
                                      "no answer (the official scorer crashes)", "s.json",
                                      [f"E1/{p}" for p in PARENT_IDS[1:]] + ["E2"])
    assert info.value.hint == ("answer all 27 qids for every encounter of the split, or pass "
                               "--allow-missing")


def test_unhashable_answers_error_names_each_pair_and_cuts_at_twenty() -> None:
    gold = [record(f"E{i:02d}") for i in range(25)]
    system = [record(f"E{i:02d}", CQID010_001=[i]) for i in range(25)]
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa(gold, system, system_source="s.json")
    error = info.value
    assert (error.code, error.source, error.hint) == ("cvqa-unhashable", "s.json",
                                                      "write one int option index per qid")
    shown = "; ".join(f"E{i:02d}/CQID010: list [{i}]" for i in range(20))
    assert error.message == ("25 scored answer(s) are not hashable, so the official scorer crashes "
                             f"in set(): {shown} (+5 more)")
    twenty = score_cvqa_error(gold[:20], system[:20])
    assert twenty.endswith("E19/CQID010: list [19]") and "more" not in twenty
    long_value = [record("E1", CQID010_001=list(range(30)))]
    assert "list [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1" in score_cvqa_error(gold[:1], [
        {**long_value[0], "encounter_id": "E00"}])
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa([record("E1", CQID036_001={"a": 1})], [record("E1")], gold_source="g.json")
    assert (info.value.source, info.value.hint) == ("g.json",
                                                    "the gold file must hold int option indices")
    assert info.value.message.endswith("in set(): E1/CQID036: dict {'a': 1}")


def score_cvqa_error(gold: list, system: list) -> str:
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa(gold, system)
    return info.value.message


def test_rows_and_accuracy_all_by_hand() -> None:
    gold = [record("E1", CQID011_001=2, CQID011_002=4), record("E2")]
    system = [record("E1", CQID011_001=2), {**record("E2-b", 1), "encounter_id": "E2-b"}]
    result = score_cvqa(gold, system)
    rows = {(r.encounter_id, r.parent): r for r in result.rows}
    assert rows[("E1", "CQID011")].iom == 2 / 3
    assert rows[("E1", "CQID011")].gold == (2, 4, 7, 7, 7, 7)
    assert rows[("E1", "CQID011")].system == (2, 7, 7, 7, 7, 7)
    assert rows[("E2", "CQID010")].iom == 0.0 and not rows[("E2", "CQID010")].missing
    assert result.scores["accuracy_CQID011"] == (2 / 3 + 0.5) / 2  # E2: {0, 7} vs {1, 7}
    assert result.scores["accuracy_all"] == pytest.approx(
        (8 + 2 / 3 + 0.5 * 3 + 0 * 6) / 18, rel=1e-15)  # 3 multi-slot families share NM
    assert result.missing == ()


def test_only_the_parents_asked_for_are_scored() -> None:
    gold = [record("E1")]
    result = score_cvqa(gold, [record("E1", 1)], parents=["CQID010", "CQID025"])
    assert list(result.scores) == ["accuracy_CQID010", "accuracy_CQID025", "accuracy_all",
                                   "number_cvqa_instances"]
    assert result.scores["accuracy_all"] == 0.0 and len(result.rows) == 2


def test_shape_mismatch_error_defaults() -> None:
    error = ShapeMismatchError("x")
    assert (error.side, error.code, error.message) == ("prediction", "mask-unscorable", "x")
    assert ShapeMismatchError("y", side="reference").side == "reference"
    assert str(ScoringError("m", source="s", ids=["a", "b"])) == "s: m: a, b"
    assert str(ScoringError("m")) == "m" and str(ScoringError("m", ids=["a"])) == "m: a"
    assert math.isclose(iom([1, 2, 3], [1, 2]), 2 / 3)


def test_each_file_is_named_in_its_own_errors() -> None:
    for gold, system, source in (([{"encounter_id": 5}], [record("E")], "g.json"),
                                 ([record("E")], [{"encounter_id": 5}], "s.json")):
        with pytest.raises(MalformedRecordError) as info:
            score_cvqa(gold, system, gold_source="g.json", system_source="s.json")
        assert info.value.source == source
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa(None, [record("E")])
    assert info.value.message == ("holds a JSON null: the official scorer crashes taking its "
                                  "length (TypeError)")


def test_twenty_one_unhashable_answers_show_twenty() -> None:
    gold = [record(f"E{i:02d}") for i in range(21)]
    message = score_cvqa_error(gold, [record(f"E{i:02d}", CQID010_001=[i]) for i in range(21)])
    assert message.endswith("E19/CQID010: list [19] (+1 more)")


def test_padding_and_errors_of_the_facts() -> None:
    from evaluation.facts import PARENT_BY_ID, encounter_of_image

    with pytest.raises(ValueError) as info:
        PARENT_BY_ID["CQID010"].padded([0, 1])
    assert str(info.value) == "CQID010 has 1 slots, got 2 answers"
    assert PARENT_BY_ID["CQID020"].padded([]) == [9] * 9
    assert [encounter_of_image(i) for i in ("IMG_ENC00852_00001", "IMG_X_1", "IMG_X", "X",
                                            "IMG_A_B_C")] == ["ENC00852", "X", "IMG_X", "X", "A"]
    assert repr(ScoringError("m")) == "ScoringError('m')" and ScoringError("m").args == ("m",)


def test_missing_answers_are_looked_for_in_the_parents_scored_only() -> None:
    partial = {k: v for k, v in record("E1").items() if not k.startswith("CQID036")}
    result = score_cvqa([record("E1")], [partial], parents=["CQID010"])
    assert result.scores["accuracy_CQID010"] == 1.0 and result.missing == ()


def test_a_value_without_length_is_described_as_what_it_is() -> None:
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa([record("E")], 3)
    assert info.value.message == ("holds a JSON number: the official scorer crashes taking its "
                                  "length (TypeError)")
    assert score_cvqa("", []).rows == () and score_cvqa({"E": 1}, []).rows == ()
