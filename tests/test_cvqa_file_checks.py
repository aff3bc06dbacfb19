"""The validator's checks of ``data_cvqa_sys.json`` through ``read_cvqa`` and ``check_records``:
every finding's code, place, message and fix compared on hand-written records."""

from __future__ import annotations

import os
from pathlib import Path

from magic_submit.dataset import Encounter
from magic_submit.validation.cvqa_check import check_records, read_cvqa
from magic_submit.validation.problems import CODES
from magic_submit.validation.targets import SplitTargets
from test_validator_limits import full_record

F = "data_cvqa_sys.json"
TARGETS = SplitTargets.build([Encounter("ENC00001", ()), Encounter("ENC00002", ())], "split")


def other(enc: str = "ENC00002") -> dict:
    return {**full_record(), "encounter_id": enc}


def findings(records: list) -> list[tuple]:
    return [(p.code, p.encounter_id, p.qid, p.message, p.hint)
            for p in check_records(records, TARGETS)[0]]


def test_reading_the_file(tmp_path: Path) -> None:
    assert read_cvqa(None)[0] is None
    (problem,) = read_cvqa(None, missing_hint="rename x.json")[1]
    assert (problem.code, problem.file, problem.message, problem.hint) == (
        "cvqa-missing", F, f"no {F} at the root", "rename x.json")
    assert read_cvqa(None)[1][0].hint == CODES["cvqa-missing"].fix
    path = tmp_path / F
    path.write_text('[{"encounter_id": "ENC00001"}]')
    assert read_cvqa(path) == ([{"encounter_id": "ENC00001"}], [])
    path.write_text('{"a": 1}')
    records, (problem,) = read_cvqa(path, "sub/" + F)
    assert records is None and (problem.code, problem.file) == ("cvqa-not-list", "sub/" + F)
    assert problem.message == ("holds a JSON object: the official scorer iterates it as records "
                               "and crashes (TypeError)")
    path.write_bytes(b"\xef\xbb\xbf[]")
    (problem,) = read_cvqa(path)[1]
    assert (problem.code, problem.hint) == ("cvqa-bom", "save the file as UTF-8 without BOM "
                                                        "(json.dump(..., open(f, 'w')))")
    path.write_text("[1,")
    assert read_cvqa(path)[1][0].code == "cvqa-not-json"
    path.write_bytes(b"")
    assert read_cvqa(path)[1][0].code == "cvqa-empty-file"
    path.write_bytes(b"[\"\xff\"]")
    assert read_cvqa(path)[1][0].code == "cvqa-not-utf8"


def test_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    records, (problem,) = read_cvqa(fifo)
    assert records is None and problem.code == "cvqa-not-file"
    assert problem.message == (f"{F} is a FIFO (named pipe): the official scorer hangs: opening a "
                               "FIFO waits for a writer forever")
    records, (problem,) = read_cvqa(tmp_path / "gone.json")
    assert (problem.code, problem.message) == ("cvqa-missing", f"{F} is absent: the official "
                                                               "scorer crashes (FileNotFoundError)")
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "nowhere.json")
    assert read_cvqa(link)[1][0].code == "cvqa-not-file"


def test_an_empty_list_is_a_skipped_subtask() -> None:
    (problem,), answered = check_records([], TARGETS)
    assert (problem.code, problem.file, problem.message, answered) == ("cvqa-absent", F,
                                                                       "the list is empty", 0)


def test_records_the_scorer_cannot_read() -> None:
    records = [["ENC00001"], {"CQID010-001": 1, "x": 2, "y": 3, "z": 4}, {}, {"encounter_id": 5},
               full_record(), other()]
    assert findings(records) == [
        ("cvqa-record-not-object", None, None, "record 0 is a JSON list",
         CODES["cvqa-record-not-object"].fix),
        ("cvqa-no-encounter-id", None, None, "record 1 has no 'encounter_id' (keys: CQID010-001, "
                                             "x, y)", CODES["cvqa-no-encounter-id"].fix),
        ("cvqa-no-encounter-id", None, None, "record 2 has no 'encounter_id' (keys: none)",
         CODES["cvqa-no-encounter-id"].fix),
        ("cvqa-encounter-id-type", "5", None, "record 3: encounter_id 5 is a int",
         CODES["cvqa-encounter-id-type"].fix)]
    assert check_records(records, TARGETS)[1] == 2


def test_missing_encounters_and_families() -> None:
    gappy = {k: v for k, v in full_record().items() if not k.startswith(("CQID025", "CQID011"))}
    assert findings([gappy]) == [
        ("cvqa-missing-parent", "ENC00001", "CQID011-001", "ENC00001 has no answer for CQID011 "
                                                           "(Site Location)",
         CODES["cvqa-missing-parent"].fix),
        ("cvqa-missing-parent", "ENC00001", "CQID025-001", "ENC00001 has no answer for CQID025 "
                                                           "(Itch)",
         CODES["cvqa-missing-parent"].fix),
        ("cvqa-missing-encounter", "ENC00002", None, "no record for ENC00002",
         CODES["cvqa-missing-encounter"].fix)]
    assert check_records([gappy], TARGETS)[1] == 1


def test_an_encounter_whose_only_record_crashes_is_not_also_missing() -> None:
    crashing = {**other(), "CQID010-001": [1]}
    codes = [f[0] for f in findings([full_record(), crashing])]
    assert codes == ["cvqa-value-type"]
    assert check_records([full_record(), crashing], TARGETS)[1] == 1
    malformed = {**other(), "CQID010--01": 1}
    assert [f[:3] for f in findings([full_record(), malformed])] == [
        ("cvqa-malformed-key", "ENC00002", "CQID010--01")]
    assert findings([full_record(), malformed])[0][3] == ("record 1: key 'CQID010--01' does not "
                                                          "split into PARENT-SLOT at one '-'")
    # Another, readable record of the same encounter: the encounter is answered.
    assert [f[0] for f in findings([full_record(), malformed, other()])] == [
        "cvqa-malformed-key", "cvqa-duplicate-encounter"]


def test_warnings_of_readable_records() -> None:
    records = [full_record(), {**other(), "encounter_id": "ENC00002-b"},
               {**other("ENC00003")}, {"encounter_id": "ENC00001", "cqid10 1": 0},
               {"encounter_id": "ENC00001", 7: 1}]
    assert findings(records) == [
        ("cvqa-encounter-suffix", "ENC00002", None, "record 1: 'ENC00002-b' is read as 'ENC00002'",
         CODES["cvqa-encounter-suffix"].fix),
        ("cvqa-ignored-key", "ENC00001", "cqid10 1", "record 3: key 'cqid10 1' is not 11 "
                                                     "characters long: the scorer ignores it",
         "did you mean CQID010-001?"),
        ("cvqa-ignored-key", "ENC00001", "7", "record 4: key 7 is not 11 characters long: the "
                                              "scorer ignores it", CODES["cvqa-ignored-key"].fix),
        ("cvqa-duplicate-encounter", "ENC00001", None, "records [0, 3, 4] all answer ENC00001; "
                                                       "their answers merge into one set per family",
         CODES["cvqa-duplicate-encounter"].fix),
        ("cvqa-extra-encounter", "ENC00003", None, "ENC00003 is not in the split",
         CODES["cvqa-extra-encounter"].fix)]
    assert check_records(records, TARGETS)[1] == 2


def test_unknown_qids_of_scored_and_unscored_families() -> None:
    records = [{**full_record(), "CQID010-002": 1, "CQID099-001": [1]}, other()]
    assert findings(records) == [
        ("cvqa-unknown-qid", "ENC00001", "CQID010-002", "record 0: CQID010-002 is not one of the "
                                                        "27 qids; it still counts toward CQID010's "
                                                        "answers", CODES["cvqa-unknown-qid"].fix),
        ("cvqa-unknown-qid", "ENC00001", "CQID099-001", "record 0: CQID099-001 is not one of the "
                                                        "27 qids; 'CQID099' is not a scored family: "
                                                        "ignored", CODES["cvqa-unknown-qid"].fix)]


def test_family_checks_only_for_split_encounters() -> None:
    unpadded = {**other("ENC00009"), "CQID011-001": 2, "CQID011-002": 1}
    for qid in ("CQID011-003", "CQID011-004", "CQID011-005", "CQID011-006"):
        del unpadded[qid]
    assert [f[0] for f in findings([full_record(), other(), unpadded])] == ["cvqa-extra-encounter"]


def test_records_built_in_memory_with_a_key_that_is_not_a_string(tmp_path: Path,
                                                                 sample_data: Path,
                                                                 sample_submission: Path) -> None:
    """``magic_submit.pack_submission(cvqa=records)``: a non-str key (a model's int label) is
    reported as ignored, as the written JSON ("7") is ignored by the scorer; no TypeError."""
    import json

    from magic_submit.packing import pack_submission

    records = json.loads((sample_submission / F).read_text(encoding="utf-8"))
    records[0][7] = 1
    assert [f[:4] for f in findings([{**full_record(), 7: 1}, other()])] == [
        ("cvqa-ignored-key", "ENC00001", "7", "record 0: key 7 is not 11 characters long: the "
                                              "scorer ignores it")]
    result = pack_submission(sample_data / "test.json", sample_data / "images_test",
                             masks_dir=sample_submission / "masks_preds", cvqa=records,
                             output=tmp_path / "s.zip")
    assert {p.code for p in result.report.warnings} == {"cvqa-ignored-key"}
    assert (tmp_path / "s.zip").is_file()
