"""``magic score`` end to end: sample data, both submission forms, both reference layouts, errors."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import zipfile
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from builders import (
    declare_tiff_size, platform_reference, write_json, write_seg_case, zip_folder,
)
from evaluation.facts import OFFICIAL_KEYS
from magic_submit.cli import app
from reference_impl import score_cvqa_files, score_segmentation_folders

runner = CliRunner()


def score(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["score", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def score_json(*args: str) -> dict:
    code, out, err = score(*args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture()
def submission_copy(tmp_path: Path, sample_submission: Path) -> Path:
    return Path(shutil.copytree(sample_submission, tmp_path / "submission"))


def test_sample_table_lists_every_official_metric(sample_data: Path, sample_submission: Path) -> None:
    code, out, err = score(sample_submission, "--reference", sample_data, "--split", "test")
    assert code == 0, err
    for key in OFFICIAL_KEYS:
        assert key in out
    assert "Dice M(Max)" in out


def test_sample_json_equals_the_plain_implementation(sample_data: Path,
                                                     sample_submission: Path) -> None:
    scores = score_json(sample_submission, "--reference", sample_data, "--split", "test")
    assert list(scores)[: len(OFFICIAL_KEYS)] == list(OFFICIAL_KEYS)
    expected = score_segmentation_folders(str(sample_data / "dermavqa-segmentations" / "test"),
                                          str(sample_submission / "masks_preds"))
    expected |= score_cvqa_files(str(sample_data / "test_cvqa.json"),
                                 str(sample_submission / "data_cvqa_sys.json"))
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value, rel=1e-12), key
    assert scores["nan_images"] == [] and scores["parts_scored"] == ["segmentation", "cvqa"]


def test_zip_and_folder_give_the_same_numbers(tmp_path: Path, sample_data: Path,
                                              sample_submission: Path) -> None:
    archive = zip_folder(sample_submission, tmp_path / "submission.zip")
    folder = score_json(sample_submission, "--reference", sample_data, "--split", "test")
    zipped = score_json(archive, "--reference", sample_data, "--split", "test")
    assert {k: zipped[k] for k in OFFICIAL_KEYS} == {k: folder[k] for k in OFFICIAL_KEYS}


def test_platform_reference_layout(tmp_path: Path, sample_data: Path, sample_submission: Path) -> None:
    ref = platform_reference(sample_data, tmp_path / "ref")
    platform = score_json(sample_submission, "--reference", ref)
    dataset = score_json(sample_submission, "--reference", sample_data, "--split", "test")
    assert {k: platform[k] for k in OFFICIAL_KEYS} == {k: dataset[k] for k in OFFICIAL_KEYS}


def test_missing_masks_stop_with_every_id_unless_allowed(submission_copy: Path,
                                                         sample_data: Path) -> None:
    masks = sorted((submission_copy / "masks_preds").glob("*.tiff"))
    removed = [m.name.split("_mask_")[0] for m in masks[:2]]
    for mask in masks[:2]:
        mask.unlink()
    code, out, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert code == 1 and out == ""
    assert all(image_id in err for image_id in removed) and "--allow-missing" in err
    assert "Traceback" not in err
    code, out, err = score(submission_copy, "--reference", sample_data, "--split", "test",
                           "--allow-missing", "--json")
    assert code == 0
    assert "2 image(s) without a prediction scored as empty" in " ".join(json.loads(out)["notes"])


def test_missing_cvqa_answers_stop_with_every_id(submission_copy: Path, sample_data: Path) -> None:
    path = submission_copy / "data_cvqa_sys.json"
    records = json.loads(path.read_text())
    dropped = records.pop(3)["encounter_id"]
    del records[0]["CQID025-001"]
    write_json(path, records)
    code, _, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert code == 1 and dropped in err and f"{records[0]['encounter_id']}/CQID025" in err
    scores = score_json(submission_copy, "--reference", sample_data, "--split", "test",
                        "--allow-missing")
    assert dropped in scores["cvqa_missing"]


def test_output_files(tmp_path: Path, sample_data: Path, sample_submission: Path) -> None:
    out = tmp_path / "out"
    code, _, err = score(sample_submission, "--reference", sample_data, "--split", "test",
                         "--output", out)
    assert code == 0, err
    official = json.loads((out / "scores.json").read_text())
    assert list(official) == list(OFFICIAL_KEYS)
    per_image = (out / "per_image.csv").read_text().splitlines()
    assert per_image[0].startswith("image_id,annotators,n_annotators,jaccard_ann0")
    assert len(per_image) == 1 + official["number_segmentation_instances"]
    per_encounter = (out / "per_encounter.csv").read_text().splitlines()
    assert per_encounter[0] == "encounter_id,parent,gold,system,iom,missing"
    assert len(per_encounter) == 1 + 9 * official["number_cvqa_instances"]


def _nan_case(root: Path) -> tuple[Path, Path]:
    ref = root / "ref" / "masks_refs"
    preds = root / "sub" / "masks_preds"
    ref.mkdir(parents=True)
    preds.mkdir(parents=True)
    empty, blob = np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8)
    blob[1:3, 1:4] = 1
    tifffile.imwrite(ref / "IMG_ENC00001_00001_mask_ann0.tiff", empty)
    tifffile.imwrite(ref / "IMG_ENC00001_00001_mask_ann1.tiff", blob)
    tifffile.imwrite(ref / "IMG_ENC00002_00001_mask_ann0.tiff", blob)
    tifffile.imwrite(preds / "IMG_ENC00001_00001_mask_sys.tiff", empty)
    tifffile.imwrite(preds / "IMG_ENC00002_00001_mask_sys.tiff", blob)
    return root / "sub", root / "ref"


def test_nan_is_reported_with_its_images_and_the_convention(tmp_path: Path) -> None:
    sub, ref = _nan_case(tmp_path)
    scores = score_json(sub, "--reference", ref)
    assert scores["jaccard_meanofmax"] is None and scores["dice_meanofmean"] is None
    assert scores["nan_images"] == ["IMG_ENC00001_00001"]
    assert scores["jaccard_meanofmax_empty_is_one"] == 1.0
    assert scores["jaccard_meanofmean_empty_is_one"] == (0.5 + 1.0) / 2
    code, out, _ = score(sub, "--reference", ref)
    assert code == 0 and "NaN" in out and "IMG_ENC00001_00001" in out
    code, _, _ = score(sub, "--reference", ref, "--output", tmp_path / "o")
    assert math.isnan(json.loads((tmp_path / "o" / "scores.json").read_text())["jaccard_meanofmax"])


def test_single_part_submissions(tmp_path: Path, sample_data: Path, sample_submission: Path) -> None:
    """No masks_preds/: the official zeros (7 keys, count 0). No data_cvqa_sys.json: the official
    scorer crashes (FileNotFoundError), so magic stops unless --allow-missing."""
    only_cvqa = tmp_path / "cvqa"
    only_cvqa.mkdir()
    shutil.copy(sample_submission / "data_cvqa_sys.json", only_cvqa)
    scores = score_json(only_cvqa, "--reference", sample_data, "--split", "test")
    assert list(scores)[:len(OFFICIAL_KEYS)] == list(OFFICIAL_KEYS)
    assert scores["dice"] == 0.0 and scores["number_segmentation_instances"] == 0
    assert any("no masks_preds/ folder" in n for n in scores["notes"])
    only_masks = Path(shutil.copytree(sample_submission / "masks_preds", tmp_path / "m" / "masks_preds"))
    code, out, err = score(only_masks.parent, "--reference", sample_data, "--split", "test")
    assert code == 1 and out == "" and "no data_cvqa_sys.json" in err
    assert "FileNotFoundError" in err and "--allow-missing" in err
    scores = score_json(only_masks.parent, "--reference", sample_data, "--split", "test",
                        "--allow-missing")
    assert "dice" in scores and "accuracy_all" not in scores and scores["parts_scored"] == [
        "segmentation"]


def test_empty_parts_score_zero_like_the_platform(tmp_path: Path, sample_data: Path) -> None:
    """Official figures, obtained by running the organisers' run_segandcvqa_scoring.py on this
    layout (an empty masks_preds/, data_cvqa_sys.json = []): every figure 0.0,
    number_segmentation_instances = 0 and number_cvqa_instances = 0 (not the reference's 20/12)."""
    sub = tmp_path / "sub"
    (sub / "masks_preds").mkdir(parents=True)
    write_json(sub / "data_cvqa_sys.json", [])
    scores = score_json(sub, "--reference", sample_data, "--split", "test")
    assert scores["dice"] == 0.0 and scores["accuracy_all"] == 0.0
    assert scores["number_segmentation_instances"] == 0
    assert scores["number_cvqa_instances"] == 0


@pytest.mark.parametrize("damage, culprit", [
    ("truncate", "not a readable TIFF"),
    ("resize", "sizes differ"),
])
def test_broken_masks_are_named(submission_copy: Path, sample_data: Path, damage: str,
                                culprit: str) -> None:
    mask = sorted((submission_copy / "masks_preds").glob("*.tiff"))[0]
    if damage == "truncate":
        mask.write_bytes(mask.read_bytes()[:40])
    else:
        tifffile.imwrite(mask, np.zeros((352, 352), np.uint8))
    code, _, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert code == 1 and culprit in err and mask.name.split("_mask_")[0] in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content, message", [
    (b"\xef\xbb\xbf[]", "byte-order mark"),
    (b"[{", "not valid JSON"),
    (b'{"encounter_id": "x"}', "iterates it as records and crashes"),
    (b"\xff\xfe[", "not UTF-8"),
])
def test_broken_cvqa_file_is_named(submission_copy: Path, sample_data: Path, content: bytes,
                                   message: str) -> None:
    (submission_copy / "data_cvqa_sys.json").write_bytes(content)
    code, _, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert code == 1 and message in err and "data_cvqa_sys.json" in err


def test_wrapped_zip_says_to_zip_the_contents(tmp_path: Path, sample_data: Path,
                                              sample_submission: Path) -> None:
    archive = zip_folder(sample_submission, tmp_path / "s.zip", prefix="submission/")
    code, _, err = score(archive, "--reference", sample_data, "--split", "test")
    assert code == 1 and "zip the contents, not the folder" in err


def test_usage_errors_exit_2(sample_data: Path, sample_submission: Path) -> None:
    assert score(sample_submission, "--reference", sample_data)[0] == 2  # dataset root, no split
    assert score(sample_submission)[0] == 2
    assert score(sample_submission, "--reference", sample_data, "--workers", "0")[0] == 2


def test_json_error_object(tmp_path: Path, sample_data: Path) -> None:
    code, out, _ = score(tmp_path / "nope", "--reference", sample_data, "--split", "test", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "submission-missing"


def test_subprocess_keeps_data_on_stdout_and_messages_on_stderr(tmp_path: Path, sample_data: Path,
                                                                sample_submission: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "magic_submit", "score", str(sample_submission),
                           "--reference", str(sample_data), "--split", "test", "--json",
                           "--output", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["number_cvqa_instances"] == 12
    assert "wrote" in done.stderr and "wrote" not in done.stdout


def test_zip_keeps_an_empty_masks_folder(tmp_path: Path, sample_data: Path,
                                         sample_submission: Path) -> None:
    folder = tmp_path / "sub"
    (folder / "masks_preds").mkdir(parents=True)
    shutil.copy(sample_submission / "data_cvqa_sys.json", folder)
    archive = zip_folder(folder, tmp_path / "sub.zip")
    for form in (folder, archive):
        scores = score_json(form, "--reference", sample_data, "--split", "test")
        assert scores["parts_scored"] == ["segmentation", "cvqa"] and scores["dice"] == 0.0


def test_damaged_deflate_stream_is_a_clear_error(tmp_path: Path, sample_data: Path,
                                                 sample_submission: Path) -> None:
    archive = zip_folder(sample_submission, tmp_path / "sub.zip")
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo("data_cvqa_sys.json")
    raw = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start:start + 8] = b"\xff" * 8  # deflate block type 3: invalid
    archive.write_bytes(bytes(raw))
    code, _, err = score(archive, "--reference", sample_data, "--split", "test")
    assert code == 1 and "data_cvqa_sys.json" in err and "Traceback" not in err


def test_output_that_is_a_file_is_a_usage_error(tmp_path: Path, sample_data: Path,
                                                sample_submission: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    assert score(sample_submission, "--reference", sample_data, "--split", "test",
                 "--output", blocker)[0] == 2


def test_progress_counts_images_not_reference_files(tmp_path: Path) -> None:
    from magic_submit.scoring.segmentation_files import score_segmentation

    ref, pred = write_seg_case(tmp_path, np.random.default_rng(4), n_images=5)
    (ref / ".hidden_mask_ann0.tiff").write_bytes(b"")  # never scanned, never counted
    started, done = [], []
    score_segmentation(pred, ref, on_start=started.append, on_image=lambda: done.append(1))
    n_files = sum(1 for _ in ref.glob("*.tiff"))
    assert started == [5] and len(done) == 5 and n_files > 5


def test_reference_faults_are_blamed_on_the_reference(tmp_path: Path, sample_data: Path,
                                                     sample_submission: Path) -> None:
    ref = platform_reference(sample_data, tmp_path / "ref")
    golds = sorted((ref / "masks_refs").glob("IMG_ENC00908_00001_mask_ann*.tiff"))
    assert len(golds) >= 2
    shape = tifffile.imread(golds[0]).shape
    tifffile.imwrite(golds[1], np.zeros(shape[::-1], np.uint8))  # same pixels, other shape
    broken = sorted((ref / "masks_refs").glob("IMG_ENC00909_00001_mask_ann*.tiff"))[0]
    broken.write_bytes(b"not a tiff")
    code, out, err = score(sample_submission, "--reference", ref, "--json")
    assert code == 1 and "Traceback" not in err
    error = json.loads(out)["error"]
    message = error["message"]
    assert "[reference]" in message and "annotator masks of IMG_ENC00908_00001 differ in shape" in message
    assert golds[1].name in message and broken.name in message and "[prediction]" not in message
    assert "reference masks" in error["hint"] and "write 2-D masks" not in error["hint"]
    assert "IMG_ENC00908_00001: IMG_ENC00908_00001" not in err  # ids are not repeated


def test_prediction_size_fault_names_the_prediction_once(submission_copy: Path,
                                                         sample_data: Path) -> None:
    mask = sorted((submission_copy / "masks_preds").glob("*.tiff"))[0]
    tifffile.imwrite(mask, np.zeros((352, 352), np.uint8))
    code, out, err = score(submission_copy, "--reference", sample_data, "--split", "test", "--json")
    error = json.loads(out)["error"]
    assert code == 1 and f"[prediction] {mask}: prediction and reference sizes differ" in error["message"]
    assert error["hint"].startswith("write 2-D masks") and err.count(mask.name) == 1


def test_tiff_size_bomb_is_refused_before_decoding(submission_copy: Path, sample_data: Path) -> None:
    mask = sorted((submission_copy / "masks_preds").glob("*.tiff"))[0]
    tifffile.imwrite(mask, np.zeros((2, 2), np.uint8))
    mask.write_bytes(declare_tiff_size(mask.read_bytes(), 60_000, 60_000))
    code, _, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert code == 1 and "3600000000 pixels" in err and mask.name in err and "Traceback" not in err


def test_header_shapes_are_compared_before_decoding(submission_copy: Path, sample_data: Path) -> None:
    """A prediction whose header is fine but whose pixel data is cut off: had it been decoded,
    the error would be "not a readable TIFF"; compared by its header first, it is a size error."""
    mask = sorted((submission_copy / "masks_preds").glob("*.tiff"))[0]
    tifffile.imwrite(mask, np.ones((300, 200), np.uint8))  # the image is 310 x 557
    mask.write_bytes(mask.read_bytes()[:-50_000])
    code, _, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert code == 1 and "prediction and reference sizes differ" in err
    assert "not a readable TIFF" not in err


@pytest.mark.parametrize("where, code", [("other encounter", 0), ("unscored family", 0),
                                         ("scored pair", 1)])
def test_unhashable_answers_fail_only_where_the_official_scorer_crashes(
        submission_copy: Path, sample_data: Path, where: str, code: int) -> None:
    path = submission_copy / "data_cvqa_sys.json"
    records = json.loads(path.read_text())
    if where == "other encounter":
        records.append({**records[0], "encounter_id": "ENC99999", "CQID010-001": [1]})
    elif where == "unscored family":
        records[0]["CQID099-001"] = {"a": 1}
    else:
        records[0]["CQID010-001"] = [1]
    write_json(path, records)
    status, out, err = score(submission_copy, "--reference", sample_data, "--split", "test")
    assert status == code and "Traceback" not in err
    if code:
        assert f"{records[0]['encounter_id']}/CQID010: list [1]" in err and "data_cvqa_sys.json" in err


def test_json_is_ascii_for_any_file_name(tmp_path: Path, sample_data: Path) -> None:
    code, out, _ = score(tmp_path / "sous-dossier-é", "--reference", sample_data, "--split", "test",
                         "--json")
    assert code == 1 and out.isascii() and "\\u00e9" in out
    assert json.loads(out)["error"]["file"].endswith("sous-dossier-é")


def test_slips_are_scored_officially_and_said_on_stderr_and_in_notes(submission_copy: Path,
                                                                     sample_data: Path) -> None:
    """0/255 masks (no foreground officially) and string answers (never equal): the official
    figures, a warning naming each file / encounter and the fix, even with --quiet."""
    masks = sorted((submission_copy / "masks_preds").glob("*.tiff"))
    for path in masks[:3]:
        tifffile.imwrite(path, tifffile.imread(path) * 255)
    path = submission_copy / "data_cvqa_sys.json"
    records = json.loads(path.read_text())
    records[1]["CQID010-001"] = str(records[1]["CQID010-001"])
    write_json(path, records)
    scores = score_json(submission_copy, "--reference", sample_data, "--split", "test")
    expected = score_segmentation_folders(str(sample_data / "dermavqa-segmentations" / "test"),
                                          str(submission_copy / "masks_preds"))
    assert scores["dice"] == pytest.approx(expected["dice"], rel=1e-12)
    (masks_note,) = [n for n in scores["notes"] if "0/255" in n]
    assert masks_note.startswith("warning: 3 prediction(s)") and "magic pack --fix" in masks_note
    assert all(m.name in masks_note for m in masks[:3])
    (answers_note,) = [n for n in scores["notes"] if "not int option indices" in n]
    assert f"{records[1]['encounter_id']} CQID010-001" in answers_note
    assert [w["code"] for w in scores["warnings"]] == ["mask-values-255", "cvqa-value-type"]
    code, out, err = score(submission_copy, "--reference", sample_data, "--split", "test", "--quiet")
    assert code == 0 and err.count("warning:") == 2 and masks[0].name in err and "note:" not in err
