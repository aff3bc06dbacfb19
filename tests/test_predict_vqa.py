"""``magic predict vqa``: a saved prior, text or bert-swin run answers again, the same answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import run_magic
from magic_submit.challenge import CVQA_SUBMISSION_FILE
from magic_submit.cli import app

runner = CliRunner()


def cli(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [*map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def answers(folder: Path) -> list[dict]:
    return json.loads((folder / "submission" / CVQA_SUBMISSION_FILE).read_text(encoding="utf-8"))


def train_then_predict(sample_data: Path, tmp_path: Path, method: str, *extra: object) -> Path:
    """run-baseline --predict-split valid, then predict vqa --split valid: the same answers."""
    run = tmp_path / f"run-{method}"
    code, _, err = cli("run-baseline", "vqa", "--data", sample_data, "--output", run, "--method",
                       method, "--predict-split", "valid", "--quiet", *extra)
    assert code == 0, err
    code, out, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--split",
                         "valid", "--output", tmp_path / f"predicted-{method}", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["method"] == method and record["n_predicted"] == 12
    assert record["submission_valid"] is True
    assert answers(tmp_path / f"predicted-{method}") == answers(run)
    return run


def test_text_run_answers_again_identically(sample_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    run = train_then_predict(sample_data, tmp_path, "text", "--with-responses")
    info = json.loads((run / "model" / "text_model.json").read_text(encoding="utf-8"))
    assert info["with_responses"] is True and set(info["choices"]) >= {"CQID010", "CQID036"}
    # another split, through a subprocess: every test encounter answered, validated
    done = run_magic("predict", "vqa", "--run", run, "--split", sample_data / "test.json",
                     "--output", tmp_path / "test", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "12 encounters of 'test' predicted" in done.stdout
    assert [r["encounter_id"] for r in answers(tmp_path / "test")] == [
        r["encounter_id"] for r in json.loads((sample_data / "test.json").read_text())]


def test_prior_run_answers_again_identically(sample_data: Path, tmp_path: Path) -> None:
    run = train_then_predict(sample_data, tmp_path, "prior")
    saved = json.loads((run / "model" / "prior.json").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert saved["answers"] == metrics["prior"] and metrics["baseline"] == "vqa"


def test_bert_swin_run_answers_again_identically(sample_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    run = train_then_predict(sample_data, tmp_path, "bert-swin", "--model-text", "tiny-random",
                             "--model-image", "tiny-random", "--epochs", "2", "--device", "cpu")
    # encoders other than the run's (tiny-random built from another seed) are refused
    import torch

    checkpoint = torch.load(run / "model" / "bert_swin.pt", weights_only=True)
    checkpoint["settings"]["seed"] = 7
    torch.save(checkpoint, run / "model" / "bert_swin.pt")
    code, _, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--split", "valid",
                       "--output", tmp_path / "other", "--device", "cpu")
    assert code == 1 and "not the encoders this run was trained with" in err
    assert "text encoder 'tiny-random'" in err and "image encoder 'tiny-random'" in err


def test_runs_that_cannot_predict_are_clear_errors(sample_data: Path, tmp_path: Path) -> None:
    def error(run: Path) -> str:
        code, out, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--output",
                             tmp_path / "out", "--json")
        assert code == 1 and json.loads(out)["error"]["message"]
        return err

    assert "run folder not found" in error(tmp_path / "nowhere")
    run = tmp_path / "run"
    code, _, err = cli("run-baseline", "vqa", "--data", sample_data, "--output", run, "--method",
                       "prior", "--quiet")
    assert code == 0, err
    (run / "model" / "prior.json").write_text('{"answers": {"CQID010": [9]}}')
    assert "not the prior answers of a run" in error(run)
    (run / "model" / "prior.json").unlink()
    assert "incomplete run folder: no model/prior.json" in error(run)
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**metrics, "method": "vlm"}))
    assert "method 'vlm' saves no model" in error(run)
    seg = tmp_path / "seg"
    seg.mkdir()
    (seg / "metrics.json").write_text(json.dumps({"baseline": "seg", "threshold": 0.5}))
    assert "use 'magic predict seg'" in error(seg)
    (run / "metrics.json").unlink()
    assert "incomplete run folder: no metrics.json" in error(run)


def test_text_model_damaged_or_from_another_version(sample_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    run = tmp_path / "run"
    code, _, err = cli("run-baseline", "vqa", "--data", sample_data, "--output", run, "--method",
                       "text", "--quiet")
    assert code == 0, err
    info = json.loads((run / "model" / "text_model.json").read_text())
    (run / "model" / "text_model.json").write_text(json.dumps({**info, "scikit_learn": "0.1"}))
    code, _, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--output",
                       tmp_path / "a")
    assert code == 0 and "fitted with scikit-learn 0.1" in err  # a note, the answers still come
    (run / "model" / "text_model.pkl").write_bytes(b"not a pickle")
    code, _, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--output",
                       tmp_path / "b")
    assert code == 1 and "cannot read the fitted text model" in err


def test_an_empty_split_and_the_output_guard(sample_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run-baseline", "vqa", "--data", sample_data, "--output", run, "--method",
               "prior", "--quiet")[0] == 0
    data = tmp_path / "data"
    data.mkdir()
    (data / "test.json").write_text("[]")
    code, _, err = cli("predict", "vqa", "--run", run, "--data", data, "--output", tmp_path / "o")
    assert code == 1 and "split 'test' lists no encounter" in err
    code, _, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--output", run,
                       "--overwrite")
    assert code == 1 and "--output holds an input of this command" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    code, _, err = cli("predict", "vqa", "--run", run, "--data", sample_data, "--output",
                       tmp_path / "full")
    assert code == 1 and "already holds files" in err
    assert cli("predict", "vqa", "--data", sample_data, "--output", tmp_path / "o")[0] == 2
    assert cli("predict", "vqa", "--run", run, "--data", sample_data, "--output",
               tmp_path / "o", "--device", "tpu")[0] == 2
