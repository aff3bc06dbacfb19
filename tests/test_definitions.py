"""The definitions file: the sample's copy agrees with the package's table; bad files are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magic_submit.challenge import PARENTS, QIDS
from magic_submit.definitions import load_definitions, parse_definitions
from magic_submit.errors import MagicError


def test_sample_definitions_match_the_table(sample_data: Path) -> None:
    defs = load_definitions(sample_data / "closedquestions_definitions_imageclef2025.json")
    assert list(defs.questions) == list(QIDS)
    for parent in PARENTS:
        for qid in parent.qids:
            assert len(defs.options(qid)) == parent.n_options
            assert defs.options(qid)[parent.nm_index] == "Not mentioned"


def test_disagreements_are_all_listed(sample_data: Path) -> None:
    data = json.loads((sample_data / "closedquestions_definitions_imageclef2025.json").read_text())
    data[0]["options_en"] = data[0]["options_en"][:-1]  # drop NM from CQID010-001
    data[5]["options_en"] = list(reversed(data[5]["options_en"]))  # NM first
    del data[-1]
    with pytest.raises(MagicError) as info:
        parse_definitions(data, source="defs.json")
    text = info.value.render()
    assert "CQID010-001: 3 options, expected 4" in text
    assert f"{data[5]['qid']}: the last option is" in text
    assert "missing qids: CQID036-001" in text


def test_not_a_list() -> None:
    with pytest.raises(MagicError, match="not a list"):
        parse_definitions({"qid": "x"}, source="defs.json")
