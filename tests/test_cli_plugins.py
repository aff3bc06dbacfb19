"""The baselines' commands reach ``magic`` as plug-ins (entry-point group
``magic_mediqa.commands``), so the core imports nothing from them; without them the help page
says how to get them, and running one exits 1 with that hint."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint, entry_points

import pytest
import typer
from typer.testing import CliRunner

from conftest import REPO
from magic_submit.cli import app, new_group
from magic_submit.cli.plugins import BUNDLED_PLUGINS, PLUGIN_GROUP, plugin_commands

# `python -m magic_submit ARGS` with every import of the baselines refused, as in an
# installation that has only the core's packages.
WITHOUT_BASELINES = r"""
import importlib.abc, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "baselines":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocked())
sys.argv = ["magic", *sys.argv[1:]]
from magic_submit.cli import main
main()
"""


def _magic_without_baselines(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_BASELINES, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_installed_entry_points_are_the_ones_pyproject_declares() -> None:
    """A stale development install (made before the entry points existed) fails here, not in
    every baseline test: reinstall with ``pip install -e .``."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    table = declared["project"]["entry-points"][PLUGIN_GROUP]
    installed = {point.name: point.value for point in entry_points(group=PLUGIN_GROUP)}
    assert installed == table
    assert set(table) == set(BUNDLED_PLUGINS)


def test_help_lists_the_plugin_commands_after_the_core_ones() -> None:
    result = CliRunner().invoke(app, ["-h"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()]
    assert listed[-2:] == ["run-baseline", "predict"]
    assert {"score", "validate-submission", "pack"} <= set(listed[:-2])
    assert "not installed" not in result.output.lower()


@pytest.mark.parametrize("args", [["run-baseline", "-h"], ["predict", "seg", "-h"]])
def test_plugin_commands_run_through_the_root_app(args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage: magic " + args[0] in result.output


def test_without_the_baselines_help_gives_one_line_each_with_the_install_command() -> None:
    done = _magic_without_baselines("-h")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.split("Commands:")[1].splitlines()
             if line.strip()}
    for name in ("run-baseline", "predict"):
        assert lines[name].endswith("Not installed: pip install 'magic-mediqa[baselines]'")
    assert "Traceback" not in done.stderr


def test_without_the_baselines_a_baseline_command_exits_1_with_the_hint() -> None:
    done = _magic_without_baselines("run-baseline", "seg", "--data", "x", "--output", "y")
    assert done.returncode == 1
    assert "'magic run-baseline' is not installed here" in done.stderr
    assert "No module named 'baselines" in done.stderr
    assert "pip install 'magic-mediqa[baselines]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_baselines_the_core_commands_work(sample_data) -> None:
    done = _magic_without_baselines("score", str(sample_data / "submission"), "--reference",
                                    str(sample_data), "--split", "test", "--json")
    assert done.returncode == 0, done.stderr
    assert '"dice"' in done.stdout


# --- plugin_commands with given entry points --------------------------------------------------

extra_app = new_group("An extra command group of another package.")


@extra_app.command("hello")
def _hello() -> None:
    typer.echo("hello from a plug-in")


def _point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=PLUGIN_GROUP)


BUNDLED_POINTS = [_point("run-baseline", "baselines.cli:run_baseline_app"),
                  _point("predict", "baselines.cli:predict_app")]


def _installed(monkeypatch: pytest.MonkeyPatch, points: list[EntryPoint]) -> None:
    import magic_submit.cli.plugins as plugins

    monkeypatch.setattr(plugins, "entry_points", lambda group: points)


def test_another_packages_group_is_added_after_the_bundled_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, [_point("extra", f"{__name__}:extra_app"), *BUNDLED_POINTS])
    assert list(plugin_commands()) == ["run-baseline", "predict", "extra"]
    result = CliRunner().invoke(app, ["extra", "hello"])
    assert result.exit_code == 0 and result.output == "hello from a plug-in\n"


def test_a_plugin_that_cannot_be_imported_becomes_a_stand_in_naming_why(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, [_point("extra", "no_such_package_here.cli:app")])
    assert list(plugin_commands()) == ["run-baseline", "predict", "extra"]  # bundled: stand-ins
    result = CliRunner().invoke(app, ["extra", "anything", "--flag"])
    assert result.exit_code == 1
    assert "no_such_package_here" in result.output
    assert "reinstall the package that adds this command" in result.output
    missing = CliRunner().invoke(app, ["predict", "seg", "--split", "test"])
    assert missing.exit_code == 1
    assert "no installed package provides it" in missing.output
    assert "pip install 'magic-mediqa[baselines]'" in missing.output


def test_a_plugin_never_replaces_a_core_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, [_point("score", f"{__name__}:extra_app"), *BUNDLED_POINTS])
    result = CliRunner().invoke(app, ["score", "-h"])
    assert result.exit_code == 0
    assert "hello" not in result.output and "official figures" in result.output


def test_an_entry_point_of_the_wrong_kind_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="is not a typer.Typer: str"):
        plugin_commands([_point("odd", "magic_submit.cli.plugins:PLUGIN_GROUP")])
