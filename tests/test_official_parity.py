"""``magic score`` against the organisers' scorer on the cases where they used to differ.

Every figure written here as ``OFFICIAL`` was obtained by running the organisers' scorer itself,
``evaluation/run_segandcvqa_scoring.py`` of github.com/wyim/ImageCLEF-MAGIC-2025 (commit 6d60a81,
2025-04-02), on exactly the case that :func:`builders.platform_case` builds plus the change each test
makes (Python 3.11.7, numpy 2.4.6, tifffile 2026.3.3), in a checkout outside this repository;
"crashes"/"hangs" below are what that run did (a hang: still blocked after 8 s). No code of it is
copied here: the cases are built, and magic's output compared with the recorded figures.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from builders import A, B, C, I1, platform_case
from evaluation.facts import OFFICIAL_KEYS
from magic_submit.cli import app

runner = CliRunner()

# The official scores.json of the unchanged case (segmentation part, then CVQA part).
SEG_BASE = {"jaccard_meanofmax": 0.5, "jaccard_meanofmean": 0.3, "dice_meanofmax": 0.5,
            "dice_meanofmean": 0.3333333333333333, "jaccard": 0.2727272727272727,
            "dice": 0.42857142857142855, "number_segmentation_instances": 2}
CVQA_BASE = {"accuracy_CQID010": 0.5, "accuracy_CQID011": 0.75, "accuracy_CQID012": 0.75,
             "accuracy_CQID015": 0.5, "accuracy_CQID020": 0.75, "accuracy_CQID025": 0.5,
             "accuracy_CQID034": 0.5, "accuracy_CQID035": 0.5, "accuracy_CQID036": 0.5,
             "accuracy_all": 0.5833333333333334, "number_cvqa_instances": 2}
SEG_ZERO = {**{k: 0.0 for k in SEG_BASE}, "number_segmentation_instances": 0}
CVQA_ZERO = {**{k: 0.0 for k in CVQA_BASE}, "number_cvqa_instances": 0}


@pytest.fixture()
def case(tmp_path: Path) -> tuple[Path, Path]:
    return platform_case(tmp_path)


def run(res: Path, ref: Path, *extra: str) -> tuple[int, dict, str]:
    result = runner.invoke(app, ["score", str(res), "--reference", str(ref), "--json", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def official_part(scores: dict) -> dict:
    return {k: scores[k] for k in OFFICIAL_KEYS}


def warning_codes(scores: dict) -> list[str]:
    return [w["code"] for w in scores["warnings"]]


def test_the_unchanged_case_equals_the_official_figures(case) -> None:
    ref, res = case
    code, scores, _ = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_BASE | CVQA_BASE
    assert scores["warnings"] == []


@pytest.mark.parametrize("content", ["empty", "hidden files only"])
def test_case1_no_visible_tiff_counts_zero_images(case, content: str) -> None:
    """1. OFFICIAL: every segmentation figure 0.0 and number_segmentation_instances = 0 (it
    counts the prediction folder's images, not the reference's), CVQA unchanged."""
    ref, res = case
    for path in (res / "masks_preds").iterdir():
        if content == "empty":
            path.unlink()
        else:
            path.rename(path.parent / f".{path.name}")  # glob('*.tiff') skips hidden files
    code, scores, _ = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_ZERO | CVQA_BASE


@pytest.mark.parametrize("content", ["[]", "{}", '""'])
def test_cases_2_and_4_a_cvqa_value_of_length_zero_scores_zero(case, content: str) -> None:
    """2, 4. OFFICIAL: every CVQA figure 0.0 and number_cvqa_instances = 0 for [], {} and ""
    (any value of length 0); {} and "" get a warning, since validate-submission refuses them."""
    ref, res = case
    (res / "data_cvqa_sys.json").write_text(content)
    code, scores, err = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_BASE | CVQA_ZERO
    if content == "[]":
        assert scores["warnings"] == []
    else:
        assert warning_codes(scores) == ["cvqa-not-list"]
        assert "warning:" in err and "data_cvqa_sys.json" in err and "write []" in err


def test_case3_no_masks_folder_writes_the_seven_zeros(case, tmp_path: Path) -> None:
    """3. OFFICIAL: the 7 segmentation keys as 0 (count 0) and the CVQA part: 18 keys."""
    ref, res = case
    shutil.rmtree(res / "masks_preds")
    code, scores, _ = run(res, ref, "--output", str(tmp_path / "out"))
    assert code == 0 and official_part(scores) == SEG_ZERO | CVQA_BASE
    written = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert written == SEG_ZERO | CVQA_BASE and list(written) == list(OFFICIAL_KEYS)


@pytest.mark.parametrize("value, expected", [
    # OFFICIAL, value 1: numpy broadcasts the pixel over the 20 of the reference (all foreground).
    (1, {"jaccard_meanofmax": 0.15, "jaccard_meanofmean": 0.15,
         "dice_meanofmax": 0.23076923076923078, "dice_meanofmean": 0.23076923076923078,
         "jaccard": 0.3125, "dice": 0.47619047619047616, "number_segmentation_instances": 2}),
    # OFFICIAL, value 0: an empty mask everywhere.
    (0, {**SEG_ZERO, "number_segmentation_instances": 2}),
])
def test_case5_a_one_pixel_mask_is_broadcast(case, value: int, expected: dict) -> None:
    """5. A 1x1 prediction: scored (not "the official scorer crashes"), with a warning."""
    ref, res = case
    tifffile.imwrite(res / "masks_preds" / f"{I1}_mask_sys.tiff", np.full((1, 1), value, np.uint8))
    code, scores, err = run(res, ref)
    assert code == 0 and official_part(scores) == expected | CVQA_BASE
    assert warning_codes(scores) == ["mask-one-pixel"] and f"{I1}_mask_sys.tiff" in err


def test_case6_annotator_masks_of_shape_hw_and_1hw_add_up(case) -> None:
    """6. OFFICIAL: (4, 5) and (1, 4, 5) annotator masks broadcast in the majority vote; the
    figures are those of the unchanged case."""
    ref, res = case
    tifffile.imwrite(ref / "masks_refs" / f"{I1}_mask_ann1.tiff", B[None])
    code, scores, _ = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_BASE | CVQA_BASE


def test_case7_two_files_for_one_mask_depend_on_directory_order(case) -> None:
    """7. OFFICIAL: jaccard_meanofmax 0.1, dice 0.14285714285714285... because this listing
    returned X_mask_sys.tiff.tiff last; another listing order gives the unchanged case's
    figures. magic refuses and says why."""
    ref, res = case
    tifffile.imwrite(res / "masks_preds" / f"{I1}_mask_sys.tiff.tiff", C)
    code, out, err = run(res, ref)
    assert code == 1 and out["error"]["code"] == "mask-duplicate"
    assert "depends on directory order" in err and f"{I1}_mask_sys.tiff.tiff" in err


def test_case7_identical_duplicates_do_not_depend_on_order(case) -> None:
    """OFFICIAL (identical copies): the unchanged case's figures, whatever the order."""
    ref, res = case
    shutil.copy(res / "masks_preds" / f"{I1}_mask_sys.tiff",
                res / "masks_preds" / f"{I1}_mask_sys.tiff.tiff")
    code, scores, err = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_BASE | CVQA_BASE
    assert warning_codes(scores) == ["mask-duplicate"] and "identical" in err


@pytest.mark.parametrize("change, expected, warning", [
    # OFFICIAL: 0/255 has no pixel equal to 1: image 1 scores 0.
    (lambda res, ref: tifffile.imwrite(res / "masks_preds" / f"{I1}_mask_sys.tiff", A * 255),
     {**SEG_ZERO, "number_segmentation_instances": 2} | CVQA_BASE, "mask-values-255"),
    # OFFICIAL: a transposed mask (5, 4) is compared flattened, in memory order.
    (lambda res, ref: tifffile.imwrite(res / "masks_preds" / f"{I1}_mask_sys.tiff", A.T.copy()),
     {"jaccard_meanofmax": 0.1, "jaccard_meanofmean": 0.1, "dice_meanofmax": 0.16666666666666666,
      "dice_meanofmean": 0.16666666666666666, "jaccard": 0.12, "dice": 0.21428571428571427,
      "number_segmentation_instances": 2} | CVQA_BASE, "mask-size"),
    # OFFICIAL: a (1, 4, 5) prediction has the reference's 20 pixels: the unchanged figures.
    (lambda res, ref: tifffile.imwrite(res / "masks_preds" / f"{I1}_mask_sys.tiff", A[None],
                                       photometric="minisblack"),
     SEG_BASE | CVQA_BASE, "mask-not-2d"),
    # OFFICIAL: a (1, 1) annotator mask of value 1 broadcasts too (reference side, no warning).
    (lambda res, ref: tifffile.imwrite(ref / "masks_refs" / f"{I1}_mask_ann1.tiff",
                                       np.ones((1, 1), np.uint8)),
     {"jaccard_meanofmax": 0.5, "jaccard_meanofmean": 0.325, "dice_meanofmax": 0.5,
      "dice_meanofmean": 0.3653846153846154, "jaccard": 0.1875, "dice": 0.3157894736842105,
      "number_segmentation_instances": 2} | CVQA_BASE, None),
])
def test_masks_the_official_scorer_scores_are_scored_as_it_does(case, change, expected: dict,
                                                                 warning: str | None) -> None:
    ref, res = case
    change(res, ref)
    code, scores, _ = run(res, ref)
    assert code == 0 and official_part(scores) == expected
    assert warning_codes(scores) == ([warning] if warning else [])


def _strings_for_first_record(res: Path, ref: Path) -> None:
    records = json.loads((res / "data_cvqa_sys.json").read_text())
    records[0] = {k: v if k == "encounter_id" else str(v) for k, v in records[0].items()}
    (res / "data_cvqa_sys.json").write_text(json.dumps(records))


def _true_for_one_answer(res: Path, ref: Path) -> None:
    records = json.loads((res / "data_cvqa_sys.json").read_text())
    records[1]["CQID010-001"] = True  # gold 1: True == 1 in a Python set
    (res / "data_cvqa_sys.json").write_text(json.dumps(records))


@pytest.mark.parametrize("change, expected", [
    # OFFICIAL: strings never equal the gold's ints: accuracy_all 0.0833... (was 0.5833...).
    (_strings_for_first_record,
     {"accuracy_CQID010": 0.0, "accuracy_CQID011": 0.25, "accuracy_CQID012": 0.25,
      "accuracy_CQID015": 0.0, "accuracy_CQID020": 0.25, "accuracy_CQID025": 0.0,
      "accuracy_CQID034": 0.0, "accuracy_CQID035": 0.0, "accuracy_CQID036": 0.0,
      "accuracy_all": 0.08333333333333333, "number_cvqa_instances": 2}),
    # OFFICIAL: true counts as 1: accuracy_CQID010 1.0, accuracy_all 0.6388888888888888.
    (_true_for_one_answer,
     {**CVQA_BASE, "accuracy_CQID010": 1.0, "accuracy_all": 0.6388888888888888}),
])
def test_answers_that_are_not_ints_score_as_officially_with_a_warning(case, change,
                                                                       expected: dict) -> None:
    ref, res = case
    change(res, ref)
    code, scores, err = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_BASE | expected
    assert warning_codes(scores) == ["cvqa-value-type"]
    assert "ENC0000" in err and "CQID010-001" in err and "write 0-based int" in err


def test_masks_preds_as_a_file_scores_zero_with_a_warning(case) -> None:
    """OFFICIAL: glob finds nothing in a file: segmentation 0.0, count 0; CVQA unchanged."""
    ref, res = case
    shutil.rmtree(res / "masks_preds")
    (res / "masks_preds").write_text("not a folder")
    code, scores, err = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_ZERO | CVQA_BASE
    assert warning_codes(scores) == ["masks-not-folder"]
    assert "masks_preds is a file, not a folder" in err


@pytest.mark.parametrize("make, says", [
    # OFFICIAL: crashes, IsADirectoryError.
    (lambda p: (p.unlink(), p.mkdir()), "is a folder, not a file: not opened; the official "
                                         "scorer crashes (IsADirectoryError)"),
    # OFFICIAL: hangs (blocked in open() after 8 s).
    (lambda p: (p.unlink(), os.mkfifo(p)), "is a FIFO (named pipe), not a file: not opened; the "
                                           "official scorer hangs"),
    # OFFICIAL: crashes, FileNotFoundError.
    (lambda p: p.unlink(), "no data_cvqa_sys.json at the root: the official scorer crashes "
                           "(FileNotFoundError)"),
    # OFFICIAL: crashes, ValueError: Exceeds the limit (4300 digits) for integer string conversion.
    (lambda p: p.write_text('[{"encounter_id": "ENC00001", "CQID010-001": ' + "9" * 5000 + "}]"),
     "holds an integer of 5000 digits: json.load refuses it"),
])
def test_cvqa_files_the_official_scorer_cannot_read_stop_with_the_truth(case, make, says) -> None:
    ref, res = case
    make(res / "data_cvqa_sys.json")
    code, out, err = run(res, ref)
    assert code == 1 and says in err and "data_cvqa_sys.json" in err and "Traceback" not in err
    assert out["error"]["message"]


@pytest.mark.parametrize("make, says", [
    # OFFICIAL: hangs (blocked opening the FIFO after 8 s).
    (lambda p: (p.unlink(), os.mkfifo(p)), "hangs: opening a FIFO waits for a writer forever"),
    # OFFICIAL: crashes, tifffile: "not a TIFF file: header=b''".
    (lambda p: (p.unlink(), p.symlink_to(os.devnull)), "reads the device: it hangs or crashes"),
    # OFFICIAL: crashes, FileNotFoundError.
    (lambda p: (p.unlink(), p.symlink_to(p.parent / "nowhere")), "crashes (FileNotFoundError)"),
    # OFFICIAL: crashes, IsADirectoryError.
    (lambda p: (p.unlink(), p.mkdir()), "crashes (IsADirectoryError)"),
])
def test_masks_that_are_not_files_are_never_opened(case, make, says) -> None:
    ref, res = case
    make(res / "masks_preds" / f"{I1}_mask_sys.tiff")
    code, out, err = run(res, ref)
    assert code == 1 and out["error"]["code"] == "mask-unscorable"
    assert says in err and f"{I1}_mask_sys.tiff" in err and "[prediction]" in err


def test_annotators_of_different_sizes_are_the_references_fault(case) -> None:
    """OFFICIAL: crashes (operands could not be broadcast together with shapes (20,) (4,))."""
    ref, res = case
    tifffile.imwrite(ref / "masks_refs" / f"{I1}_mask_ann1.tiff", B[:, :1].copy())
    code, out, err = run(res, ref)
    assert code == 1 and "[reference]" in err and "differ in size: (4, 5), (4, 1)" in err


def test_a_zip_holding_only_a_zip_names_it(case, tmp_path: Path) -> None:
    """OFFICIAL (the platform unzips once): no data_cvqa_sys.json at the root, so it crashes."""
    ref, res = case
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as handle:
        handle.write(res / "data_cvqa_sys.json", "data_cvqa_sys.json")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as handle:
        handle.write(inner, "inner.zip")
    code, out, err = run(outer, ref)
    assert code == 1 and out["error"]["code"] == "submission-nested-zip"
    assert "'inner.zip'" in err and "does not unpack nested zips" in err


def test_empty_reference_and_gold_crash_officially_only_when_something_is_submitted(case) -> None:
    """OFFICIAL: with a prediction, an empty masks_refs/ crashes (ZeroDivisionError) and so does
    an empty gold list with answers; with no prediction and [] the figures are all 0."""
    ref, res = case
    for path in (ref / "masks_refs").iterdir():
        path.unlink()
    (ref / "data_cvqa_ref.json").write_text("[]")
    code, _, err = run(res, ref)
    assert code == 1 and "ZeroDivisionError" in err
    for path in (res / "masks_preds").iterdir():
        path.unlink()
    (res / "data_cvqa_sys.json").write_text("[]")
    code, scores, _ = run(res, ref)
    assert code == 0 and official_part(scores) == SEG_ZERO | CVQA_ZERO
