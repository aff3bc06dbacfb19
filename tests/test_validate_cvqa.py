"""``magic validate-submission``: every broken CVQA file and answer kind, warnings, valid forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magic_submit.challenge import PARENT_BY_ID
from submission_cases import (
    CVQA, as_zip, edit_records, load_records, problems_of, save_records,
    validate_cli,
)

ENC = "ENC00908"  # the first record of the sample submission



def _write(sub: Path, raw: bytes) -> None:
    (sub / CVQA).write_bytes(raw)


def _set(qid: str, value):
    def edit(records: list[dict]) -> None:
        records[0][qid] = value
    return edit


def _drop(*qids: str):
    def edit(records: list[dict]) -> None:
        for qid in qids:
            del records[0][qid]
    return edit


FILE_ERRORS = {
    "missing": (lambda s: (s / CVQA).unlink(), "cvqa-missing"),
    "byte-order mark": (lambda s: _write(s, b"\xef\xbb\xbf" + (s / CVQA).read_bytes()), "cvqa-bom"),
    "latin-1": (lambda s: _write(s, '[{"encounter_id": "ENC00908", "x": "é"}]'.encode("latin-1")),
                "cvqa-not-utf8"),
    "not JSON": (lambda s: _write(s, b'[{"encounter_id": "ENC00908",]'), "cvqa-not-json"),
    "empty file": (lambda s: _write(s, b""), "cvqa-empty-file"),
    "an object": (lambda s: _write(s, json.dumps({ENC: {}}).encode()), "cvqa-not-list"),
}


@pytest.mark.parametrize("case", list(FILE_ERRORS))
def test_unreadable_cvqa_file_is_an_error(case: str, submission: Path, sample_data: Path) -> None:
    mutate, code = FILE_ERRORS[case]
    mutate(submission)
    for target in (submission, as_zip(submission)):
        status, report = validate_cli(target, sample_data)
        assert status == 1
        assert [(p["code"], p["file"]) for p in report["errors"]] == [(code, CVQA)]


# (edit of the records, expected error code, qid named)
RECORD_ERRORS = {
    "missing encounter": (lambda r: r.pop(0), "cvqa-missing-encounter", None),
    "missing single-slot parent": (_drop("CQID025-001"), "cvqa-missing-parent", "CQID025-001"),
    "missing multi-slot parent": (_drop(*PARENT_BY_ID["CQID012"].qids), "cvqa-missing-parent",
                                  "CQID012-001"),
    "string": (_set("CQID010-001", "2"), "cvqa-value-type", "CQID010-001"),
    "bool": (_set("CQID025-001", True), "cvqa-value-type", "CQID025-001"),
    "null": (_set("CQID035-001", None), "cvqa-value-type", "CQID035-001"),
    "NaN": (_set("CQID036-001", float("nan")), "cvqa-value-type", "CQID036-001"),
    "list": (_set("CQID015-001", [1, 2]), "cvqa-value-type", "CQID015-001"),
    "fraction": (_set("CQID015-001", 2.5), "cvqa-value-type", "CQID015-001"),
    "out of range": (_set("CQID034-001", 12), "cvqa-value-range", "CQID034-001"),
    "negative": (_set("CQID034-001", -1), "cvqa-value-range", "CQID034-001"),
    "NM shifted": (_set("CQID011-006", 8), "cvqa-value-range", "CQID011-006"),
    "11 characters, two dashes": (_set("CQID01-0-01", 1), "cvqa-malformed-key", "CQID01-0-01"),
}


@pytest.mark.parametrize("case", list(RECORD_ERRORS))
def test_bad_answer_is_an_error_naming_encounter_and_qid(case: str, submission: Path,
                                                         sample_data: Path) -> None:
    edit, code, qid = RECORD_ERRORS[case]
    edit_records(submission, edit)
    status, report = validate_cli(submission, sample_data)
    assert status == 1
    assert [(p["code"], p["encounter_id"], p["qid"]) for p in report["errors"]] == [(code, ENC, qid)]
    assert report["errors"][0]["file"] == CVQA and report["errors"][0]["hint"]


def test_nm_shift_hint_names_the_right_index(submission: Path, sample_data: Path) -> None:
    edit_records(submission, _set("CQID011-006", 8))
    _, report = validate_cli(submission, sample_data)
    assert "NM of CQID011-006 is 7, not 8" in report["errors"][0]["hint"]


def test_records_the_scorer_cannot_read_are_errors(submission: Path, sample_data: Path) -> None:
    records = load_records(submission)
    records[1] = [records[1]]
    records[2] = {k: v for k, v in records[2].items() if k != "encounter_id"}
    records[3]["encounter_id"] = 911
    save_records(submission, records)
    status, report = validate_cli(submission, sample_data)
    assert status == 1
    codes = [p["code"] for p in report["errors"]]
    assert codes.count("cvqa-record-not-object") == 1 and codes.count("cvqa-no-encounter-id") == 1
    assert codes.count("cvqa-encounter-id-type") == 1
    # Their encounters are then unanswered: the scorer crashes on those too.
    assert {p["encounter_id"] for p in problems_of(report, "cvqa-missing-encounter")} == {
        "ENC00909", "ENC00910", "ENC00911"}


def _split_record(records: list[dict]) -> None:
    first = records[0]
    keys = [k for k in first if k != "encounter_id"]
    records[0] = {"encounter_id": ENC, **{k: first[k] for k in keys[:10]}}
    records.append({"encounter_id": ENC, **{k: first[k] for k in keys[10:]}})


def _unpad(records: list[dict]) -> None:
    record = records[0]
    record.update({"CQID011-001": 2, "CQID011-002": 7})
    for qid in PARENT_BY_ID["CQID011"].qids[2:]:
        del record[qid]


def _nm_first(records: list[dict]) -> None:
    records[0].update({q: 7 for q in PARENT_BY_ID["CQID011"].qids})
    records[0]["CQID011-003"] = 1


WARNINGS = {
    "float equal to an int": (_set("CQID010-001", 1.0), "cvqa-value-float"),
    "unpadded family": (_unpad, "cvqa-unpadded"),
    "NM before an answer": (_nm_first, "cvqa-nm-before-answer"),
    "two records for one encounter": (_split_record, "cvqa-duplicate-encounter"),
    "'-' suffix": (lambda r: r[0].update(encounter_id=ENC + "-1"), "cvqa-encounter-suffix"),
    "encounter outside the split": (lambda r: r.append({**r[0], "encounter_id": "ENC00852"}),
                                    "cvqa-extra-encounter"),
    "ignored key": (_set("cqid010-1", 1), "cvqa-ignored-key"),
    "unknown qid": (_set("CQID099-001", 1), "cvqa-unknown-qid"),
    "empty list": (lambda r: r.clear(), "cvqa-absent"),
}


@pytest.mark.parametrize("case", list(WARNINGS))
def test_scored_but_suspicious_answers_are_warnings(case: str, submission: Path,
                                                    sample_data: Path) -> None:
    edit, code = WARNINGS[case]
    edit_records(submission, edit)
    status, report = validate_cli(submission, sample_data)
    assert status == 0 and report["errors"] == []
    assert [p["code"] for p in report["warnings"]] == [code]


def test_unpadded_message_says_what_it_costs(submission: Path, sample_data: Path) -> None:
    edit_records(submission, _unpad)
    _, report = validate_cli(submission, sample_data)
    (problem,) = report["warnings"]
    assert problem["qid"] == "CQID011-003" and problem["encounter_id"] == ENC
    assert "NM is already among the answers" in problem["message"]  # {2, 7}: the set is complete
    edit_records(submission, lambda r: r[0].update({"CQID011-002": 3}))
    _, report = validate_cli(submission, sample_data)
    assert "gold pads with NM = 7, which this set lacks" in report["warnings"][0]["message"]


def test_ignored_key_suggests_the_qid(submission: Path, sample_data: Path) -> None:
    edit_records(submission, _set("cqid010-1", 1))
    _, report = validate_cli(submission, sample_data)
    assert report["warnings"][0]["hint"] == "did you mean CQID010-001?"


def test_missing_file_points_at_a_misnamed_json(submission: Path, sample_data: Path) -> None:
    (submission / CVQA).rename(submission / "test_cvqa_sys.json")
    _, report = validate_cli(submission, sample_data)
    assert "rename test_cvqa_sys.json to data_cvqa_sys.json" in report["errors"][0]["hint"]


def test_definitions_file_gives_the_option_counts(submission: Path, sample_data: Path,
                                                  tmp_path: Path) -> None:
    defs = sample_data / "closedquestions_definitions_imageclef2025.json"
    status, report = validate_cli(submission, sample_data, "--definitions", str(defs))
    assert status == 0 and report["valid"]
    broken = json.loads(defs.read_text(encoding="utf-8"))
    broken[0]["options_en"] = broken[0]["options_en"][:-1]
    bad = tmp_path / "defs.json"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    status, report = validate_cli(submission, sample_data, "--definitions", str(bad))
    assert status == 2 and "definitions" in report["error"]["message"]


def test_unhashable_answers_are_errors_only_where_the_scorer_reads_them(submission: Path,
                                                                        sample_data: Path) -> None:
    records = load_records(submission)
    records.append({**records[0], "encounter_id": "ENC00852", "CQID010-001": [1],
                    "CQID011-002": {"x": 1}})  # outside the split: never read
    records[1]["CQID099-001"] = [1]  # not a scored family: never read
    save_records(submission, records)
    status, report = validate_cli(submission, sample_data)
    assert status == 0 and report["valid"], report["errors"]
    assert {p["encounter_id"] for p in problems_of(report, "cvqa-extra-encounter")} == {"ENC00852"}
    assert [p["qid"] for p in problems_of(report, "cvqa-unknown-qid")] == ["CQID099-001"]
    records[2]["CQID010-001"] = [1]  # a split encounter, a scored family: the scorer crashes
    save_records(submission, records)
    status, report = validate_cli(submission, sample_data)
    (problem,) = report["errors"]
    assert status == 1 and problem["code"] == "cvqa-value-type" and "unhashable" in problem["message"]
    assert (problem["encounter_id"], problem["qid"]) == (records[2]["encounter_id"], "CQID010-001")
