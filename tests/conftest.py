"""Shared fixtures: the committed sample dataset and builders of small cases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))  # builders.py, reference_impl.py


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """The committed miniature dataset (never written to by tests)."""
    root = REPO / "sample_data"
    assert (root / "test.json").is_file(), "sample_data/ is missing: run sample_data/make_sample_data.py"
    return root


@pytest.fixture(scope="session")
def sample_submission(sample_data: Path) -> Path:
    return sample_data / "submission"


@pytest.fixture()
def submission(tmp_path: Path, sample_submission: Path) -> Path:
    """A writable copy of the sample submission, for tests that break it."""
    from submission_cases import copy_submission

    return copy_submission(sample_submission, tmp_path / "submission")


@pytest.fixture(scope="session")
def magic_score_file(tmp_path_factory, sample_data: Path, sample_submission: Path) -> bytes:
    """What ``magic score --output`` writes for the sample submission on the test split."""
    from typer.testing import CliRunner

    from magic_submit.cli import app

    out = tmp_path_factory.mktemp("magic-score")
    done = CliRunner().invoke(app, ["score", str(sample_submission), "--reference",
                                    str(sample_data), "--split", "test", "--output", str(out),
                                    "--quiet"])
    assert done.exit_code == 0, done.output
    return (out / "scores.json").read_bytes()


# The segmentation smoke run of docs/baseline-seg.md: trained once per session, predicting valid.
SEG_SMOKE = ["--model", "tiny-random", "--device", "cpu", "--predict-split", "valid", "--epochs",
             "12", "--batch-size", "8", "--patience", "12"]


def run_magic(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m magic_submit ARGS`` in a fresh process (text output, 10 minutes at most)."""
    return subprocess.run([sys.executable, "-m", "magic_submit", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="session")
def seg_smoke_run(sample_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of the smoke run (never written to by tests)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = tmp_path_factory.mktemp("seg") / "smoke"
    done = run_magic("run-baseline", "seg", "--data", sample_data, "--output", out, *SEG_SMOKE)
    assert done.returncode == 0, done.stderr
    assert "epoch 12" in done.stderr and "dice_meanofmax" in done.stdout
    return out
