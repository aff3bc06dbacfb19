"""README.md and docs/: every relative link and every file they name exists; the problem-code
table lists every code; the README stays a front door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO
from magic_submit.validation.problems import CODES

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# A path of the project named in running text, e.g. `benchmarks/bench_score.py`.
GENERATED = ("benchmarks/_data",)  # made by a benchmark on first use, git-ignored
PROJECT_PATH = re.compile(r"^(magic_submit|evaluation|baselines|tests|benchmarks|sample_data|"
                          r"docs|\.ci)/[\w./-]+$")


def _slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#+\s+(.*)$", text, flags=re.M)}


def _prose(page: Path) -> str:
    """The page without its fenced blocks (commands and outputs may name files of a user's)."""
    return re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(_prose(page)):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: broken link {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.name}: no heading for #{anchor} in {path}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_named_project_files_exist(page: Path) -> None:
    for span in CODE_SPAN.findall(_prose(page)):
        candidate = span.split()[0] if span.split() else span
        if PROJECT_PATH.match(candidate) and "..." not in candidate \
                and not candidate.startswith(GENERATED):
            assert (REPO / candidate.rstrip("/")).exists(), f"{page.name}: {candidate} not found"


def test_every_problem_code_is_documented() -> None:
    table = (REPO / "docs" / "validation.md").read_text(encoding="utf-8")
    missing = [code for code in CODES if f"| `{code}` |" not in table]
    assert not missing, f"docs/validation.md lacks {missing}"


def test_readme_is_a_front_door() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) <= 15 * 1024
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```\n(.*?)```", quick, flags=re.S)[0].strip().splitlines()
    assert len(commands) == 2 and all("python3 -m venv .venv" in c for c in commands)
    assert "magic score sample_data/submission" in commands[0] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    second = re.findall(r"```\n(.*?)```", quick, flags=re.S)[0].strip().splitlines()[1]
    assert second in (REPO / ".ci" / "run").read_text(encoding="utf-8")
