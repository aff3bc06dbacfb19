"""``magic export-scoring-program``: the bundle, its command and metadata, the entry script that
must run (and fail clearly) on the platform's default Python, and the pins of its image."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from typer.testing import CliRunner

from magic_submit.cli import app
from magic_submit.scoring_program import bundle, pins

# The command of the organisers' metadata.yaml (wyim/ImageCLEF-MAGIC-2025, evaluation/).
OFFICIAL_COMMAND = ("python3 run_segandcvqa_scoring.py /app/input/ref/masks_refs "
                    "/app/input/res/masks_preds /app/input/ref/data_cvqa_ref.json "
                    "/app/input/res/data_cvqa_sys.json /app/output/ sys")
REPO = Path(__file__).resolve().parents[1]


def export(tmp_path: Path, *options: str) -> tuple[Path, object]:
    target = tmp_path / "scoring_program.zip"
    done = CliRunner().invoke(app, ["export-scoring-program", str(target), *options])
    return target, done


def test_export_writes_the_bundle_the_platform_runs(tmp_path: Path) -> None:
    target, done = export(tmp_path, "--dockerfile", "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        metadata_text = archive.read("metadata.yaml").decode()
        sources = {n: archive.read(n) for n in names if n.endswith(".py")}
    assert names[:3] == ["metadata.yaml", "run_magic_scoring.py", "Dockerfile"]
    assert summary["entries"] == names and summary["modules"] == len(names) - 3
    command = re.search(r"^command: (.*)$", metadata_text, re.M).group(1)
    assert command == summary["command"] and summary["detail"] == "summary"
    words = command.split()
    assert words[:2] == ["python3", "run_magic_scoring.py"]
    assert words[2:8] == OFFICIAL_COMMAND.split()[2:]  # the official arguments, in order
    assert words[8:] == ["--detail", "summary"]
    assert "detail summary (safe for a hidden reference" in metadata_text
    assert not any(n.startswith(("baselines/", "magic_submit/cli/")) for n in names)
    assert "magic_submit/scoring_program/bundle.py" not in names
    dirs = {"magic_submit": Path(__import__("magic_submit").__file__).parent,
            "evaluation": Path(__import__("evaluation").__file__).parent}
    for name, data in sources.items():  # copied from the installed package, unchanged
        if name != "run_magic_scoring.py":
            top, _, rest = name.partition("/")
            assert (dirs[top] / rest).read_bytes() == data, name
    again, _ = export(tmp_path / "again")
    plain, _ = export(tmp_path / "plain")
    assert again.read_bytes() == plain.read_bytes()  # the same options give the same bytes


def test_export_options_reach_the_command_and_the_entry(tmp_path: Path) -> None:
    target, done = export(tmp_path, "--suffix", "team-1.v2", "--detail", "full", "--worst", "5",
                          "--strict", "--image", "me/magic-scoring:0.1.0")
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(target) as archive:
        assert "Dockerfile" not in archive.namelist()
        text = archive.read("metadata.yaml").decode()
        entry = archive.read("run_magic_scoring.py").decode()
    assert "/app/output/ team-1.v2 --detail full --worst 5 --strict\n" in text
    assert "detail full (shows the reference: for a phase whose gold is public)" in text
    assert 'IMAGE = "me/magic-scoring:0.1.0"' in entry


@pytest.mark.parametrize("options, message", [
    (["--suffix", "my sys"], "cannot go into the platform command"),
    (["--worst", "-1"], "Invalid value"),
    (["--worst", "5"], "--worst shapes the gallery of --detail full"),
    (["--detail", "everything"], "choose summary or full"),
    (["--show-reference"], "--show-reference is replaced by --detail full"),
    (["--image", 'a"b'], "cannot be quoted in the entry script"),
])
def test_export_usage_errors_exit_2(tmp_path: Path, options: list[str], message: str) -> None:
    target, done = export(tmp_path, *options)
    assert done.exit_code == 2 and message in done.output and not target.exists()
    done = CliRunner().invoke(app, ["export-scoring-program", str(tmp_path / "bundle.tar")])
    assert done.exit_code == 2 and "must end in .zip" in done.output


def entry_tree(image: str | None = None) -> ast.Module:
    return ast.parse(bundle.entry_script(image), feature_version=(3, 7))


def test_entry_script_parses_on_python_3_7() -> None:
    for image in (None, "me/magic-scoring:0.1.0"):
        entry_tree(image)  # a SyntaxError fails the test


def test_entry_script_imports_only_the_standard_library_before_its_check() -> None:
    tree = entry_tree()
    (main,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    check = next(i for i, node in enumerate(main.body) if isinstance(node, ast.If))
    assert any(isinstance(n, ast.Return) for n in main.body[check].body)  # it stops there
    for index, node in enumerate(main.body):
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                top = (sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name)
                assert index > check or top.split(".")[0] in sys.stdlib_module_names
    outside = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
               and not any(n is s for s in ast.walk(main))]
    for node in outside:
        names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        assert all(name.split(".")[0] in sys.stdlib_module_names for name in names)


def test_entry_script_looks_for_exactly_the_pinned_packages() -> None:
    used = set(bundle.third_party_imports(bundle.module_closure())) - set(pins.NOT_NEEDED)
    assert set(pins.pinned_imports()) == used
    assert f"PACKAGES = {pins.pinned_imports()!r}" in bundle.entry_script()


def test_bundled_code_imports_exactly_the_pinned_packages() -> None:
    used = bundle.third_party_imports(bundle.module_closure())
    needed = {pins.distribution_of(name) for name in used} - set(pins.NOT_NEEDED)
    assert needed == pins.pinned_names()
    assert set(pins.NOT_NEEDED) <= set(used)  # no stale exemption
    assert not {"torch", "transformers", "typer", "rich", "sklearn"} & set(used)


def test_export_refuses_code_that_needs_an_unpinned_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pins, "SCORING_PINS", tuple(p for p in pins.SCORING_PINS
                                                    if not p.startswith("pillow")))
    target, done = export(tmp_path)
    assert done.exit_code == 1 and "imports PIL" in done.output
    assert "magic_submit.photos" in done.output  # the photo reader is what imports PIL
    assert not target.exists()


def test_pins_lie_in_the_core_dependency_ranges() -> None:
    core = {}
    for line in metadata.requires("magic-mediqa") or []:
        requirement = Requirement(line)
        if requirement.marker is None:  # extras carry an `extra == ...` marker
            core[requirement.name.lower()] = requirement.specifier
    for pin in pins.SCORING_PINS:
        name, version = pin.split("==")
        assert name.lower() in core, f"{name} is not a core dependency"
        assert core[name.lower()].contains(version), f"{pin} is outside {core[name.lower()]}"


def test_minimum_python_is_the_projects() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = SpecifierSet(project["requires-python"])
    major, minor = pins.MIN_PYTHON
    assert f"{major}.{minor}" in needed and f"{major}.{minor - 1}" not in needed
    assert pins.PYTHON_RELEASE in needed


def test_dockerfile_is_an_exact_base_image_and_the_pins() -> None:
    text = bundle.dockerfile_text()
    assert re.findall(r"^FROM (\S+)$", text, re.M) == [pins.BASE_IMAGE]
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+", pins.BASE_IMAGE)
    assert pins.PYTHON_RELEASE.startswith(pins.PYTHON_VERSION + ".")
    (install,) = re.findall(r"^RUN pip install --no-cache-dir (.*)$", text, re.M)
    assert tuple(install.split()) == pins.SCORING_PINS
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", pin) for pin in install.split())
