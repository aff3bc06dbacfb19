"""Every help page: reachable with -h, flags shown as flags, metavars as declared, an example,
and every default shown whole at 80 columns."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from magic_submit.cli import app

runner = CliRunner()


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path; groups have ``commands`` (typer may vendor its own click)."""
    if hasattr(command, "commands"):
        found = [path]
        for name, sub in command.commands.items():
            found += _commands(sub, path + (name,))
        return found
    return [path]


ROOT = typer.main.get_command(app)
PAGES = _commands(ROOT)


def test_every_command_is_listed() -> None:
    names = {" ".join(p) for p in PAGES}
    assert {"score", "validate-submission", "pack", "leaderboard", "report",
            "run-baseline seg", "run-baseline vqa"} <= names


@pytest.mark.parametrize("path", PAGES, ids=lambda p: " ".join(p) or "magic")
def test_help_page(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "-h"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.output
    assert "-h, --help" in text
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: ") and "{" not in usage and "}" not in usage, usage
    # Flags are shown as flags and metavars as declared: no typer type labels such as <bool>.
    assert not re.search(r"<(bool|str|int|float|path|dir|file|list|int range|float range)",
                         text), text
    command = ROOT
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    if hasattr(command, "commands"):
        return
    assert "Example" in text, f"{' '.join(path)}: no example in its help page"
    flat = " ".join(text.split()).replace("- ", "-")  # a wrap after a hyphen cuts nothing
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and param.show_default \
                and not param.is_flag and param.default not in (None, ()):
            shown = str(param.default)
            assert f"[default: {shown}" in flat, (param.name, shown)


def test_no_command_prints_a_traceback_for_an_unknown_option() -> None:
    for path in PAGES:
        result = runner.invoke(app, [*path, "--no-such-option"])
        assert result.exit_code == 2 and "No such option" in result.output
