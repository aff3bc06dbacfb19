"""``magic leaderboard``: ranking, intervals, flip rates, invalid submissions, outputs, bad input."""

from __future__ import annotations

import csv
import json
import os
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from builders import platform_reference, zip_folder
from reference_impl import score_cvqa_files as plain_cvqa
from reference_impl import score_segmentation_folders as plain_segmentation
from typer.testing import CliRunner

from evaluation.bootstrap import SEG_KEYS
from magic_submit.challenge import PARENTS
from magic_submit.cli import app
from magic_submit.dataset import DatasetLayout
from magic_submit.reporting.leaderboard import default_names, rank_metric
from magic_submit.reporting.reference import derive_split
from magic_submit.submission import open_reference

runner = CliRunner()


def run_board(*args: object):
    return runner.invoke(app, ["leaderboard", *map(str, args)])


def board_json(*args: object) -> dict:
    result = run_board(*args, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def teams(tmp_path_factory, sample_submission: Path) -> dict[str, Path]:
    """The sample submission, an identical copy, a degraded one (shifted masks, all-NM answers),
    one with a missing mask and one zipped inside a folder."""
    root = tmp_path_factory.mktemp("teams")
    copy = shutil.copytree(sample_submission, root / "copy")
    degraded = shutil.copytree(sample_submission, root / "degraded")
    for path in (degraded / "masks_preds").glob("*.tiff"):
        mask = tifffile.imread(path)
        tifffile.imwrite(path, np.roll(mask, mask.shape[1] // 4, axis=1))
    records = json.loads((degraded / "data_cvqa_sys.json").read_text())
    for record in records:
        for parent in PARENTS:
            record.update({q: parent.nm_index for q in parent.qids})
    (degraded / "data_cvqa_sys.json").write_text(json.dumps(records))
    missing = shutil.copytree(sample_submission, root / "missing")
    (missing / "masks_preds" / "IMG_ENC00908_00001_mask_sys.tiff").unlink()
    wrapped = zip_folder(sample_submission, root / "wrapped.zip", prefix="submission/")
    return {"sample": sample_submission, "copy": copy, "degraded": degraded, "missing": missing,
            "wrapped": wrapped}


@pytest.fixture(scope="module")
def board(teams, sample_data: Path) -> dict:
    return board_json(teams["sample"], teams["copy"], teams["degraded"], teams["missing"],
                      teams["wrapped"], "--reference", sample_data, "--split", "test",
                      "--name", "sample", "--name", "copy", "--name", "degraded", "--name",
                      "missing", "--name", "wrapped", "--bootstrap", 400, "--seed", 3)


def test_ranks_ties_and_flip_rates(board: dict) -> None:
    for metric in ("dice_meanofmax", "jaccard", "accuracy_all"):
        ranked = board["rankings"][metric]
        assert [s["submission"] for s in ranked] == ["copy", "sample", "degraded"]  # ties by name
        assert [s["rank"] for s in ranked] == [1, 1, 3]
        assert ranked[0]["value"] == ranked[1]["value"] > ranked[2]["value"]
        # Identical submissions: every paired resample ties, a coin toss, not a real difference.
        assert ranked[0]["p_flip_next"] == 0.5 and ranked[0]["differs_from_next"] is False
        assert ranked[1]["p_flip_next"] < 0.05 and ranked[1]["differs_from_next"] is True
        assert ranked[2]["next_submission"] is None and ranked[2]["p_flip_next"] is None
        for s in ranked:
            assert s["ci_low"] <= s["value"] <= s["ci_high"]
    assert board["bootstrap"] == {"resamples": 400, "seed": 3, "confidence": 0.95,
                                  "unit": "encounter", "encounters": 12, "alpha": 0.05,
                                  "convention": "official"}
    assert set(board["rankings"]) == set(SEG_KEYS) | {f"accuracy_{p.id}" for p in PARENTS} | {
        "accuracy_all"}


def test_values_are_the_official_scores(board: dict, sample_data: Path, sample_submission) -> None:
    """The ranked values against the independent plain scorer (tests/reference_impl.py)."""
    official = plain_segmentation(str(sample_data / "dermavqa-segmentations" / "test"),
                                  str(sample_submission / "masks_preds"))
    official.update(plain_cvqa(str(sample_data / "test_cvqa.json"),
                               str(sample_submission / "data_cvqa_sys.json")))
    for metric, ranked in board["rankings"].items():
        sample = next(s for s in ranked if s["submission"] == "sample")
        assert sample["value"] == pytest.approx(official[metric], rel=1e-12)


def test_interval_equals_a_plain_bootstrap_of_the_encounters(board: dict, sample_data: Path,
                                                              sample_submission: Path) -> None:
    """accuracy_all's interval recomputed from numpy's draws (seed 3, 400 resamples of the 12
    encounters in split order) and per-encounter IoM sums worked out with plain sets."""
    gold = json.loads((sample_data / "test_cvqa.json").read_text(encoding="utf-8"))
    system = json.loads((sample_submission / "data_cvqa_sys.json").read_text(encoding="utf-8"))
    order = [r["encounter_id"] for r in json.loads((sample_data / "test.json").read_text())]

    def answers(records: list[dict], enc: str, parent: str) -> set:
        return {v for r in records if r["encounter_id"].split("-")[0] == enc
                for k, v in r.items() if len(k) == 11 and k.split("-")[0] == parent}

    sums = [sum(len(g & s) / max(len(g), len(s)) for g, s in
                ((answers(gold, enc, p.id), answers(system, enc, p.id)) for p in PARENTS))
            for enc in order]
    draws = np.random.default_rng(3).integers(0, len(order), size=(400, len(order)))
    samples = [sum(sums[i] for i in row) / (len(PARENTS) * len(order)) for row in draws]
    low, high = np.quantile(samples, [0.025, 0.975])
    sample = next(s for s in board["rankings"]["accuracy_all"] if s["submission"] == "sample")
    assert sample["value"] == pytest.approx(sum(sums) / (len(PARENTS) * len(order)), rel=1e-12)
    assert (sample["ci_low"], sample["ci_high"]) == pytest.approx((low, high), rel=1e-12)


def test_invalid_submissions_are_listed_with_the_reason(board: dict) -> None:
    status = {s["name"]: s for s in board["submissions"]}
    assert [n for n, s in status.items() if not s["valid"]] == ["missing", "wrapped"]
    assert any("IMG_ENC00908_00001" in p for p in status["missing"]["problems"])
    assert any("submission/" in p or "wrapped" in p for p in status["wrapped"]["problems"])
    ranked_names = {s["submission"] for ranked in board["rankings"].values() for s in ranked}
    assert ranked_names == {"sample", "copy", "degraded"}


def test_seed_reproducible_and_seed_sensitive(teams, sample_data: Path) -> None:
    args = (teams["sample"], teams["degraded"], "--reference", sample_data, "--split", "test",
            "--bootstrap", 200)
    first, again = board_json(*args, "--seed", 1), board_json(*args, "--seed", 1)
    other = board_json(*args, "--seed", 2)
    assert first["rankings"] == again["rankings"]
    lows = lambda b: [s["ci_low"] for s in b["rankings"]["dice_meanofmax"]]  # noqa: E731
    assert lows(first) != lows(other)


def test_table_csv_and_names(teams, sample_data: Path, tmp_path: Path) -> None:
    result = run_board(teams["sample"], teams["degraded"], teams["missing"], "--reference",
                       sample_data, "--split", "test", "--bootstrap", 100, "--output", tmp_path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "dice_meanofmax" in out and "accuracy_all" in out and "accuracy_CQID010" not in out
    assert "real" in out and "Not ranked (invalid)" in out and "[mask-missing]" in out
    rows = list(csv.DictReader((tmp_path / "leaderboard.csv").open()))
    assert {r["status"] for r in rows} == {"valid", "invalid"}
    valid = [r for r in rows if r["status"] == "valid"]
    assert len(valid) == 2 * 16 and {r["submission"] for r in valid} == {"submission", "degraded"}
    assert [r["submission"] for r in rows if r["status"] == "invalid"] == ["missing"]
    assert all(float(r["ci_low"]) <= float(r["value"]) <= float(r["ci_high"]) for r in valid)
    every = run_board(teams["sample"], "--reference", sample_data, "--split", "test",
                      "--bootstrap", 50, "--metric", "all")
    assert every.exit_code == 0 and "accuracy_CQID036" in every.output


def test_platform_reference_and_zip(teams, sample_data: Path, tmp_path: Path) -> None:
    ref = platform_reference(sample_data, tmp_path / "platform")
    archive = zip_folder(teams["sample"], tmp_path / "team.zip")
    result = board_json(archive, teams["degraded"], "--reference", ref, "--bootstrap", 100)
    assert [s["submission"] for s in result["rankings"]["dice"]] == ["team", "degraded"]
    assert result["bootstrap"]["encounters"] == 12
    # The split derived from the platform folder covers the query file's encounters and images.
    derived = derive_split(open_reference(ref))
    layout_encounters = DatasetLayout(sample_data).encounters("test")
    assert [e.encounter_id for e in derived] == sorted(e.encounter_id for e in layout_encounters)
    assert {i for e in derived for i in e.image_ids} == {
        i for e in layout_encounters for i in e.image_ids}


def test_nan_official_figures_rank_last_and_empty_is_one(teams, sample_data: Path,
                                                         tmp_path: Path) -> None:
    empty = shutil.copytree(teams["sample"], tmp_path / "empty")
    for path in (empty / "masks_preds").glob("*.tiff"):
        tifffile.imwrite(path, np.zeros_like(tifffile.imread(path)))
    args = (teams["degraded"], empty, "--reference", sample_data, "--split", "test",
            "--bootstrap", 100)
    official = board_json(*args)
    last = official["rankings"]["jaccard_meanofmax"][-1]
    assert last["submission"] == "empty" and last["rank"] is None and last["value"] is None
    assert last["ci_low"] is None  # a NaN image in the data: no interval, officially
    assert official["rankings"]["jaccard_meanofmax"][0]["p_flip_next"] is None
    convention = board_json(*args, "--empty-is-one")
    assert convention["bootstrap"]["convention"] == "empty_is_one"
    ranked = convention["rankings"]["jaccard_meanofmax"]
    assert [s["rank"] for s in ranked] == [1, 2] and ranked[1]["value"] is not None


def test_rank_metric_by_hand() -> None:
    samples = {"a": np.array([0.9, 0.8, 0.7]), "b": np.array([0.9, 0.9, 0.4]),
               "c": np.array([0.1, 0.2, 0.3]), "d": np.array([math.nan, 0.1, 0.1])}
    points = {"a": 0.8, "b": 0.8, "c": 0.2, "d": math.nan}
    standings = rank_metric("m", points, samples)
    assert [(s.name, s.rank) for s in standings] == [("a", 1), ("b", 1), ("c", 3), ("d", None)]
    assert standings[0].flip_next == pytest.approx((1 + 0.5) / 3)  # b wins once, ties once
    assert standings[1].flip_next == 0.0 and standings[1].differs_from_next() is True
    assert math.isnan(standings[2].flip_next) and standings[2].differs_from_next() is None
    assert standings[3].next_name is None


def test_default_names() -> None:
    paths = [Path("a/team.zip"), Path("b/submission"), Path("c/submission")]
    assert default_names(paths) == ["team", "b/submission", "c/submission"]


def test_bad_input(teams, sample_data: Path, tmp_path: Path) -> None:
    base = ("--reference", sample_data, "--split", "test", "--bootstrap", 10)
    assert run_board(teams["sample"], "--reference", sample_data).exit_code == 2
    assert run_board(teams["sample"], teams["copy"], *base, "--name", "x").exit_code == 2
    assert run_board(teams["sample"], teams["copy"], *base, "--name", "x",
                     "--name", "x").exit_code == 2
    unknown = run_board(teams["sample"], *base, "--metric", "dice_max")
    assert unknown.exit_code == 2 and "unknown metric" in unknown.output
    assert run_board(teams["sample"], *base, "--bootstrap", 0).exit_code == 2
    nothing = run_board(tmp_path / "absent", teams["missing"], *base)
    assert nothing.exit_code == 1 and "No valid submission to rank" in nothing.output
    nothing = run_board(tmp_path / "absent", *base, "--json")
    assert nothing.exit_code == 1
    assert "submission not found" in json.loads(nothing.stdout)["submissions"][0]["problems"][0]
    bad_ref = run_board(teams["sample"], "--reference", tmp_path / "nope", "--json")
    assert bad_ref.exit_code == 1 and json.loads(bad_ref.stdout)["error"]["code"] == (
        "reference-missing")


def test_through_a_subprocess(teams, sample_data: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "magic_submit", "leaderboard", str(teams["sample"]),
                           str(teams["degraded"]), "--reference", str(sample_data), "--split",
                           "test", "--bootstrap", "100", "--json", "--output", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rankings"]["dice"][0]["submission"] == "submission"
    assert "wrote" in done.stderr and (tmp_path / "leaderboard.csv").is_file()


def test_single_part_submissions_are_ranked_on_their_part(teams, sample_data: Path,
                                                          tmp_path: Path) -> None:
    masks_only, cvqa_only = tmp_path / "masks_only", tmp_path / "cvqa_only"
    shutil.copytree(teams["sample"] / "masks_preds", masks_only / "masks_preds")
    cvqa_only.mkdir()
    shutil.copy(teams["sample"] / "data_cvqa_sys.json", cvqa_only)
    result = board_json(masks_only, cvqa_only, teams["degraded"], "--reference", sample_data,
                        "--split", "test", "--bootstrap", 50)
    assert all(s["valid"] for s in result["submissions"]), result["submissions"]
    for metric, ranked in result["rankings"].items():
        names = [s["submission"] for s in ranked]
        part = "masks_only" if metric in SEG_KEYS else "cvqa_only"
        other = "cvqa_only" if part == "masks_only" else "masks_only"
        assert sorted(names) == sorted([part, "degraded"]) and other not in names, metric
    assert [s["submission"] for s in result["rankings"]["dice"]][0] == "masks_only"
    assert [s["submission"] for s in result["rankings"]["accuracy_all"]][0] == "cvqa_only"
    notes = {s["name"]: " ".join(s["notes"]) for s in result["submissions"]}
    assert "no data_cvqa_sys.json: CVQA not scored" in notes["masks_only"]
    assert "no masks_preds/: segmentation not scored" in notes["cvqa_only"]


def test_the_table_fits_80_columns_with_whole_headers(teams, sample_data: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "magic_submit", "leaderboard", str(teams["sample"]),
                           str(teams["degraded"]), "--reference", str(sample_data), "--split",
                           "test", "--bootstrap", "50"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "metric" in line)
    assert header.split() == ["metric", "rank", "submission", "value", "95%", "CI", "P(flip)"]
    table = done.stdout.split("P(flip): share")[0]
    assert max(len(line.rstrip()) for line in table.splitlines()) <= 80
