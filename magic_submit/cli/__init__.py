"""The ``magic`` command line: one Typer app, one module per command, heavy imports inside commands.

Exit status: 0 ok, 1 invalid input or a failed check, 2 usage error.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="magic",
    help="MEDIQA-MAGIC 2025 toolkit: validate and pack submissions, score them exactly as the "
    "official scorer does, run baselines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def _version(value: bool) -> None:
    if value:
        from magic_submit import __version__

        typer.echo(f"magic {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """MEDIQA-MAGIC 2025 toolkit."""


# Each module registers its command(s) on ``app`` when imported.
from magic_submit.cli import score as _score  # noqa: E402,F401
from magic_submit.cli import baseline as _baseline  # noqa: E402,F401
from magic_submit.cli import leaderboard as _leaderboard  # noqa: E402,F401
from magic_submit.cli import report as _report  # noqa: E402,F401
from magic_submit.cli import validate as _validate  # noqa: E402,F401
from magic_submit.cli import pack as _pack  # noqa: E402,F401
from magic_submit.cli import baseline_seg as _baseline_seg  # noqa: E402,F401
from magic_submit.cli import baseline_vqa as _baseline_vqa  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    app()
