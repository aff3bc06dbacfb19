"""``magic predict`` never half-writes and never deletes its inputs; damaged weights are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from magic_submit.cli import app  # noqa: E402

runner = CliRunner()


def magic(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, list(map(str, args)))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def test_a_failed_prediction_leaves_nothing_and_keeps_the_earlier_one(
        seg_smoke_run: Path, sample_data: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(sample_data / "images_valid", photos)
    last = sorted(photos.iterdir())[-1]
    intact = last.read_bytes()
    last.write_bytes(intact[: len(intact) // 2])  # found only when its batch is decoded
    out = tmp_path / "out"
    command = ["predict", "seg", "--run", seg_smoke_run, "--data", sample_data, "--split",
               "valid", "--images", photos, "--output", out]
    code, _, err = magic(*command)
    assert code == 1 and last.name in err and "truncated" in err
    assert not out.exists() and leftovers(tmp_path) == []
    last.write_bytes(intact)
    code, _, err = magic(*command)  # the same command again: nothing blocks it
    assert code == 0, err
    assert "--resume" not in err
    before = (out / "submission.zip").read_bytes()
    last.write_bytes(intact[: len(intact) // 2])
    code, _, err = magic(*command, "--overwrite")  # a failed --overwrite keeps the earlier run
    assert code == 1 and last.name in err
    assert (out / "submission.zip").read_bytes() == before and leftovers(tmp_path) == []
    assert sorted(p.name for p in out.iterdir()) == ["prediction.json", "submission",
                                                     "submission.zip"]


def test_an_output_that_holds_files_names_overwrite_not_resume(seg_smoke_run: Path,
                                                                sample_data: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = magic("predict", "seg", "--run", seg_smoke_run, "--data", sample_data,
                         "--split", "valid", "--output", out)
    assert code == 1 and "already holds files" in err and "--overwrite" in err
    assert "--resume" not in err
    code, _, err = magic("predict", "seg", "--run", seg_smoke_run, "--data", sample_data,
                         "--split", "valid", "--output", out, "--overwrite", "--quiet")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "mine" and (out / "submission.zip").is_file()


def test_ensemble_members_inside_the_output_survive_overwrite(seg_smoke_run: Path,
                                                              sample_data: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = magic("predict", "seg", "--run", seg_smoke_run, "--data", sample_data,
                         "--split", "valid", "--output", out, "--save-probabilities", "--quiet")
    assert code == 0, err
    maps = sorted(p.name for p in (out / "probabilities").iterdir())
    for members in ([out / "probabilities"], [out], [seg_smoke_run, out / "probabilities"]):
        args = [a for m in members for a in ("--ensemble", m)]
        code, _, err = magic("predict", "seg", *args, "--data", sample_data, "--split", "valid",
                             "--output", out, "--overwrite")
        assert code == 1 and "--output holds an input of this command" in err, members
        assert sorted(p.name for p in (out / "probabilities").iterdir()) == maps
    run = tmp_path / "run"
    shutil.copytree(seg_smoke_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    code, _, err = magic("predict", "seg", "--run", run, "--data", sample_data, "--output", run,
                         "--overwrite")
    assert code == 1 and "--output holds an input" in err and (run / "submission.zip").is_file()
    code, _, err = magic("predict", "seg", "--run", run, "--data", sample_data, "--output",
                         tmp_path, "--overwrite")  # the run inside the output
    assert code == 1 and "--output holds an input" in err and (run / "model").is_dir()
    assert leftovers(tmp_path) == []


def test_damaged_weights_are_named_without_a_hub_hint(seg_smoke_run: Path, sample_data: Path,
                                                      tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(seg_smoke_run, run, ignore=shutil.ignore_patterns("checkpoints"))
    weights = run / "model" / "model.safetensors"
    data = weights.read_bytes()
    for damaged in (data[: len(data) // 2], b"\x00" * 64):
        weights.write_bytes(damaged)
        code, out, err = magic("predict", "seg", "--run", run, "--data", sample_data, "--split",
                               "valid", "--output", tmp_path / "out", "--json")
        assert code == 1
        error = json.loads(out)["error"]
        assert error["file"] == str(weights) and "damaged weights file" in error["message"]
        assert "train the run again" in error["hint"] and "restore" in error["hint"]
        assert "hub" not in err and "hf auth" not in err and "download" not in err
        assert not (tmp_path / "out").exists()


def test_a_folder_of_photos_needs_its_query_file(seg_smoke_run: Path, sample_data: Path,
                                                 tmp_path: Path) -> None:
    code, _, err = magic("predict", "seg", "--run", seg_smoke_run, "--images",
                         sample_data / "images_test", "--output", tmp_path / "out")
    assert code == 2 and "--images needs the split's query file" in err
    assert "prompt" in err and not (tmp_path / "out").exists()


def test_predict_vqa_is_staged_too(sample_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, _, err = magic("run-baseline", "vqa", "--data", sample_data, "--output", run,
                         "--method", "prior", "--predict-split", "valid")
    assert code == 0, err
    broken = tmp_path / "broken.json"
    broken.write_text('{"not": "a list"}')
    out = tmp_path / "out"
    code, _, err = magic("predict", "vqa", "--run", run, "--split", broken, "--output", out)
    assert code == 1 and not out.exists() and leftovers(tmp_path) == []
    code, _, err = magic("predict", "vqa", "--run", run, "--data", sample_data, "--split",
                         "valid", "--output", out)
    assert code == 0, err
    record = json.loads((out / "prediction.json").read_text())
    assert record["submission"] == str(out / "submission" / "data_cvqa_sys.json")
    code, _, err = magic("predict", "vqa", "--run", run, "--data", sample_data, "--split",
                         "valid", "--output", tmp_path, "--overwrite")
    assert code == 1 and "--output holds an input" in err and (run / "metrics.json").is_file()
