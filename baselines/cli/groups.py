"""The command groups the baselines add to ``magic`` (``run-baseline``, ``predict``).

Each command module registers on them when imported; :mod:`baselines.cli` imports them all and
``pyproject.toml`` names the groups in the ``magic_mediqa.commands`` entry-point group, which
:mod:`magic_submit.cli` reads. The core never imports this package.
"""

from __future__ import annotations

from magic_submit.cli import new_group

run_baseline_app = new_group("Train and run a baseline, then write a validated submission.")
predict_app = new_group("Predict a split with a finished run-baseline run: masks or answers, "
                        "validated.")
