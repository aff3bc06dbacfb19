"""What ``magic score`` says and writes besides the figures: errors, notes, warnings and the CSVs,
each compared whole on small cases built by hand."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from builders import record, write_masks
from magic_submit.errors import MagicError
from magic_submit.scoring import score_submission, write_score_outputs, write_scores_json
from magic_submit.scoring.cvqa_files import score_cvqa_files
from magic_submit.scoring.outputs import csv_text, per_encounter_rows, per_image_rows
from magic_submit.scoring.segmentation_files import score_segmentation
from magic_submit.scoring.slips import ScoreWarning
from magic_submit.submission import ReferenceFiles, locate_submission_parts

IMG1, IMG2 = "IMG_ENC00001_00001", "IMG_ENC00002_00001"
MASK = np.array([[0, 1, 1], [0, 1, 0]], np.uint8)


def write_parts(folder: Path, mask_file: str, cvqa_file: str, *, masks: bool,
                cvqa: bool) -> tuple[Path, Path]:
    """Writes MASK at ``folder/mask_file`` and ENC00001's record at ``folder/cvqa_file``, each only
    when asked; gives the masks folder and the CVQA file, written or not."""
    mask_path, cvqa_path = folder / mask_file, folder / cvqa_file
    folder.mkdir(parents=True)
    if masks:
        mask_path.parent.mkdir()
        tifffile.imwrite(mask_path, MASK)
    if cvqa:
        cvqa_path.write_text(json.dumps([record("ENC00001")]))
    return mask_path.parent, cvqa_path


def platform(root: Path, *, masks: bool = True, cvqa: bool = True) -> ReferenceFiles:
    mask_dir, cvqa_file = write_parts(root / "ref", f"masks_refs/{IMG1}_mask_ann0.tiff",
                                      "data_cvqa_ref.json", masks=masks, cvqa=cvqa)
    return ReferenceFiles(mask_dir if masks else None, cvqa_file if cvqa else None,
                          "the reference", is_platform=True)


def submission(root: Path, *, masks: bool = True, cvqa: bool = True):
    write_parts(root / "res", f"masks_preds/{IMG1}_mask_sys.tiff", "data_cvqa_sys.json",
                masks=masks, cvqa=cvqa)
    return locate_submission_parts(root / "res", root / "res", is_zip=False)


# ---- which parts are scored, and the notes that say so -----------------------------------------

def test_missing_cvqa_file_is_the_official_crash(tmp_path: Path) -> None:
    sub = submission(tmp_path, cvqa=False)
    with pytest.raises(MagicError) as info:
        score_submission(sub, platform(tmp_path))
    error = info.value
    assert (error.code, error.file) == ("cvqa-missing", str(sub.source))
    assert error.message == ("no data_cvqa_sys.json at the root: the official scorer crashes "
                             "(FileNotFoundError) and writes no scores.json, so the segmentation "
                             "is lost too")
    assert error.hint == ("write data_cvqa_sys.json ([] to skip CVQA: it then scores 0.0), or pass "
                          "--allow-missing to score the segmentation alone")
    allowed = score_submission(sub, platform(tmp_path / "b"), allow_missing=True)
    assert allowed.cvqa is None and allowed.notes == [
        "the submission has no data_cvqa_sys.json: CVQA not scored (the official scorer crashes "
        "without it)"]


def test_cvqa_path_that_is_a_folder_is_named(tmp_path: Path) -> None:
    sub = submission(tmp_path, cvqa=False)
    (sub.root / "data_cvqa_sys.json").mkdir()
    sub = locate_submission_parts(sub.root, sub.root, is_zip=False)
    with pytest.raises(MagicError) as info:
        score_submission(sub, platform(tmp_path), allow_missing=True)
    error = info.value
    assert (error.code, error.file) == ("cvqa-not-file", str(sub.cvqa_path))
    assert error.message == ("data_cvqa_sys.json is a folder, not a file: not opened; the official "
                             "scorer crashes (IsADirectoryError)")
    assert error.hint == "write data_cvqa_sys.json as a JSON file"


def test_no_masks_folder_scores_the_zeros_with_a_note(tmp_path: Path) -> None:
    report = score_submission(submission(tmp_path, masks=False), platform(tmp_path))
    assert report.segmentation.scores["number_segmentation_instances"] == 0
    assert report.segmentation.notes == [
        "the submission has no masks_preds/ folder: the official scorer scores segmentation 0.0 "
        "with number_segmentation_instances = 0"]
    assert report.full()["parts_scored"] == ["segmentation", "cvqa"]


def test_masks_preds_as_a_file_scores_zero_with_a_warning_not_a_note(tmp_path: Path) -> None:
    sub = submission(tmp_path, masks=False)
    (sub.root / "masks_preds").write_text("x")
    sub = locate_submission_parts(sub.root, sub.root, is_zip=False)
    report = score_submission(sub, platform(tmp_path))
    assert report.segmentation.notes == [] and report.segmentation.scores["dice"] == 0.0
    (warning,) = report.warnings
    assert warning == ScoreWarning(
        "masks-not-folder", "masks_preds is a file, not a folder: the official scorer finds no "
        "mask in it and scores segmentation 0.0 (magic validate-submission refuses it)",
        (str(sub.masks_path),), "make masks_preds/ a folder holding the masks")


def test_the_leaderboard_leaves_absent_parts_unscored(tmp_path: Path) -> None:
    report = score_submission(submission(tmp_path, masks=False), platform(tmp_path),
                              only_held_parts=True)
    assert report.segmentation is None and report.notes == [
        "the submission has no masks_preds/: segmentation not scored (the official scorer gives "
        "it 0.0)"]
    report = score_submission(submission(tmp_path / "b", cvqa=False), platform(tmp_path / "b"),
                              only_held_parts=True)
    assert report.cvqa is None and report.segmentation is not None
    assert report.full()["parts_scored"] == ["segmentation"]


def test_parts_the_reference_lacks_are_not_scored(tmp_path: Path) -> None:
    report = score_submission(submission(tmp_path), platform(tmp_path, masks=False))
    assert report.segmentation is None and report.notes == [
        "the reference has no gold masks: segmentation not scored"]
    report = score_submission(submission(tmp_path / "b"), platform(tmp_path / "b", cvqa=False))
    assert report.cvqa is None and report.notes == [
        "the reference has no gold CVQA file: CVQA not scored"]
    assert "accuracy_all" not in report.official() and "dice" in report.official()
    with pytest.raises(MagicError) as info:
        score_submission(submission(tmp_path / "c", cvqa=False),
                         platform(tmp_path / "c", masks=False), allow_missing=True)
    assert (info.value.code, info.value.message) == (
        "nothing-to-score", "nothing to score: the submission and the reference share no part")


def test_full_report_lists_warnings_then_notes(tmp_path: Path) -> None:
    sub = submission(tmp_path, masks=False)
    (sub.root / "data_cvqa_sys.json").write_text(json.dumps([{**record("ENC00001"),
                                                              "CQID010-001": "0"}]))
    report = score_submission(sub, platform(tmp_path))
    full = report.full()
    assert [w["code"] for w in full["warnings"]] == ["cvqa-value-type"]
    assert full["notes"][0].startswith("warning: 1 answer(s) in data_cvqa_sys.json are not int "
                                       "option indices")
    assert full["notes"][1].startswith("the submission has no masks_preds/ folder")
    assert full["cvqa_missing"] == [] and full["nan_images"] == []
    assert full["jaccard_empty_is_one"] == 0.0 and "jaccard" in full
    assert list(full)[:7] == ["jaccard_meanofmax", "jaccard_meanofmean", "dice_meanofmax",
                              "dice_meanofmean", "jaccard", "dice", "number_segmentation_instances"]


# ---- the segmentation part's errors and notes ----------------------------------------------------

def test_two_different_files_for_one_mask_depend_on_directory_order(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK,
                                           f"{IMG1}_mask_sys.tiff.tiff": 1 - MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    pair = f"{IMG1}_mask_sys.tiff / {IMG1}_mask_sys.tiff.tiff"
    assert info.value.to_dict() == {
        "code": "mask-duplicate", "file": str(pred), "ids": [pair],
        "message": "1 image(s) have two different files read as their sys mask: the official "
                   "scorer keeps whichever its directory listing (glob) returns last, so its result "
                   "depends on directory order; magic does not guess",
        "hint": "keep exactly one IMG_..._mask_sys.tiff per image"}
    shutil.copy(pred / f"{IMG1}_mask_sys.tiff", pred / f"{IMG1}_mask_sys.tiff.tiff")
    report = score_segmentation(pred, ref)
    assert report.identical_duplicates == [pair] and report.scores["dice"] == 1.0
    write_masks(ref, {f"{IMG1}_mask_ann0.tiff.tiff": 1 - MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.file == str(ref) and "read as their ann0 mask" in info.value.message
    shutil.copy(ref / f"{IMG1}_mask_ann0.tiff", ref / f"{IMG1}_mask_ann0.tiff.tiff")
    assert score_segmentation(pred, ref).notes == [
        f"reference {IMG1}_mask_ann0.tiff / {IMG1}_mask_ann0.tiff.tiff: identical files read as "
        "one mask (the order does not matter)"]


def test_duplicates_of_images_outside_the_reference_are_never_read(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK,
                                           f"{IMG2}_mask_sys.tiff": MASK,
                                           f"{IMG2}_mask_sys.tiff.tiff": 1 - MASK})
    report = score_segmentation(pred, ref)
    assert report.identical_duplicates == [] and report.scores["number_segmentation_instances"] == 1


def test_a_folder_named_like_a_duplicate_is_not_identical(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK})
    (pred / f"{IMG1}_mask_sys.tiff.tiff").mkdir()
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.code == "mask-duplicate"


def test_reference_images_without_an_annotator_mask(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG2}_mask_ann9.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.to_dict() == {
        "code": None, "file": str(ref), "ids": [IMG2], "hint": None,
        "message": "reference images without any ann0..ann3 mask (the official scorer crashes)"}


def test_every_unscorable_image_is_listed_with_its_side(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG2}_mask_ann0.tiff": MASK})
    (ref / f"{IMG2}_mask_ann1.tiff").write_bytes(b"broken")
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": np.zeros((4, 4), np.uint8),
                                           f"{IMG2}_mask_sys.tiff": MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    error = info.value
    assert error.code == "mask-unscorable" and error.ids == [] and error.file is None
    lines = error.message.splitlines()
    assert lines[0] == "2 image(s) cannot be scored (the official scorer crashes):"
    assert lines[1] == (f"  [prediction] {pred / f'{IMG1}_mask_sys.tiff'}: prediction and "
                        "reference sizes differ: prediction (4, 4) vs reference (2, 3) (numpy "
                        "cannot broadcast them)")
    assert lines[2].startswith(f"  [reference] {ref / f'{IMG2}_mask_ann1.tiff'}: not a readable "
                               "TIFF")
    assert error.hint == ("the reference masks are damaged or inconsistent: check the organisers' "
                          "masks_refs/ (or the dataset's dermavqa-segmentations/ folder); write "
                          "2-D masks of each image's exact size with tifffile (magic pack checks "
                          "them)")


def test_a_fifo_prediction_says_the_official_scorer_hangs(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = tmp_path / "pred"
    pred.mkdir()
    os.mkfifo(pred / f"{IMG1}_mask_sys.tiff")
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.message.startswith("1 image(s) cannot be scored (the official scorer "
                                         "crashes or hangs at the first of them it reaches, as "
                                         "each line says):")
    assert "[prediction]" in info.value.message and "hangs" in info.value.message
    assert info.value.hint.startswith("write 2-D masks")


def test_many_failures_are_cut_at_fifty(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"IMG_ENC{i:05d}_00001_mask_ann0.tiff": MASK
                                         for i in range(52)})
    pred = write_masks(tmp_path / "pred", {f"IMG_ENC{i:05d}_00001_mask_sys.tiff":
                                            np.zeros((4, 4), np.uint8) for i in range(52)})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref, workers=1)
    lines = info.value.message.splitlines()
    assert len(lines) == 52 and lines[-1] == "  (+2 more)"
    assert lines[0] == "52 image(s) cannot be scored (the official scorer crashes):"


def test_a_reference_mask_of_another_shape(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG1}_mask_ann1.tiff": np.zeros((3, 3), np.uint8)})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    (line,) = info.value.message.splitlines()[1:]
    assert line == (f"  [reference] {ref}: the annotator masks of {IMG1} differ in shape and "
                    f"cannot be added up: (2, 3), (3, 3) ({IMG1}_mask_ann0.tiff, "
                    f"{IMG1}_mask_ann1.tiff)")


# ---- the CVQA part's notes ---------------------------------------------------------------------

def test_cvqa_notes(tmp_path: Path) -> None:
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([record("ENC1"), record("ENC2")]))
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    report = score_cvqa_files(empty, gold)
    assert report.notes == ["empty.json is an empty list: the official scorer scores CVQA 0.0 with "
                            "number_cvqa_instances = 0"] and report.system_data == []
    obj = tmp_path / "obj.json"
    obj.write_text("{}")
    # Not a list: a warning says so (scoring.slips); nothing is "missing under --allow-missing".
    assert score_cvqa_files(obj, gold).notes == []
    assert score_cvqa_files(obj, gold).scores["number_cvqa_instances"] == 0
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps([record("ENC1")]))
    assert score_cvqa_files(partial, gold, allow_missing=True).notes == [
        "--allow-missing: 1 encounter(s)/parent(s) without an answer scored as wrong"]
    assert score_cvqa_files(gold, gold).notes == []
    with pytest.raises(MagicError) as info:
        score_cvqa_files(partial, gold)
    assert info.value.ids == ["ENC2"] and info.value.file == str(partial)


# ---- warnings ----------------------------------------------------------------------------------

def test_warning_text_cuts_the_culprits() -> None:
    warning = ScoreWarning("c", "3 things", ("a", "b", "c"), "do this")
    assert warning.text() == "3 things: a, b, c; fix: do this"
    assert warning.text(limit=2) == "3 things: a, b (+1 more); fix: do this"
    assert warning.text(limit=0) == "3 things: a, b, c; fix: do this"
    assert ScoreWarning("c", "m").text() == "m"
    assert warning.to_dict() == {"code": "c", "message": "3 things", "culprits": ["a", "b", "c"],
                                 "fix": "do this"}


def test_mask_slips_each_get_their_warning(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"IMG_ENC{i:05d}_00001_mask_ann0.tiff": MASK
                                         for i in range(5)})
    pred = write_masks(tmp_path / "pred", {
        "IMG_ENC00000_00001_mask_sys.tiff": MASK * 255,
        "IMG_ENC00001_00001_mask_sys.tiff": np.ones((1, 1), np.uint8),
        "IMG_ENC00002_00001_mask_sys.tiff": MASK.reshape(3, 2),
        "IMG_ENC00003_00001_mask_sys.tiff": MASK[None],
        "IMG_ENC00004_00001_mask_sys.tiff": MASK.astype(np.uint16)})
    sub = tmp_path / "res"
    shutil.move(pred, sub / "masks_preds")
    (sub / "data_cvqa_sys.json").write_text("[]")
    opened = locate_submission_parts(sub, sub, is_zip=False)
    reference = ReferenceFiles(ref, None, "ref")
    report = score_submission(opened, reference)
    texts = {w.code: w.text(limit=0) for w in report.warnings}
    assert list(texts) == ["mask-one-pixel", "mask-values-255", "mask-size", "mask-not-2d"]
    assert texts["mask-values-255"] == (
        "1 prediction(s) in masks_preds/ hold 0/255 values: the official scorer counts only pixels "
        "equal to 1 (after a uint8 cast), so it sees no foreground in them (magic "
        "validate-submission refuses them): IMG_ENC00000_00001_mask_sys.tiff; fix: write 0/1 "
        "masks: (mask > 0).astype('uint8'); magic pack --fix maps 0/255 to 0/1")
    assert texts["mask-one-pixel"].startswith(
        "1 prediction(s) in masks_preds/ hold a single pixel: numpy broadcasts it over every pixel "
        "of the reference")
    assert "IMG_ENC00002_00001_mask_sys.tiff; fix: write each mask at its image's height x width " \
           "(a swapped one: mask.T)" in texts["mask-size"]
    assert texts["mask-not-2d"].endswith("IMG_ENC00003_00001_mask_sys.tiff; fix: write one 2-D "
                                         "page per mask; magic pack --fix drops single pages and "
                                         "identical channels")


def test_answer_slips_each_get_their_warning(tmp_path: Path) -> None:
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([record("ENC1"), record("ENC2")]))
    answers = [{**record("ENC1"), "CQID010-001": 4, "CQID015-001": 0.0, "CQID025-001": "0"},
               {**record("ENC2"), "CQID034-001": None},
               {**record("ENC9"), "CQID010-001": "x"}]  # outside the gold: not scored
    system = tmp_path / "sys.json"
    system.write_text(json.dumps(answers))
    sub = tmp_path / "res"
    sub.mkdir()
    shutil.copy(system, sub / "data_cvqa_sys.json")
    opened = locate_submission_parts(sub, sub, is_zip=False)
    report = score_submission(opened, ReferenceFiles(None, gold, "gold"))
    found = {w.code: w for w in report.warnings}
    assert list(found) == ["cvqa-value-type", "cvqa-value-range", "cvqa-value-float"]
    assert found["cvqa-value-type"].culprits == ("ENC1 CQID025-001 ('0')", "ENC2 CQID034-001 (None)")
    assert found["cvqa-value-range"].message == (
        "1 answer(s) in data_cvqa_sys.json are out of the option range: they never match the gold "
        "(magic validate-submission refuses them)")
    assert found["cvqa-value-float"].message == (
        "1 answer(s) in data_cvqa_sys.json are floats equal to ints: scored as the ints, as meant")
    assert found["cvqa-value-float"].fix == "write ints: int(value); magic pack --fix converts them"


def test_a_cvqa_value_of_length_zero_that_is_not_a_list(tmp_path: Path) -> None:
    sub = submission(tmp_path, masks=False)
    (sub.root / "data_cvqa_sys.json").write_text('""')
    report = score_submission(sub, platform(tmp_path))
    warning = next(w for w in report.warnings if w.code == "cvqa-not-list")
    assert warning.message == (
        'data_cvqa_sys.json holds "", not a list: the official scorer takes any value of length 0 '
        "as no answer and scores CVQA 0.0 with number_cvqa_instances = 0 (magic "
        "validate-submission refuses it)")
    assert warning.culprits == (str(sub.cvqa_path),)
    assert warning.fix == "write [] to skip CVQA, or one record per encounter"


# ---- the CSVs and scores.json -------------------------------------------------------------------

def test_per_image_rows_by_hand(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG1}_mask_ann2.tiff": np.zeros((2, 3), np.uint8)})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff":
                                            np.array([[0, 1, 0], [0, 0, 0]], np.uint8)})
    (row,) = per_image_rows(score_segmentation(pred, ref))
    assert row == {
        "image_id": IMG1, "annotators": "ann0;ann2", "n_annotators": 2,
        "jaccard_ann0": 1 / 3, "jaccard_ann1": "", "jaccard_ann2": 0.0, "jaccard_ann3": "",
        "dice_ann0": 0.5, "dice_ann1": "", "dice_ann2": 0.0, "dice_ann3": "",
        "jaccard_max": 1 / 3, "jaccard_mean": 1 / 6, "dice_max": 0.5, "dice_mean": 0.25,
        "pred_pixels": 1, "gold_pixels_ann0": 3, "gold_pixels_ann1": "", "gold_pixels_ann2": 0,
        "gold_pixels_ann3": "", "majority_pixels": 3, "majority_tp": 1, "majority_fp": 0,
        "majority_fn": 2, "height": 2, "width": 3, "nan": False, "missing_prediction": False}


def test_per_image_rows_blank_nan_and_missing(tmp_path: Path) -> None:
    empty = np.zeros((2, 3), np.uint8)
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann1.tiff": empty})
    pred = tmp_path / "pred"
    write_masks(pred, {f"{IMG2}_mask_sys.tiff": empty})  # a *.tiff, but not this image's
    (row,) = per_image_rows(score_segmentation(pred, ref, allow_missing=True))
    assert row["jaccard_ann1"] == "" and row["jaccard_max"] == "" and row["nan"] is True
    assert row["missing_prediction"] is True and row["pred_pixels"] == 0
    assert (row["height"], row["width"]) == (2, 3)


def test_per_encounter_rows_and_csv_text() -> None:
    from evaluation.cvqa import EncounterParentResult

    rows = per_encounter_rows((EncounterParentResult("ENC1", "CQID011", (3, 1, 7, 7), (1,), 0.5),
                               EncounterParentResult("ENC2", "CQID010", (2,), (), 0.0, True)))
    assert rows == [{"encounter_id": "ENC1", "parent": "CQID011", "gold": "1;3;7", "system": "1",
                     "iom": 0.5, "missing": False},
                    {"encounter_id": "ENC2", "parent": "CQID010", "gold": "2", "system": "",
                     "iom": 0.0, "missing": True}]
    assert csv_text(rows) == ("encounter_id,parent,gold,system,iom,missing\n"
                              "ENC1,CQID011,1;3;7,1,0.5,False\nENC2,CQID010,2,,0.0,True\n")
    assert csv_text([]) == ""
    mixed = per_encounter_rows((EncounterParentResult("E", "P", (1, "1"), ("1",), 1.0),))
    assert mixed[0]["gold"] == "1;1"  # sorted by repr: 1 before '1'


def test_outputs_written(tmp_path: Path) -> None:
    report = score_submission(submission(tmp_path), platform(tmp_path))
    written = write_score_outputs(report, tmp_path / "out")
    assert written == [tmp_path / "out" / "scores.json", tmp_path / "out" / "per_image.csv",
                       tmp_path / "out" / "per_encounter.csv"]
    text = (tmp_path / "out" / "scores.json").read_text()
    assert json.loads(text) == report.official() and text.startswith('{\n    "jaccard_meanofmax"')
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "per_encounter.csv").read_text())))
    assert len(rows) == 9 and {r["iom"] for r in rows} == {"1.0"}
    only_cvqa = score_submission(submission(tmp_path / "b", masks=False),
                                 platform(tmp_path / "b", masks=False))
    assert write_score_outputs(only_cvqa, tmp_path / "o2") == [
        tmp_path / "o2" / "scores.json", tmp_path / "o2" / "per_encounter.csv"]
    only_masks = score_submission(submission(tmp_path / "c", cvqa=False),
                                  platform(tmp_path / "c", cvqa=False))
    assert write_score_outputs(only_masks, tmp_path / "o3") == [
        tmp_path / "o3" / "scores.json", tmp_path / "o3" / "per_image.csv"]
    nan_report = score_submission(submission(tmp_path / "d", cvqa=False),
                                  platform(tmp_path / "d", cvqa=False))
    nan_report.segmentation.scores["dice"] = float("nan")
    assert '"dice": NaN' in write_scores_json(nan_report, tmp_path / "o4").read_text()


def test_warning_text_with_one_culprit_shown() -> None:
    assert ScoreWarning("c", "2 things", ("a", "b")).text(limit=1) == "2 things: a (+1 more)"


def test_one_pixel_and_duplicate_slips_are_refused_by_the_validator(tmp_path: Path) -> None:
    two = np.array([[1, 0]], np.uint8)
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": two,
                                         f"{IMG2}_mask_ann0.tiff": np.ones((1, 1), np.uint8),
                                         "IMG_ENC00003_00001_mask_ann0.tiff": MASK})
    sub = tmp_path / "res"
    write_masks(sub / "masks_preds", {f"{IMG1}_mask_sys.tiff": np.ones((1, 1), np.uint8),
                                      f"{IMG2}_mask_sys.tiff": np.ones((1, 1), np.uint8)})
    shutil.copy(sub / "masks_preds" / f"{IMG2}_mask_sys.tiff",
                sub / "masks_preds" / f"{IMG2}_mask_sys.tiff.tiff")
    opened = locate_submission_parts(sub, sub, is_zip=False)
    report = score_submission(opened, ReferenceFiles(ref, None, "ref"), allow_missing=True)
    texts = [w.text(limit=0) for w in report.warnings]
    assert texts == [
        f"1 prediction(s) in masks_preds/ come as two identical files read as one mask: the "
        f"official result does not depend on which one its directory listing gives last (magic "
        f"validate-submission refuses them): {IMG2}_mask_sys.tiff / {IMG2}_mask_sys.tiff.tiff; "
        f"fix: keep exactly one file per image",
        f"1 prediction(s) in masks_preds/ hold a single pixel: numpy broadcasts it over every "
        f"pixel of the reference, so the official scorer scores each as a full mask of that value "
        f"(all foreground if it is 1) (magic validate-submission refuses them): "
        f"{IMG1}_mask_sys.tiff; fix: write each mask at its image's height x width"]
    # The first image has no prediction (--allow-missing): the images after it are still looked at.
    assert [r.image_id for r in report.segmentation.images][0] == IMG1


def test_a_missing_prediction_before_a_slip_is_skipped_not_the_end(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG2}_mask_ann0.tiff": MASK})
    sub = tmp_path / "res"
    write_masks(sub / "masks_preds", {f"{IMG2}_mask_sys.tiff": MASK * 255})
    opened = locate_submission_parts(sub, sub, is_zip=False)
    report = score_submission(opened, ReferenceFiles(ref, None, "ref"), allow_missing=True)
    assert [(w.code, w.culprits) for w in report.warnings] == [
        ("mask-values-255", (f"{IMG2}_mask_sys.tiff",))]


def test_a_reference_with_pages_is_compared_by_its_plane(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK[None]})
    sub = tmp_path / "res"
    write_masks(sub / "masks_preds", {f"{IMG1}_mask_sys.tiff": MASK})
    opened = locate_submission_parts(sub, sub, is_zip=False)
    report = score_submission(opened, ReferenceFiles(ref, None, "ref"))
    assert report.warnings == [] and report.segmentation.scores["dice"] == 1.0


def test_answers_outside_the_gold_before_a_slip(tmp_path: Path) -> None:
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([record("ENC1")]))
    sub = tmp_path / "res"
    sub.mkdir()
    (sub / "data_cvqa_sys.json").write_text(json.dumps([
        {**record("ENC9"), "CQID010-001": "x"}, {**record("ENC1"), "CQID010-002": "y",
                                                 "CQID025-001": "0"}]))
    opened = locate_submission_parts(sub, sub, is_zip=False)
    report = score_submission(opened, ReferenceFiles(None, gold, "gold"))
    (warning,) = report.warnings
    # ENC9 is not scored; CQID010-002 is 11 characters of a scored family: read as officially.
    assert warning.culprits == ("ENC1 CQID025-001 ('0')", "ENC1 CQID010-002 ('y')")


def test_score_submission_passes_its_options_on(tmp_path: Path) -> None:
    sub = submission(tmp_path, cvqa=False)
    (sub.root / "masks_preds" / f"{IMG1}_mask_sys.tiff").rename(
        sub.root / "masks_preds" / f"{IMG1}_mask_team.tiff")
    ref = platform(tmp_path, cvqa=False)
    started, done = [], []
    report = score_submission(sub, ref, suffix="team", workers=1, on_start=started.append,
                              on_image=lambda: done.append(1))
    assert report.segmentation.scores["dice"] == 1.0 and started == [1] and done == [1]
    assert report.notes == [] and report.cvqa is None


def test_nothing_to_score_names_the_submission(tmp_path: Path) -> None:
    sub = submission(tmp_path, cvqa=False)
    with pytest.raises(MagicError) as info:
        score_submission(sub, platform(tmp_path, masks=False), allow_missing=True)
    assert info.value.file == str(sub.source)
    report = score_submission(submission(tmp_path / "b", cvqa=False),
                              platform(tmp_path / "b", cvqa=False), allow_missing=True)
    assert report.notes == []  # no gold CVQA: nothing to say about the absent CVQA file


def truncated(path: Path, shape: tuple[int, int] = (60, 80)) -> None:
    """A TIFF whose header is whole but whose pixel data is cut: it fails only when decoded."""
    rng = np.random.default_rng(0)
    tifffile.imwrite(path, (rng.random(shape) < 0.5).astype(np.uint8), compression="zlib")
    path.write_bytes(path.read_bytes()[:-200])


def test_pixels_that_fail_to_decode_are_blamed_on_their_side(tmp_path: Path) -> None:
    shape = (60, 80)
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": np.zeros(shape, np.uint8)})
    truncated(ref / f"{IMG2}_mask_ann0.tiff")
    pred = write_masks(tmp_path / "pred", {f"{IMG2}_mask_sys.tiff": np.zeros(shape, np.uint8)})
    truncated(pred / f"{IMG1}_mask_sys.tiff")
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    lines = info.value.message.splitlines()[1:]
    assert lines[0].startswith(f"  [prediction] {pred / f'{IMG1}_mask_sys.tiff'}: not a readable "
                               "TIFF (")
    assert lines[1].startswith(f"  [reference] {ref / f'{IMG2}_mask_ann0.tiff'}: not a readable "
                               "TIFF (")
    assert "fix:" not in info.value.message  # the hints are given once, below the list


def test_decoded_pixels_of_another_shape_than_the_header_said(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from magic_submit import masks

    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK})
    real_read = masks.MaskFile.read

    def lying(self):
        array = real_read(self)
        return np.zeros((5, 5), np.uint8) if self.path.parent == pred else array

    monkeypatch.setattr(masks.MaskFile, "read", lying)
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.message.splitlines()[1] == (
        f"  [prediction] {pred / f'{IMG1}_mask_sys.tiff'}: prediction and reference sizes differ: "
        "prediction (5, 5) vs reference (2, 3) (numpy cannot broadcast them)")


@pytest.mark.parametrize("n, last", [(50, "  [prediction]"), (51, "  (+1 more)")])
def test_fifty_failures_are_all_listed(tmp_path: Path, n: int, last: str) -> None:
    ref = write_masks(tmp_path / "ref", {f"IMG_ENC{i:05d}_00001_mask_ann0.tiff": MASK
                                         for i in range(n)})
    pred = write_masks(tmp_path / "pred", {f"IMG_ENC{i:05d}_00001_mask_sys.tiff":
                                            np.zeros((4, 4), np.uint8) for i in range(n)})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref, workers=1)
    lines = info.value.message.splitlines()
    assert len(lines) == 1 + min(n, 50) + (n > 50) and lines[-1].startswith(last)


def test_segmentation_errors_whole(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG2}_mask_ann0.tiff": MASK})
    assert score_segmentation(None, ref).notes == [
        "no prediction folder: the official scorer scores segmentation 0.0 with "
        "number_segmentation_instances = 0"]
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK,
                                           f"{IMG1}_mask_a.tiff": MASK,
                                           f"{IMG1}_mask_b.tiff": MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.to_dict() == {
        "code": None, "file": str(pred), "ids": [IMG2],
        "message": "1 of 2 reference images have no *_mask_sys.tiff (the official scorer crashes)",
        "hint": "write one mask per reference image, or pass --allow-missing to score them as "
                "empty; files with other suffixes were found: a, b (see --suffix)"}
    only_sys = write_masks(tmp_path / "only", {f"{IMG1}_mask_sys.tiff": MASK})
    with pytest.raises(MagicError) as info:
        score_segmentation(only_sys, ref)
    assert info.value.hint == ("write one mask per reference image, or pass --allow-missing to "
                               "score them as empty")
    empty_ref = tmp_path / "empty"
    empty_ref.mkdir()
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, empty_ref)
    assert info.value.to_dict() == {
        "code": None, "file": str(empty_ref), "ids": [],
        "message": "no reference mask (*.tiff) found (the official scorer crashes: "
                   "ZeroDivisionError)", "hint": "pass the folder holding IMG_..._mask_annK.tiff"}


def test_cvqa_files_are_named_by_their_role(tmp_path: Path) -> None:
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([record("ENC1")]))
    with pytest.raises(MagicError) as info:
        score_cvqa_files(tmp_path / "none.json", gold)
    assert (info.value.message, info.value.file) == ("submission CVQA file not found",
                                                     str(tmp_path / "none.json"))
    with pytest.raises(MagicError) as info:
        score_cvqa_files(gold, tmp_path / "none.json")
    assert info.value.message == "gold CVQA file not found"
    bad_gold = tmp_path / "bad.json"
    bad_gold.write_text(json.dumps([{"encounter_id": 3}]))
    with pytest.raises(MagicError) as info:
        score_cvqa_files(gold, bad_gold)
    assert info.value.file == str(bad_gold)


def test_per_image_rows_of_references_that_are_not_2d(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": np.ones(6, np.uint8),
                                         f"{IMG2}_mask_ann0.tiff": np.array(1, np.uint8)})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": np.ones((2, 3), np.uint8),
                                           f"{IMG2}_mask_sys.tiff": np.ones((1, 1), np.uint8)})
    rows = {r["image_id"]: r for r in per_image_rows(score_segmentation(pred, ref))}
    assert (rows[IMG1]["height"], rows[IMG1]["width"]) == (6, "")
    assert (rows[IMG2]["height"], rows[IMG2]["width"]) == ("", "")
    assert rows[IMG1]["jaccard_ann0"] == 1.0 and rows[IMG2]["jaccard_ann0"] == 1.0


def test_duplicates_outside_the_reference_do_not_hide_the_next_pair(tmp_path: Path) -> None:
    outside = "IMG_ENC00000_00001"  # sorted before IMG1: its pair comes first
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{outside}_mask_sys.tiff": MASK,
                                           f"{outside}_mask_sys.tiff.tiff": 1 - MASK,
                                           f"{IMG1}_mask_sys.tiff": MASK,
                                           f"{IMG1}_mask_sys.tiff.tiff": MASK})
    report = score_segmentation(pred, ref)
    assert report.identical_duplicates == [f"{IMG1}_mask_sys.tiff / {IMG1}_mask_sys.tiff.tiff"]


def test_warning_text_shows_ten_culprits_by_default() -> None:
    eleven = ScoreWarning("c", "m", tuple(str(i) for i in range(11)))
    assert eleven.text().endswith("9 (+1 more)") and "(+" not in ScoreWarning("c", "m", ("a",)).text()


def test_files_of_equal_size_and_time_are_compared_by_content(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK,
                                           f"{IMG1}_mask_sys.tiff.tiff": 1 - MASK})
    first, second = pred / f"{IMG1}_mask_sys.tiff", pred / f"{IMG1}_mask_sys.tiff.tiff"
    assert first.stat().st_size == second.stat().st_size
    os.utime(second, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns))
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.code == "mask-duplicate"


def test_each_reading_thread_keeps_one_workspace(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from magic_submit.scoring import segmentation_files

    seen = []
    threads = set()
    real = segmentation_files.score_image

    def spy(image_id, pred, golds, workspace=None):
        seen.append(workspace)
        threads.add(threading.get_ident())
        # Slow enough that every image is handed out while the first is read: a pool allowed
        # more than one thread would start more.
        time.sleep(0.05)
        return real(image_id, pred, golds, workspace)

    monkeypatch.setattr(segmentation_files, "score_image", spy)
    ref = write_masks(tmp_path / "ref", {f"IMG_ENC{i:05d}_00001_mask_ann0.tiff": MASK
                                         for i in range(3)})
    pred = write_masks(tmp_path / "pred", {f"IMG_ENC{i:05d}_00001_mask_sys.tiff": MASK
                                           for i in range(3)})
    score_segmentation(pred, ref, workers=1)
    assert len(seen) == 3 and seen[0] is not None and all(w is seen[0] for w in seen)
    assert len(threads) == 1


def test_decoded_reference_pixels_of_another_shape(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from magic_submit import masks

    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": MASK,
                                         f"{IMG1}_mask_ann1.tiff": MASK})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": MASK})
    real_read = masks.MaskFile.read

    def lying(self):
        array = real_read(self)
        return np.zeros((3, 2), np.uint8) if self.path.name.endswith("ann1.tiff") else array

    monkeypatch.setattr(masks.MaskFile, "read", lying)
    with pytest.raises(MagicError) as info:
        score_segmentation(pred, ref)
    assert info.value.message.splitlines()[1] == (
        f"  [reference] {ref}: the annotator masks of {IMG1} differ in shape and cannot be added "
        f"up: (2, 3), (3, 2) ({IMG1}_mask_ann0.tiff, {IMG1}_mask_ann1.tiff)")
