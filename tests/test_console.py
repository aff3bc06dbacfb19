"""Terminal output: progress bars render on a terminal (and stay off elsewhere); a reference
given where a submission belongs is named as such."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from magic_submit.cli import app
from magic_submit.console import progress_counter

runner = CliRunner()


def test_progress_bar_renders_its_description_eta_and_count() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=100, markup=False)
    with progress_counter("scoring [masks_preds]", 4, enabled=True, console=terminal) as tick:
        tick()
        tick()
    shown = buffer.getvalue()
    assert "scoring [masks_preds]" in shown and "2/4" in shown and "eta" in shown
    assert "[progress.description]" not in shown and "{task." not in shown


def test_progress_off_is_silent() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=100)
    with progress_counter("scoring", 4, enabled=False, console=terminal) as tick:
        tick()
    assert buffer.getvalue() == ""


def test_a_reference_given_as_the_submission_is_named(sample_data: Path) -> None:
    masks = sample_data / "dermavqa-segmentations" / "test"
    for args in (["score", masks, "--reference", sample_data, "--split", "test"],
                 ["validate-submission", masks, "--data", sample_data, "--split", "test"]):
        result = runner.invoke(app, [*map(str, args)])
        text = result.stdout + result.stderr
        assert result.exit_code == 1, text
        assert "this is a reference, not a submission" in text and "_mask_ann" in text
        assert "move the masks into masks_preds" not in text and "pass it as --reference" in text
    result = runner.invoke(app, ["score", str(sample_data), "--reference", str(sample_data),
                                 "--split", "test"])
    assert result.exit_code == 1 and "(a dataset root)" in result.stderr
