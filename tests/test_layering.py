"""``evaluation/`` is the ground floor: it imports nothing from the rest of the project."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import REPO

EVALUATION = REPO / "evaluation"
# What the metric may import besides the standard library and itself.
ALLOWED_THIRD_PARTY = {"numpy"}
PROJECT_PACKAGES = {"magic_submit", "baselines", "tests", "benchmarks", "sample_data"}

# Imports every evaluation module with the rest of the project made unimportable, then scores a
# tiny case through the pure functions: the package must work on its own.
ISOLATED_IMPORT = r"""
import importlib, importlib.abc, pkgutil, sys
import numpy as np

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"magic_submit", "baselines"}:
            raise ImportError(f"evaluation imported {name}")
        return None

sys.meta_path.insert(0, Blocked())
import evaluation
names = [m.name for m in pkgutil.walk_packages(evaluation.__path__, "evaluation.")]
for name in names:
    importlib.import_module(name)
from evaluation.cvqa import score_cvqa
from evaluation.facts import PARENTS
from evaluation.segmentation import SegmentationAggregate, score_image
record = {"encounter_id": "ENC1"}
for parent in PARENTS:
    record.update(zip(parent.qids, parent.padded([0])))
assert score_cvqa([record], [record]).scores["accuracy_all"] == 1.0
mask = np.eye(3, dtype=np.uint8)
aggregate = SegmentationAggregate()
aggregate.update(score_image("IMG_ENC00001_00001", mask, {"ann0": mask}))
assert aggregate.compute()["dice"] == 1.0
print(" ".join(sorted(names)))
"""


def test_evaluation_imports_and_scores_with_the_rest_of_the_project_blocked() -> None:
    done = subprocess.run([sys.executable, "-c", ISOLATED_IMPORT], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split())
    on_disk = {f"evaluation.{p.stem}" for p in EVALUATION.glob("*.py") if p.stem != "__init__"}
    assert imported == on_disk  # every module was imported under the block


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_evaluation_source_names_only_the_standard_library_numpy_and_itself() -> None:
    for path in sorted(EVALUATION.glob("*.py")):
        roots = _imported_roots(path) - {"evaluation", "__future__"}
        assert not roots & PROJECT_PACKAGES, (path.name, roots & PROJECT_PACKAGES)
        outside = {r for r in roots - ALLOWED_THIRD_PARTY if r not in sys.stdlib_module_names}
        assert not outside, (path.name, outside)


# ---------------------------------------------------------------------------------------------
# magic_submit: the ground package never climbs into the baselines, and inside it each module
# imports only from its own floor or those below.

MAGIC_SUBMIT = REPO / "magic_submit"
# Floors, lowest first: a top-level module or sub-package of magic_submit -> its floor.
FLOORS: dict[str, int] = {
    **dict.fromkeys(["__init__", "errors", "challenge", "formatting", "text", "naming"], 0),
    **dict.fromkeys(["files", "jsonio", "archive", "photos", "masks", "mask_index",
                     "definitions", "dataset", "submission", "console"], 1),
    "validation": 2,
    "scoring": 3,
    "reporting": 4, "packing": 4,
    "scoring_program": 5,
    "cli": 6, "__main__": 6,
}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _floor_of(parts: list[str]) -> int:
    """The floor of ``magic_submit.<parts...>`` (a module, or a name imported from one; a name
    that is no module of magic_submit, such as ``__version__``, comes from its ``__init__``)."""
    top = parts[0] if parts else "__init__"
    if not ((MAGIC_SUBMIT / top).is_dir() or (MAGIC_SUBMIT / f"{top}.py").is_file()):
        top = "__init__"
    assert top in FLOORS, f"magic_submit.{top} has no floor: add it to FLOORS in {__file__}"
    return FLOORS[top]


def _magic_submit_modules() -> list[Path]:
    return sorted(MAGIC_SUBMIT.rglob("*.py"))


def test_magic_submit_imports_nothing_from_the_baselines() -> None:
    climbing = {str(path.relative_to(REPO)): sorted(n for n in _imported_modules(path)
                                                    if n.split(".")[0] == "baselines")
                for path in _magic_submit_modules()}
    assert not {k: v for k, v in climbing.items() if v}


def test_inside_magic_submit_no_module_imports_from_a_higher_floor() -> None:
    upward: list[str] = []
    for path in _magic_submit_modules():
        parts = list(path.relative_to(MAGIC_SUBMIT).with_suffix("").parts)
        own = _floor_of(parts)
        for name in _imported_modules(path):
            pieces = name.split(".")
            if pieces[0] != "magic_submit":
                continue
            # A dotted name's first piece after magic_submit is its module or sub-package.
            if _floor_of(pieces[1:2]) > own:
                upward.append(f"{path.relative_to(REPO)} imports {name}")
    assert not upward, "\n".join(upward)


def test_the_floor_table_names_every_module_of_magic_submit() -> None:
    on_disk = {p.stem if p.parent == MAGIC_SUBMIT else p.relative_to(MAGIC_SUBMIT).parts[0]
               for p in _magic_submit_modules()}
    assert on_disk == set(FLOORS)


def test_the_floor_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The rule itself: validation (floor 2) importing scoring (floor 3) is caught."""
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from magic_submit.scoring.report import x\n")
    names = _imported_modules(module)
    assert "magic_submit.scoring.report" in names
    assert _floor_of(["scoring"]) > _floor_of(["validation"])
