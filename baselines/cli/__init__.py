"""The baselines' commands, a plug-in of ``magic``: ``run-baseline seg|vqa`` and
``predict seg|vqa``.

``pyproject.toml`` declares the two groups as entry points (group ``magic_mediqa.commands``,
the name is the command's); importing this package registers every command on them. Nothing
here imports torch, transformers, scikit-learn or openai: the commands do, when they run.
"""

from __future__ import annotations

# In this order, the order of the help pages.
from baselines.cli import run_seg as _run_seg  # noqa: F401  (registers run-baseline seg)
from baselines.cli import run_vqa as _run_vqa  # noqa: F401  (registers run-baseline vqa)
from baselines.cli import predict as _predict  # noqa: F401  (registers predict seg|vqa)
from baselines.cli.groups import predict_app, run_baseline_app

__all__ = ["predict_app", "run_baseline_app"]
