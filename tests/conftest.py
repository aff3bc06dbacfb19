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
