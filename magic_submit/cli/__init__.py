"""The ``magic`` command line: one Typer app, one module per command, heavy imports inside commands.

Exit status: 0 ok, 1 invalid input or a failed check, 2 usage error.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

def _plain_argument_help() -> None:
    """Show positional arguments as click does (``SUBMISSION``), not as newer typer releases do
    (``{SUBMISSION}`` in the usage line and ``SUBMISSION <path>`` in the list). Only arguments
    with a declared metavar are changed; older typer releases already show them plainly."""
    from typer.core import TyperArgument

    if hasattr(TyperArgument, "_usage_display_name"):
        def usage_name(self: TyperArgument) -> str:
            name = self.display_name_raw + ("..." if self.nargs != 1 else "")
            return name if self.required else f"[{name}]"

        TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    if hasattr(TyperArgument, "display_type_rich"):
        typed = TyperArgument.display_type_rich

        def display_type(self: TyperArgument, ctx: object) -> str | None:
            return None if self.metavar is not None else typed(self, ctx)

        TyperArgument.display_type_rich = display_type  # type: ignore[method-assign]


_plain_argument_help()

class _MagicGroup(TyperGroup):
    """The root group: the core's commands, then the plug-ins' (:mod:`magic_submit.cli.plugins`,
    added when the group is built, as ``magic`` starts); a reader that closes the pipe early
    (``magic leaderboard | head``) ends the command quietly with status 0, as a filter's early
    exit is no error of ours."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from magic_submit.cli.plugins import plugin_commands

        for name, command in plugin_commands().items():
            if name not in self.commands:  # a plug-in never replaces a core command
                self.add_command(command, name)

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            from magic_submit.console import end_at_closed_pipe

            end_at_closed_pipe()


# Plain help pages: flags shown as flags, metavars as declared, nothing cut at 80 columns.
HELP_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

app = typer.Typer(
    name="magic",
    help="MEDIQA-MAGIC 2025 toolkit: validate and pack submissions, score them exactly as the "
    "official scorer does, run baselines. 'magic COMMAND -h' shows a command's options and "
    "examples.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=HELP_SETTINGS,
    cls=_MagicGroup,
)


def new_group(help: str) -> typer.Typer:
    """A command group with magic's help pages, for a plug-in to add (``run-baseline``)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None,
                       context_settings=HELP_SETTINGS)


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


# Each module registers its command(s) on ``app`` when imported; plug-ins (run-baseline,
# predict) come through entry points, added by _MagicGroup.
from magic_submit.cli import score as _score  # noqa: E402,F401
from magic_submit.cli import leaderboard as _leaderboard  # noqa: E402,F401
from magic_submit.cli import report as _report  # noqa: E402,F401
from magic_submit.cli import validate as _validate  # noqa: E402,F401
from magic_submit.cli import pack as _pack  # noqa: E402,F401
from magic_submit.cli import export as _export  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    app()
