"""CVQA metric: golden values by hand, the official grouping rules, identities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import cvqa_records, random_answers
from evaluation.cvqa import iom, organize, score_cvqa
from evaluation.errors import MalformedRecordError, MissingAnswersError
from evaluation.facts import PARENT_IDS, PARENTS


def record(enc: str, **changes: int) -> dict:
    """All 27 qids answered 0 (multi-slot families: 0 then NM), with overrides."""
    out: dict = {"encounter_id": enc}
    for parent in PARENTS:
        for slot, qid in enumerate(parent.qids):
            out[qid] = 0 if slot == 0 else parent.nm_index
    out.update({k.replace("_", "-"): v for k, v in changes.items()})
    return out


def test_iom_golden() -> None:
    assert iom([2, 7, 7, 7], [2]) == 0.5  # unpadded multi-slot answer loses half
    assert iom([2, 7], [7, 2, 2]) == 1.0  # order and repeats ignored
    assert iom([1], [1.0]) == 1.0  # Python equality, as officially
    assert iom([1], ["1"]) == 0.0
    assert iom(["a", "b", "b"], ["a", "b", "c"]) == 2 / 3


def test_golden_scores_two_encounters() -> None:
    gold = [record("ENC1", CQID011_001=2, CQID011_002=4), record("ENC2", CQID025_001=1)]
    system = [record("ENC1", CQID011_001=2), record("ENC2", CQID025_001=2)]
    result = score_cvqa(gold, system)
    # ENC1/CQID011: gold {2, 4, 7}, sys {2, 7} -> 2/3; ENC2/CQID025: gold {1} vs {2} -> 0.
    assert result.scores["accuracy_CQID011"] == (2 / 3 + 1.0) / 2
    assert result.scores["accuracy_CQID025"] == 0.5
    assert result.scores["accuracy_CQID010"] == 1.0
    n_pairs = 2 * 9
    assert result.scores["accuracy_all"] == pytest.approx((n_pairs - 2 + 2 / 3) / n_pairs, rel=1e-15)
    assert result.scores["number_cvqa_instances"] == 2
    assert list(result.scores)[:9] == [f"accuracy_{p}" for p in PARENT_IDS]


def test_grouping_rules() -> None:
    records = [
        {"encounter_id": "ENC1", "CQID010-001": 1, "note": "x", "CQID010-001-extra": 5},
        {"encounter_id": "ENC1-2", "CQID010-001": 2},  # suffix cut at '-', records merge
    ]
    assert organize(records) == {"ENC1": {"CQID010": [1, 2]}}
    with pytest.raises(MalformedRecordError, match="PARENT-SLOT"):
        organize([{"encounter_id": "E", "CQID0100001": 1}])
    with pytest.raises(MalformedRecordError, match="encounter_id"):
        organize([{"CQID010-001": 1}])
    # Grouping keeps any value, as officially: only set() of a scored pair needs it hashable.
    assert organize([{"encounter_id": "E", "CQID010-001": [1]}]) == {"E": {"CQID010": [[1]]}}


def test_unhashable_answers_crash_only_where_the_official_scorer_builds_sets() -> None:
    gold = [record("ENC1"), record("ENC2")]
    # A list outside the gold encounters and a dict under an unscored family: scored normally.
    ignored = [record("ENC1"), record("ENC2"), {**record("ENC9"), "CQID010-001": [1, 2]},
               {**record("ENC1"), "CQID099-001": {"a": 1}}]
    assert score_cvqa(gold, ignored).scores["accuracy_all"] == 1.0
    # In a gold encounter under a scored family: the official set() crashes; every pair named.
    broken = [{**record("ENC1"), "CQID010-001": [1]}, {**record("ENC2"), "CQID025-001": {"x": 1}}]
    with pytest.raises(MalformedRecordError) as info:
        score_cvqa(gold, broken, system_source="data_cvqa_sys.json")
    assert info.value.code == "cvqa-unhashable" and info.value.source == "data_cvqa_sys.json"
    assert "ENC1/CQID010: list [1]" in info.value.message and "ENC2/CQID025: dict" in info.value.message
    with pytest.raises(MalformedRecordError, match="ENC2/CQID036") as info:
        score_cvqa([{**record("ENC2"), "CQID036-001": [0]}], [record("ENC2")], gold_source="gold.json")
    assert info.value.source == "gold.json"


def test_missing_answers_raise_with_every_id_or_score_zero_when_allowed() -> None:
    gold = [record("ENC1"), record("ENC2"), record("ENC3")]
    partial = [record("ENC1"), {k: v for k, v in record("ENC2").items() if "CQID036" not in k}]
    with pytest.raises(MissingAnswersError) as info:
        score_cvqa(gold, partial)
    assert info.value.ids == ["ENC2/CQID036", "ENC3"]
    result = score_cvqa(gold, partial, allow_missing=True)
    assert result.scores["accuracy_CQID036"] == 1 / 3
    assert result.scores["accuracy_CQID010"] == 2 / 3
    assert result.missing == ("ENC2/CQID036", "ENC3")


def test_empty_system_list_scores_zero() -> None:
    result = score_cvqa([record("ENC1")], [])
    assert all(result.scores[f"accuracy_{p}"] == 0.0 for p in PARENT_IDS)
    assert result.scores["accuracy_all"] == 0.0


def test_gold_is_validated() -> None:
    with pytest.raises(MalformedRecordError, match="lacks parents"):
        score_cvqa([{"encounter_id": "E", "CQID010-001": 1}], [record("E")])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=9),
       st.lists(st.integers(0, 9), min_size=1, max_size=9))
def test_iom_identities(a: list[int], b: list[int]) -> None:
    value = iom(a, b)
    assert 0.0 <= value <= 1.0
    assert value == iom(b, a)
    assert iom(a, a) == 1.0
    assert iom(a, list(reversed(a)) + a) == 1.0
    assert (value == 1.0) == (set(a) == set(b))
    assert (value == 0.0) == (not set(a) & set(b))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_gold_against_itself_is_perfect_and_accuracy_all_is_the_pair_mean(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    encounters = [f"ENC{i:05d}" for i in range(n)]
    gold = cvqa_records(rng, encounters)
    assert score_cvqa(gold, gold).scores["accuracy_all"] == 1.0
    system = cvqa_records(rng, encounters)
    result = score_cvqa(gold, system)
    per_parent = [result.scores[f"accuracy_{p}"] for p in PARENT_IDS]
    # every parent has the same number of encounters, so the pair mean is the parent mean
    assert result.scores["accuracy_all"] == pytest.approx(sum(per_parent) / 9, rel=1e-12)
    assert len(result.rows) == 9 * n


def test_random_answers_builder_pads_like_the_gold() -> None:
    answers = random_answers(np.random.default_rng(0))
    assert len(answers) == 27 and all(isinstance(v, int) for v in answers.values())
