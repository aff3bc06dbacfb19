"""``magic run-baseline vqa --method vlm`` on the CPU with tiny-random: submission, resume with
zero model calls, dry run, batched generation, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from magic_submit.challenge import CVQA_SUBMISSION_FILE
from magic_submit.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent
# small enough for 2 cores: one batch, a few tokens, small photos
FAST = ["--max-new-tokens", "3", "--retries", "0", "--batch-size", "36", "--image-size", "64",
        "--device", "cpu"]


def invoke(*args: object):
    result = runner.invoke(app, [*map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_tiny_random_on_cpu_then_resume_makes_no_model_call(sample_data, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    command = ["run-baseline", "vqa", "--data", sample_data, "--output", tmp_path, "--method",
               "vlm", "--model", "tiny-random", "--predict-split", "valid", "--votes", "3", *FAST]
    first = invoke(*command, "--json")
    assert first.exit_code == 0, first.stderr
    metrics = json.loads(first.stdout)
    assert metrics["model_calls"] == 36 and metrics["backend"]["device"] == "cpu"
    assert metrics["tokens"]["prompt"] > 36 * 500 and metrics["submission_valid"]
    assert "fallbacks to the prior answer (of 12 encounters)" in first.stderr
    path = tmp_path / "submission" / CVQA_SUBMISSION_FILE
    written = path.read_bytes()
    checked = invoke("validate-submission", tmp_path / "submission", "--split",
                     sample_data / "valid.json")
    assert checked.exit_code == 0, checked.stdout
    assert invoke(*command).exit_code == 1  # an earlier run is there: --resume or --overwrite
    again = invoke(*command, "--resume", "--json")
    assert again.exit_code == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert rerun["model_calls"] == 0 and rerun["reused_calls"] == 36 and rerun["backend"] == {}
    assert path.read_bytes() == written
    assert len((tmp_path / "responses.jsonl").read_text().splitlines()) == 36


def test_batched_generation_answers_as_one_at_a_time(sample_data):
    pytest.importorskip("transformers")
    from baselines.vqa.data import load_family_options
    from baselines.vqa.vlm.backend_hf import open_hf_backend
    from baselines.vqa.vlm.prompt import build_request
    from magic_submit.dataset import DatasetLayout

    layout = DatasetLayout(sample_data)
    families = load_family_options(layout, required=True)
    images = layout.require_images("valid")
    encounters = layout.encounters("valid")[:3]
    requests = [build_request(e.encounter_id, e.record, [images / f for f in e.image_files],
                              families, ["CQID025", "CQID010"][: 1 + i % 2], vote=i, attempt=0,
                              seed=0, with_responses=bool(i % 2))
                for i, e in enumerate(encounters)]
    with open_hf_backend("tiny-random", "cpu", batch_size=3, max_new_tokens=5,
                         image_size=64) as backend:
        batched = backend.generate_batch(requests)
        single = [backend.generate_batch([r])[0] for r in requests]
    lengths = {r.prompt_tokens for r in batched}
    assert len(lengths) == 3  # prompts of different lengths: left padding was needed
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.prompt_tokens for r in batched] == [r.prompt_tokens for r in single]


def test_structured_generation_writes_only_the_answer_characters(sample_data):
    pytest.importorskip("transformers")
    from baselines.vqa.data import load_family_options
    from baselines.vqa.vlm.backend_hf import open_hf_backend
    from baselines.vqa.vlm.prompt import build_request
    from baselines.vqa.vlm.schema import ANSWER_CHARACTERS
    from magic_submit.dataset import DatasetLayout

    layout = DatasetLayout(sample_data)
    families = load_family_options(layout, required=True)
    encounter = layout.encounters("valid")[0]
    requests = [build_request(encounter.encounter_id, encounter.record, [], families,
                              ["CQID025"], vote=0, attempt=0, seed=0, with_responses=False)]
    texts = {}
    for structured in (True, False):
        with open_hf_backend("tiny-random", "cpu", max_new_tokens=24, image_size=64,
                             structured=structured) as backend:
            texts[structured] = backend.generate_batch(requests)[0].text
    assert texts[True] and set(texts[True]) <= ANSWER_CHARACTERS
    assert not set(texts[False]) <= ANSWER_CHARACTERS  # a random model says anything else


def test_dry_run_json_through_a_subprocess(sample_data, tmp_path):
    done = subprocess.run([sys.executable, "-m", "magic_submit", "run-baseline", "vqa", "--data",
                           str(sample_data), "--output", str(tmp_path / "out"), "--method", "api",
                           "--dry-run", "--json", "--votes", "2", "--shots", "1"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["encounter_id"] == "ENC00852" and plan["vote"] == 0
    assert plan["photos"] == [{"file": "IMG_ENC00852_00001.jpg", "stored": [497, 433],
                               "sent": [497, 433]}]
    assert "Example 1\n" in plan["text"] and "  1. single spot" in plan["text"]
    assert plan["estimate"]["encounters"] == 24  # valid (scored) and test (predicted)
    assert plan["estimate"]["requests_first_attempt"] == 48
    assert not (tmp_path / "out").exists()  # nothing written


def test_usage_errors(sample_data, tmp_path):
    base = ["run-baseline", "vqa", "--data", sample_data, "--output", tmp_path]
    assert invoke(*base, "--method", "prior", "--dry-run").exit_code == 2
    assert invoke(*base, "--method", "vlm", "--votes", "0").exit_code == 2
    resumed = invoke(*base, "--method", "prior", "--resume")
    assert resumed.exit_code == 2 and "--resume applies to" in resumed.stderr
    missing = invoke(*base, "--method", "vlm", "--model", str(tmp_path / "nowhere"), *FAST)
    assert missing.exit_code == 1 and "folder not found" in missing.stderr
