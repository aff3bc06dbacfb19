"""Scoring policies, each checked against hand-computed figures or the plain reference scorer.

What the official scorer does (challenge-rules section 4, ``score_segmentations.py`` and
``score_cvqa.py``): a wrong system suffix finds no prediction and crashes (magic: an error, never a
0.0); 0/0 is NaN, micro figures included; ``number_cvqa_instances`` counts the distinct raw
``encounter_id`` values of the gold; ``--allow-missing`` (magic's own option) scores what is missing
as empty or wrong but keeps every gold image and encounter in the means and counts.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from builders import record, write_json, write_masks, write_seg_case
from evaluation.cvqa import score_cvqa
from evaluation.facts import PARENTS
from evaluation.segmentation import EMPTY_IS_ONE_SUFFIX, SegmentationAggregate, score_image
from magic_submit.cli import app
from magic_submit.errors import MagicError, MissingPredictionsError
from magic_submit.scoring.cvqa_files import score_cvqa_files
from magic_submit.scoring.segmentation_files import score_segmentation
from reference_impl import score_cvqa_files as plain_cvqa
from reference_impl import score_segmentation_folders as plain_segmentation

runner = CliRunner()
IMG1, IMG2, IMG3 = "IMG_ENC00001_00001", "IMG_ENC00002_00001", "IMG_ENC00003_00001"


def square(top: int, left: int, side: int = 2, shape: tuple[int, int] = (4, 4)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[top:top + side, left:left + side] = 1
    return mask


# ---- a wrong suffix is an error, not a 0.0 -----------------------------------------------------

def test_masks_under_another_suffix_are_an_error_naming_the_suffix(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref" / "masks_refs", {f"{IMG1}_mask_ann0.tiff": square(0, 0)})
    pred = write_masks(tmp_path / "res" / "masks_preds", {f"{IMG1}_mask_team1.tiff": square(0, 0)})
    with pytest.raises(MissingPredictionsError) as info:
        score_segmentation(pred, ref)
    assert info.value.ids == [IMG1]
    assert "1 of 1 reference images have no *_mask_sys.tiff" in info.value.message
    assert "files with other suffixes were found: team1 (see --suffix)" in info.value.hint
    assert score_segmentation(pred, ref, suffix="team1").scores["jaccard"] == 1.0
    result = runner.invoke(app, ["score", str(tmp_path / "res"), "--reference",
                                 str(tmp_path / "ref"), "--json"])
    error = json.loads(result.stdout)["error"]
    assert result.exit_code == 1 and "jaccard" not in result.stdout
    assert error["ids"] == [IMG1] and "team1 (see --suffix)" in error["hint"]


def test_a_folder_of_non_tiff_files_scores_the_official_zeros(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": square(0, 0)})
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / f"{IMG1}_mask_sys.tif").write_bytes(b"not read")  # .tif is not *.tiff
    report = score_segmentation(pred, ref)
    assert report.scores["number_segmentation_instances"] == 0 and report.scores["dice"] == 0.0
    assert report.notes == [f"{pred} holds no *.tiff mask: the official scorer scores segmentation "
                            "0.0 with number_segmentation_instances = 0"]


# ---- 0/0 is NaN, micro figures included ---------------------------------------------------------

def test_micro_jaccard_when_every_mask_of_every_image_is_empty() -> None:
    empty = np.zeros((3, 3), np.uint8)
    results = [score_image(i, empty, {"ann0": empty, "ann1": empty, "ann2": empty})
               for i in (IMG1, IMG2)]
    scores = SegmentationAggregate(results).compute()
    for key in ("jaccard", "dice", "jaccard_meanofmax", "dice_meanofmean"):
        assert math.isnan(scores[key]), key
        assert scores[key + EMPTY_IS_ONE_SUFFIX] == 1.0, key
    assert scores["number_segmentation_instances"] == 2


def test_micro_figures_are_zero_not_nan_when_one_side_has_pixels() -> None:
    empty = np.zeros((3, 3), np.uint8)
    one = np.zeros((3, 3), np.uint8)
    one[0, 0] = 1
    for pred, gold in ((one, empty), (empty, one)):
        scores = SegmentationAggregate([score_image(IMG1, pred, {"ann0": gold})]).compute()
        assert scores["jaccard"] == 0.0 and scores["dice"] == 0.0
        assert scores["jaccard" + EMPTY_IS_ONE_SUFFIX] == 0.0
        assert scores["jaccard_meanofmax"] == 0.0
    # One all-empty image beside a scored one: the micro sums ignore it, the macro mean is NaN.
    scores = SegmentationAggregate([score_image(IMG1, empty, {"ann0": empty}),
                                    score_image(IMG2, one, {"ann0": one})]).compute()
    assert scores["jaccard"] == 1.0 and math.isnan(scores["jaccard_meanofmean"])
    assert scores["jaccard_meanofmean" + EMPTY_IS_ONE_SUFFIX] == 1.0


# ---- --allow-missing keeps every gold image and encounter in the means and counts ---------------

def test_allow_missing_cvqa_figures_by_hand() -> None:
    gold = [record(e, 0) for e in ("ENC1", "ENC2", "ENC3")]
    partial = {k: v for k, v in record("ENC2").items() if not k.startswith("CQID036")}
    system = [record("ENC1", 0), partial]
    result = score_cvqa(gold, system, allow_missing=True)
    # 27 pairs: ENC1 9 right, ENC2 8 right + 1 missing, ENC3 9 missing.
    assert result.scores["accuracy_all"] == 17 / 27
    assert result.scores["number_cvqa_instances"] == 3
    assert result.scores["accuracy_CQID010"] == 2 / 3 and result.scores["accuracy_CQID036"] == 1 / 3
    assert len(result.rows) == 27 and sum(r.missing for r in result.rows) == 10
    assert result.missing == ("ENC2/CQID036", "ENC3")


def test_allow_missing_cvqa_equals_the_plain_scorer_with_wrong_answers(tmp_path: Path,
                                                                       sample_data: Path,
                                                                       sample_submission: Path
                                                                       ) -> None:
    """Missing answers score IoM 0: the same figures as answers that share nothing with the gold."""
    gold = json.loads((sample_data / "test_cvqa.json").read_text())
    system = json.loads((sample_submission / "data_cvqa_sys.json").read_text())
    dropped = system.pop(4)["encounter_id"]
    wrong = {"encounter_id": dropped}
    for parent in PARENTS:  # an option the gold never uses for this encounter in any slot
        used = {g[q] for g in gold if g["encounter_id"] == dropped for q in parent.qids}
        free = next(o for o in range(parent.n_options) if o not in used)
        wrong.update(dict.fromkeys(parent.qids, free))
    sub = write_json(tmp_path / "sys.json", system)
    expected = plain_cvqa(str(sample_data / "test_cvqa.json"),
                          str(write_json(tmp_path / "wrong.json", [*system, wrong])))
    got = score_cvqa_files(sub, sample_data / "test_cvqa.json", allow_missing=True).scores
    assert got["accuracy_all"] == pytest.approx(expected["accuracy_all"], rel=1e-12)
    assert got["number_cvqa_instances"] == expected["number_cvqa_instances"] == 12
    assert got == pytest.approx(expected, rel=1e-12)


def test_allow_missing_segmentation_equals_the_plain_scorer_with_empty_masks(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    ref, pred = write_seg_case(tmp_path, rng, n_images=5, empty_rate=0.0)
    removed = sorted(pred.glob("*.tiff"))[1:3]
    filled = Path(shutil.copytree(pred, tmp_path / "filled"))
    for path in removed:
        shape = tifffile.imread(path).shape
        tifffile.imwrite(filled / path.name, np.zeros(shape, np.uint8))
        path.unlink()
    report = score_segmentation(pred, ref, allow_missing=True)
    expected = plain_segmentation(str(ref), str(filled))
    assert report.scores["number_segmentation_instances"] == 5
    assert {k: report.scores[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert sum(r.missing_prediction for r in report.images) == 2
    assert "--allow-missing: 2 image(s) without a prediction scored as empty" in report.notes


def test_allow_missing_through_the_command_line(tmp_path: Path, sample_data: Path,
                                                sample_submission: Path) -> None:
    sub = Path(shutil.copytree(sample_submission, tmp_path / "sub"))
    records = json.loads((sub / "data_cvqa_sys.json").read_text())
    write_json(sub / "data_cvqa_sys.json", records[1:])
    (sub / "masks_preds" / "IMG_ENC00908_00001_mask_sys.tiff").unlink()
    result = runner.invoke(app, ["score", str(sub), "--reference", str(sample_data), "--split",
                                 "test", "--allow-missing", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["number_cvqa_instances"] == 12 and scores["number_segmentation_instances"] == 20
    assert scores["cvqa_missing"] == [records[0]["encounter_id"]]
    assert "IMG_ENC00908_00001" not in scores["nan_images"]  # the gold has pixels: 0, not NaN


# ---- counts ---------------------------------------------------------------------------------------

def test_cvqa_instances_count_distinct_raw_gold_ids() -> None:
    gold = [record("ENC1", 0), record("ENC1-2", 1),
            record("ENC2", 0), record("ENC2", 0)]
    system = [record("ENC1", 0), record("ENC2", 0)]
    result = score_cvqa(gold, system)
    # Raw ids ENC1, ENC1-2, ENC2: three instances, but two encounters in every mean.
    assert result.scores["number_cvqa_instances"] == 3
    assert len(result.rows) == 18
    # ENC1's gold merges answers 0 and 1 of CQID010 ({0, 1} vs {0}): IoM 1/2; ENC2: 1.
    assert result.scores["accuracy_CQID010"] == (0.5 + 1.0) / 2


def test_predictions_outside_the_reference_are_counted_in_a_note(tmp_path: Path) -> None:
    ref = write_masks(tmp_path / "ref", {f"{IMG1}_mask_ann0.tiff": square(0, 0)})
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": square(0, 0),
                                           f"{IMG2}_mask_sys.tiff": square(1, 1),
                                           f"{IMG3}_mask_sys.tiff": square(2, 2),
                                           f"{IMG3}_mask_other.tiff": square(2, 2)})
    report = score_segmentation(pred, ref)
    assert report.notes == ["2 prediction file(s) for images outside the reference were ignored"]
    assert report.scores["number_segmentation_instances"] == 1 and report.scores["dice"] == 1.0
    alone = write_masks(tmp_path / "alone", {f"{IMG1}_mask_sys.tiff": square(0, 0)})
    assert score_segmentation(alone, ref).notes == []


def test_reference_without_any_mask_is_an_error(tmp_path: Path) -> None:
    pred = write_masks(tmp_path / "pred", {f"{IMG1}_mask_sys.tiff": square(0, 0)})
    (tmp_path / "ref").mkdir()
    with pytest.raises(MagicError, match="no reference mask"):
        score_segmentation(pred, tmp_path / "ref")
