"""``magic run-baseline vqa`` end to end: the three methods, the output files, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from vqa_cases import copy_dataset

from magic_submit.challenge import CVQA_SUBMISSION_FILE, DEFINITIONS_FILE
from magic_submit.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def vqa(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, ["run-baseline", "vqa", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_prior_json_output_and_files(sample_data: Path, tmp_path: Path):
    code, out, err = vqa("--data", sample_data, "--output", tmp_path, "--method", "prior", "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics == json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy_all"] == pytest.approx(0.48688, abs=1e-4)
    records = json.loads((tmp_path / "submission" / CVQA_SUBMISSION_FILE).read_text())
    assert len(records) == 12 and metrics["submission_valid"] is True
    assert "segmentation-absent" in err  # the validator's warning, said once


def test_text_table_through_a_subprocess(sample_data: Path, tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "magic_submit", "run-baseline", "vqa", "--data",
                           str(sample_data), "--output", str(tmp_path), "--method", "text",
                           "--valid-split", "none", "--predict-split", "valid", "--quiet"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "12 encounters of 'valid'" in done.stdout and done.stderr == ""
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["validation_split"] is None and "accuracy_all" not in metrics


def test_bert_swin_tiny_without_query_context(sample_data: Path, tmp_path: Path):
    pytest.importorskip("torch")
    code, out, err = vqa("--data", sample_data, "--output", tmp_path, "--method", "bert-swin",
                         "--model-text", "tiny-random", "--model-image", "tiny-random",
                         "--epochs", "1", "--device", "cpu", "--no-query-context", "--seed", "1")
    assert code == 0, err
    assert "accuracy_all" in out and "epoch 1: train loss" in err
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["options"]["query_context"] is False and len(metrics["epochs"]) == 1
    assert metrics["selection"]["chosen_on_it"] == ["best_epoch"] and metrics["selection"]["optimistic"]


def test_usage_errors_exit_2(sample_data: Path, tmp_path: Path):
    assert vqa("--data", sample_data, "--output", tmp_path, "--method", "bert")[0] == 2
    assert vqa("--data", sample_data, "--output", tmp_path, "--method", "text",
               "--device", "tpu")[0] == 2
    assert vqa("--data", sample_data, "--output", tmp_path)[0] == 2  # --method is required


def test_missing_dataset_is_a_clear_error(tmp_path: Path):
    code, out, err = vqa("--data", tmp_path / "nowhere", "--output", tmp_path / "o",
                         "--method", "prior", "--json")
    assert code == 1
    assert "query file for split 'train'" in err
    assert json.loads(out)["error"]["message"].startswith("no query file")


def test_bad_training_gold_names_encounter_and_qid(sample_data: Path, tmp_path: Path):
    data = copy_dataset(sample_data, tmp_path / "data")
    gold = json.loads((data / "train_cvqa.json").read_text())
    gold[3]["CQID034-001"] = "11"
    (data / "train_cvqa.json").write_text(json.dumps(gold))
    code, _, err = vqa("--data", data, "--output", tmp_path / "o", "--method", "text")
    assert code == 1
    assert gold[3]["encounter_id"] in err and "CQID034-001='11'" in err
    assert not (tmp_path / "o" / "submission").exists()


def test_bert_swin_needs_the_definitions_and_real_model_folders(sample_data: Path, tmp_path: Path):
    pytest.importorskip("torch")
    data = copy_dataset(sample_data, tmp_path / "data")
    (data / DEFINITIONS_FILE).unlink()
    code, _, err = vqa("--data", data, "--output", tmp_path / "o", "--method", "bert-swin",
                       "--model-text", "tiny-random", "--model-image", "tiny-random")
    assert code == 1 and DEFINITIONS_FILE in err
    code, _, err = vqa("--data", sample_data, "--output", tmp_path / "o", "--method", "bert-swin",
                       "--model-text", tmp_path / "no_such_model", "--model-image", "tiny-random",
                       "--device", "cpu")
    assert code == 1 and "text tokenizer folder not found" in err


def test_cuda_asked_without_a_gpu(sample_data: Path, tmp_path: Path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, _, err = vqa("--data", sample_data, "--output", tmp_path, "--method", "bert-swin",
                       "--model-text", "tiny-random", "--model-image", "tiny-random",
                       "--device", "cuda")
    assert code == 1 and "no CUDA GPU" in err


def test_notes_are_said_once_and_quiet_silences_them(sample_data: Path, tmp_path: Path):
    code, _, err = vqa("--data", sample_data, "--output", tmp_path, "--method", "prior",
                       "--valid-split", "nosuch")
    assert code == 0 and err.count("note: no 'nosuch' split found") == 1
    code, _, err = vqa("--data", sample_data, "--output", tmp_path, "--method", "prior",
                       "--valid-split", "nosuch", "--quiet", "--overwrite")
    assert code == 0 and "nosuch" not in err


def test_missing_scikit_learn_is_an_install_hint(sample_data: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else real(name, *a))
    code, _, err = vqa("--data", sample_data, "--output", tmp_path, "--method", "text")
    assert code == 1 and "--method text needs sklearn" in err
    assert "pip install 'magic-mediqa[text]'" in err
