"""``magic run-baseline``: the group under which each baseline registers its command."""

from __future__ import annotations

import typer

from magic_submit.cli import app

baseline_app = typer.Typer(
    help="Train and run a baseline, then write a validated submission.",
    no_args_is_help=True,
)
app.add_typer(baseline_app, name="run-baseline")
