"""``magic validate-submission`` on entries that are not what their names say, on a zip inside a
zip, and on a multi-slot family that repeats an answer instead of padding it."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from magic_submit.challenge import PARENT_BY_ID
from submission_cases import (
    CVQA, FIRST_MASK, MASKS, as_zip, edit_records, mask_path, problems_of,
    validate_cli,
)

ENC = "ENC00908"  # the first record of the sample submission



def test_masks_preds_that_is_a_file_is_named_as_such(submission: Path, sample_data: Path) -> None:
    shutil.rmtree(submission / MASKS)
    (submission / MASKS).write_text("not a folder")
    status, report = validate_cli(submission, sample_data)
    (problem,) = problems_of(report, "masks-not-folder")
    assert status == 1 and "masks_preds is a file, not a folder" in problem["message"]
    assert "segmentation 0.0" in problem["message"] and not problems_of(report, "submission-no-parts")


@pytest.mark.parametrize("make, kind, effect", [
    (lambda p: (p.unlink(), p.mkdir()), "a folder", "crashes (IsADirectoryError)"),
    (lambda p: (p.unlink(), os.mkfifo(p)), "a FIFO (named pipe)", "hangs"),
    (lambda p: (p.unlink(), p.symlink_to(os.devnull)), "a device file", "hangs or crashes"),
])
def test_cvqa_file_that_is_not_a_file_is_named_and_never_opened(submission: Path, sample_data: Path,
                                                                make, kind: str, effect: str) -> None:
    make(submission / CVQA)
    status, report = validate_cli(submission, sample_data)
    (problem,) = problems_of(report, "cvqa-not-file")
    assert status == 1 and f"data_cvqa_sys.json is {kind}, not a file" in problem["message"]
    assert effect in problem["message"] and not problems_of(report, "cvqa-missing")


def test_fifo_named_as_a_mask_is_never_opened(submission: Path, sample_data: Path) -> None:
    mask_path(submission).unlink()
    os.mkfifo(mask_path(submission))  # reading it would block the test forever
    status, report = validate_cli(submission, sample_data)
    (problem,) = problems_of(report, "mask-not-a-file")
    assert status == 1 and problem["file"] == f"{MASKS}/{FIRST_MASK}"
    assert "the official scorer hangs" in problem["message"]


def test_zip_holding_only_a_zip_names_the_inner_zip(submission: Path, sample_data: Path,
                                                    tmp_path: Path) -> None:
    inner = as_zip(submission)
    outer = tmp_path / "upload.zip"
    with zipfile.ZipFile(outer, "w") as handle:
        handle.write(inner, "my_submission.zip")
    status, report = validate_cli(outer, sample_data)
    (problem,) = report["errors"]
    assert status == 1 and problem["code"] == "submission-nested-zip"
    assert "'my_submission.zip'" in problem["message"] and "my_submission.zip" in problem["hint"]


def _family(qid_values: dict[str, int]):
    def edit(records: list[dict]) -> None:
        records[0].update(qid_values)
    return edit


def test_a_family_repeating_one_answer_gets_a_warning_with_the_fix(submission: Path,
                                                                   sample_data: Path) -> None:
    site = PARENT_BY_ID["CQID011"]
    edit_records(submission, _family({q: 2 for q in site.qids}))
    status, report = validate_cli(submission, sample_data)
    (problem,) = problems_of(report, "cvqa-repeated-answer")
    assert status == 0 and problem["severity"] == "warning"
    assert (problem["encounter_id"], problem["qid"]) == (ENC, "CQID011-001")
    assert "the scorer reads the set {2}" in problem["message"] and "1/2" in problem["message"]
    assert problem["hint"].endswith("[2, 7, 7, 7, 7, 7]")


@pytest.mark.parametrize("values", [[2, 2, 7, 7, 7, 7], [7] * 6, [0, 1, 2, 3, 4, 5]])
def test_padded_all_nm_or_distinct_families_get_no_repeat_warning(values: list[int],
                                                                  submission: Path,
                                                                  sample_data: Path) -> None:
    site = PARENT_BY_ID["CQID011"]
    edit_records(submission, _family(dict(zip(site.qids, values))))
    _, report = validate_cli(submission, sample_data)
    assert not problems_of(report, "cvqa-repeated-answer")
