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
