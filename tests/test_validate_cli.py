"""``magic validate-submission`` end to end: text and JSON output, exit statuses, API, no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magic_submit.cli import app
from magic_submit.dataset import load_encounters
from magic_submit.validation import CODES, Problem, ValidationReport, validate_submission
from submission_cases import (
    CVQA, FIRST_ID, MASKS, mask_path, rewrite_mask, runner,
)



def invoke(*args) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate-submission", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_text_output_valid(sample_submission: Path, sample_data: Path) -> None:
    code, out, _ = invoke(sample_submission, "--split", sample_data / "test.json", "--images",
                          sample_data / "images_test")
    assert code == 0
    assert "VALID (0 errors, 0 warnings, 0 notes)" in out
    assert "20 masks read (sizes from" in out and "12 of 12 encounters answered" in out


def test_text_output_names_culprit_and_fix(submission: Path, sample_data: Path) -> None:
    rewrite_mask(submission, lambda m: m * 255)
    code, out, _ = invoke(submission, "--split", sample_data / "test.json", "--images",
                          sample_data / "images_test")
    assert code == 1
    assert "error mask-values-255" in out and f"masks_preds/{FIRST_ID}_mask_sys.tiff [{FIRST_ID}]" in out
    assert "fix: write 0/1 values" in out and "INVALID (1 error" in out


def test_long_lists_are_cut_unless_all(submission: Path, sample_data: Path) -> None:
    for path in (submission / MASKS).glob("*.tiff"):
        path.unlink()
    (submission / MASKS / "x.tiff").write_bytes(b"")  # a tiff is there: missing masks crash
    args = (submission, "--split", sample_data / "test.json")
    code, out, _ = invoke(*args)
    assert code == 1 and "... and 10 more" in out and out.count("no IMG_") == 10
    code, out, _ = invoke(*args, "--all")
    assert "more" not in out and out.count("no IMG_") == 20


def test_without_images_sizes_are_not_checked_and_the_verdict_says_so(
        submission: Path, sample_data: Path, tmp_path: Path) -> None:
    alone = tmp_path / "split-alone"  # the query file without its photos beside it
    alone.mkdir()
    shutil.copy(sample_data / "test.json", alone / "test.json")
    rewrite_mask(submission, lambda m: np.zeros((352, 352), np.uint8))
    code, out, _ = invoke(submission, "--split", alone / "test.json", "--json")
    report = json.loads(out)
    assert code == 0 and [p["code"] for p in report["notes"]] == ["sizes-not-checked"]
    assert report["summary"]["sizes_from"] is None
    code, out, _ = invoke(submission, "--split", alone / "test.json")
    assert code == 0 and "VALID as far as checked" in out
    assert "mask sizes not checked, pass --images or --reference" in out
    assert "will be scored as intended" not in out


def test_every_mask_at_one_square_size_is_a_warning_without_images(
        submission: Path, sample_data: Path, tmp_path: Path) -> None:
    shutil.copy(sample_data / "test.json", tmp_path / "test.json")
    model_output = np.zeros((352, 352), np.uint8)
    model_output[100:200, 100:200] = 1
    for path in (submission / MASKS).glob("*.tiff"):
        tifffile.imwrite(path, model_output)
    code, out, _ = invoke(submission, "--split", tmp_path / "test.json", "--json")
    report = json.loads(out)
    (warning,) = report["warnings"]
    assert code == 0 and warning["code"] == "masks-one-square-size"
    assert "all 20 masks are 352x352" in warning["message"] and "--images" in warning["hint"]


@pytest.mark.parametrize("split_args", [
    lambda d: ["--split", d / "test.json"],  # photos found beside the query file
    lambda d: ["--data", d, "--split", "test"],  # a split name under the dataset root
], ids=["query file path", "name under --data"])
def test_photos_of_the_split_are_found_and_sizes_checked(split_args, submission: Path,
                                                        sample_data: Path) -> None:
    rewrite_mask(submission, lambda m: np.ascontiguousarray(m.T))
    code, out, _ = invoke(submission, *split_args(sample_data))
    assert code == 1 and "error mask-size" in out and "height and width are swapped" in out
    assert "sizes from" in out
    # The transposed mask gets one fix line, and it names the repair, not a command refusing it.
    assert out.count("fix:") == 1 and "fix: transpose it before saving (mask.T)" in out


def test_a_wrong_split_name_lists_the_splits_found(submission: Path, sample_data: Path) -> None:
    code, _, err = invoke(submission, "--data", sample_data, "--split", "tst")
    assert code == 2 and "no query file for split 'tst'" in err
    assert f"splits found in {sample_data}: test, train, valid" in err
    code, _, err = invoke(submission, "--split", "test")
    assert code == 2 and "--split test is a split name: give the dataset root with --data" in err


def test_json_has_every_field(submission: Path, sample_data: Path) -> None:
    mask_path(submission).unlink()
    code, out, _ = invoke(submission, "--split", sample_data / "test.json", "--json")
    report = json.loads(out)
    assert code == 1 and set(report) == {"valid", "errors", "warnings", "notes", "summary"}
    (problem,) = report["errors"]
    assert set(problem) == {"code", "severity", "message", "file", "image_id", "encounter_id",
                            "qid", "hint"}
    assert report["summary"]["errors"] == 1 and report["summary"]["kind"] == "folder"


@pytest.mark.parametrize("make_args", [
    lambda s, d, t: [s, "--split", d / "test.json", "--images", d / "images_test",
                     "--reference", d],
    lambda s, d, t: [s, "--split", t / "nowhere.json"],
    lambda s, d, t: [s, "--split", d / "test_cvqa.json"],  # records, not encounters
    lambda s, d, t: [s, "--split", d / "test.json", "--images", t / "nowhere"],
    lambda s, d, t: [s, "--split", d / "test.json", "--images", d / "images_valid"],
    lambda s, d, t: [s, "--split", d / "test.json", "--reference", t],
    lambda s, d, t: [s],
], ids=["images and reference", "no split file", "records as split", "no image folder",
        "other split's images", "empty reference", "no --split"])
def test_usage_errors_exit_2(make_args, sample_submission: Path, sample_data: Path,
                             tmp_path: Path) -> None:
    code, _, err = invoke(*make_args(sample_submission, sample_data, tmp_path))
    assert code == 2 and "Traceback" not in err


def test_missing_submission_is_a_finding_exit_1(sample_data: Path, tmp_path: Path) -> None:
    code, out, err = invoke(tmp_path / "no-submission", "--split", sample_data / "test.json", "--json")
    assert code == 1 and "Traceback" not in err
    (problem,) = json.loads(out)["errors"]
    assert problem["code"] == "submission-missing" and "no-submission" in problem["file"]


def test_subprocess_exit_statuses(submission: Path, sample_data: Path) -> None:
    base = [sys.executable, "-m", "magic_submit", "validate-submission", str(submission),
            "--split", str(sample_data / "test.json"), "--images", str(sample_data / "images_test")]
    done = subprocess.run(base, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (submission / CVQA).write_bytes(b"\xef\xbb\xbf[]")
    done = subprocess.run(base + ["--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["errors"][0]["code"] == "cvqa-bom"


def test_api_accepts_loaded_encounters_and_bare_split(submission: Path, sample_data: Path,
                                                      tmp_path: Path) -> None:
    encounters = load_encounters(sample_data / "test.json")
    report = validate_submission(submission, encounters, images_dir=sample_data / "images_test")
    assert isinstance(report, ValidationReport) and report.valid and report.summary["split_images"] == 20
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps([{"encounter_id": e.encounter_id, "image_ids": list(e.image_files)}
                                for e in encounters]))
    report = validate_submission(submission, bare, images_dir=sample_data / "images_test")
    assert report.valid and report.to_dict()["summary"]["split_encounters"] == 12
    assert all(isinstance(p, Problem) for p in report.notes)


def test_other_suffix(submission: Path, sample_data: Path) -> None:
    for path in (submission / MASKS).glob("*.tiff"):
        path.rename(path.with_name(path.name.replace("_mask_sys", "_mask_team1")))
    assert validate_submission(submission, sample_data / "test.json", suffix="team1").valid
    report = validate_submission(submission, sample_data / "test.json")
    assert {p.code for p in report.errors} == {"mask-wrong-suffix"} and len(report.errors) == 20


# ---- no input of any kind produces a traceback ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 20) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["encounter_id", "CQID010-001", "CQID011-002", "CQID0-0-001", "x", "ENC"]),
        inner, max_size=5),
    max_leaves=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_any_cvqa_content_gives_a_report(data, submission: Path, sample_data: Path) -> None:
    """Content the official scorer crashes on is never called valid; every finding is coded."""
    from evaluation.cvqa import score_cvqa
    from evaluation.errors import ScoringError

    (submission / CVQA).write_text(json.dumps(data), encoding="utf-8")
    report = validate_submission(submission, sample_data / "test.json")
    gold = json.loads((sample_data / "test_cvqa.json").read_text(encoding="utf-8"))
    try:
        score_cvqa(gold, data)
    except ScoringError:
        assert not report.valid and any(p.file == CVQA for p in report.errors)
    assert all(p.severity == CODES[p.code].severity for p in report.problems)
    json.dumps(report.to_dict(), allow_nan=True)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), dtype=st.sampled_from(["uint8", "int16", "float32", "bool"]),
       shape=st.lists(st.integers(0, 5), min_size=0, max_size=4))
def test_any_mask_content_gives_a_report(raw: bytes, dtype: str, shape: list[int], submission: Path,
                                         sample_data: Path) -> None:
    mask_path(submission).write_bytes(raw)
    report = validate_submission(submission, sample_data / "test.json",
                                 images_dir=sample_data / "images_test")
    assert "mask-unreadable" in report.codes() or not raw
    array = np.zeros(shape, dtype=dtype)
    if array.size:
        array.flat[0] = 1
    try:
        tifffile.imwrite(mask_path(submission), array)
    except Exception:  # noqa: BLE001 - tifffile refuses some shapes; then the file is junk anyway
        return
    report = validate_submission(submission, sample_data / "test.json",
                                 images_dir=sample_data / "images_test")
    assert not report.valid  # wrong size at the least


@pytest.mark.parametrize("name", [
    "magic_submit.validation", "magic_submit.validation.problems", "magic_submit.validation.report",
    "magic_submit.validation.mask_names", "magic_submit.validation.mask_content",
    "magic_submit.validation.cvqa_check", "magic_submit.validation.core"])
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest
    import importlib

    from conftest import REPO

    monkeypatch.chdir(REPO)  # examples refer to sample_data/ relative to the repository
    assert doctest.testmod(importlib.import_module(name)).failed == 0


def test_validation_and_packing_import_without_torch() -> None:
    code = ("import sys; import magic_submit.cli, magic_submit.validation, magic_submit.packing; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
