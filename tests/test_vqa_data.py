"""Reading encounters, gold and definitions for the CVQA baselines: text cleaning and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import random_answers, write_json

from baselines.vqa.data import (
    encounter_text, family_answers, family_options, family_question, load_split,
    parse_gold,
)
from magic_submit.challenge import DEFINITIONS_FILE, QIDS
from magic_submit.dataset import DatasetLayout
from magic_submit.text import clean_text
from magic_submit.definitions import parse_definitions
from magic_submit.errors import MagicError


def test_clean_text_strips_html_and_collapses_whitespace():
    text = "Itchy<br>red &nbsp;<b>spots</b>\n\n on my arm "
    assert clean_text(text) == "Itchy red spots on my arm"
    assert clean_text("<p>a &lt; b &amp; c</p>") == "a < b & c"
    assert clean_text(None) == ""
    assert clean_text(12) == ""


def test_encounter_text_uses_english_fields_and_optional_responses():
    record = {"query_title_en": "Rash?", "query_content_en": "<p>Itchy for 3 days.</p>",
              "query_title_zh": "皮疹", "responses": [{"content_en": "Eczema."},
                                                     {"content_en": None}, "junk"]}
    assert encounter_text(record) == "Rash? Itchy for 3 days."
    assert encounter_text(record, with_responses=True) == "Rash? Itchy for 3 days. Eczema."
    assert encounter_text({}) == ""


def test_family_question_drops_the_slot_number():
    assert family_question("1 Where is the affected area?") == "Where is the affected area?"
    assert family_question("How many skin lesions are there?") == "How many skin lesions are there?"


def _records(ids: list[str]) -> list[dict]:
    return [{"encounter_id": e, "image_ids": [f"IMG_{e}_00001.jpg"], "query_title_en": e}
            for e in ids]


def _gold(ids: list[str], seed: int = 0) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(seed)
    return [{"encounter_id": e, **random_answers(rng)} for e in ids]


def test_training_keeps_only_answered_encounters_in_query_order(tmp_path: Path):
    write_json(tmp_path / "train.json", _records(["ENC00003", "ENC00001", "ENC00002"]))
    write_json(tmp_path / "train_cvqa.json", _gold(["ENC00002", "ENC00003"]))
    split = load_split(DatasetLayout(tmp_path), "train", gold="required")
    assert split.encounter_ids == ["ENC00003", "ENC00002"]
    assert [r["encounter_id"] for r in split.gold_records()] == ["ENC00003", "ENC00002"]
    assert split.texts() == ["ENC00003", "ENC00002"]
    ignored = load_split(DatasetLayout(tmp_path), "train", gold="ignore")
    assert ignored.gold is None and len(ignored.encounters) == 3


def test_gold_without_query_is_an_error(tmp_path: Path):
    write_json(tmp_path / "train.json", _records(["ENC00001"]))
    write_json(tmp_path / "train_cvqa.json", _gold(["ENC00001", "ENC00099"]))
    with pytest.raises(MagicError, match="not in train.json") as info:
        load_split(DatasetLayout(tmp_path), "train", gold="required")
    assert info.value.ids == ["ENC00099"]


def test_required_gold_missing_names_the_places_looked(tmp_path: Path):
    write_json(tmp_path / "train.json", _records(["ENC00001"]))
    with pytest.raises(MagicError, match="CVQA gold file for split 'train'"):
        load_split(DatasetLayout(tmp_path), "train", gold="required")


@pytest.mark.parametrize("value, shown", [("1", "'1'"), (1.0, "1.0"), (8, "8"), (None, "None")])
def test_bad_gold_values_name_encounter_and_qid(value, shown):
    record = _gold(["ENC00001"])[0] | {"CQID011-002": value}
    with pytest.raises(MagicError, match="ENC00001") as info:
        parse_gold([record], source="train_cvqa.json")
    assert info.value.ids == [f"CQID011-002={shown}"]


def test_gold_shape_errors():
    with pytest.raises(MagicError, match="not a list"):
        parse_gold({"encounter_id": "x"}, source="g.json")
    with pytest.raises(MagicError, match="no string 'encounter_id'"):
        parse_gold([{"CQID010-001": 1}], source="g.json")
    twice = _gold(["ENC00001"]) * 2
    with pytest.raises(MagicError, match="appears twice"):
        parse_gold(twice, source="g.json")


def test_family_answers_groups_by_parent_in_slot_order():
    record = _gold(["ENC00001"])[0]
    grouped = family_answers(record)
    assert grouped["CQID011"] == tuple(record[f"CQID011-00{i}"] for i in range(1, 7))
    assert sum(len(v) for v in grouped.values()) == len(QIDS)


def test_family_options_need_the_same_options_in_every_slot(sample_data: Path):
    definitions = json.loads((sample_data / DEFINITIONS_FILE).read_text(encoding="utf-8"))
    families = family_options(parse_definitions(definitions, source="defs"))
    assert families["CQID011"].question == "Where is the affected area?"
    assert families["CQID011"].options[-1] == "Not mentioned"
    slot2 = next(d for d in definitions if d["qid"] == "CQID011-002")
    slot2["options_en"] = [slot2["options_en"][1], slot2["options_en"][0], *slot2["options_en"][2:]]
    with pytest.raises(MagicError, match="different orders") as info:
        family_options(parse_definitions(definitions, source="defs"))
    assert info.value.ids == ["CQID011-002"]
