"""A reader that closes the pipe early (``magic ... | head``) ends a command quietly, status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("args", [
    ["score", "sample_data/submission", "-r", "sample_data", "--split", "test", "--json"],
    ["score", "sample_data/submission", "-r", "sample_data", "--split", "test"],
    ["validate-submission", "sample_data/submission", "--split", "sample_data/test.json"],
], ids=["score --json", "score table", "validate-submission"])
def test_closed_pipe_is_no_error(args: list[str], sample_data: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "magic_submit", *args],
                               cwd=sample_data.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Broken pipe" not in err
