"""Shared fixtures: the committed sample dataset and builders of small cases."""

from __future__ import annotations

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
