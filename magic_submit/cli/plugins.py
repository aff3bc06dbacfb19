"""Commands that other packages add to ``magic`` through the ``magic_mediqa.commands``
entry-point group (each entry point: the command's name = a ``typer.Typer``).

The baselines register ``run-baseline`` and ``predict`` this way, so the core imports nothing
from them. A command this distribution ships but cannot load here (its package missing, or a
development checkout installed before the entry points existed) is still listed, as one line
that says how to get it, and running it exits 1 with that hint.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

import typer

PLUGIN_GROUP = "magic_mediqa.commands"

# The commands magic's own plug-ins add, and the extra that installs what they need.
BUNDLED_PLUGINS: dict[str, str] = {"run-baseline": "baselines", "predict": "baselines"}


def missing_command(name: str, reason: str, extra: str | None) -> Any:
    """A stand-in for a plug-in command that is not installed: one help line, exit 1 if run.

    ``extra``: the magic-mediqa extra that provides it; None for another package's command.
    """
    if extra is None:
        install = hint = "reinstall the package that adds this command"
    else:
        install = f"pip install 'magic-mediqa[{extra}]'"
        hint = (f"{install} (in a development checkout: pip install -e '.[{extra}]', which also "
                "registers the commands)")
    stand_in = typer.Typer(add_completion=False)

    # Any arguments and options are taken (and ignored): the answer is the same for all.
    @stand_in.command(name, help=f"Not installed here: {hint}.",
                      short_help=f"Not installed: {install}", add_help_option=False,
                      context_settings={"ignore_unknown_options": True,
                                        "allow_extra_args": True})
    def run() -> None:
        from magic_submit.console import exit_with_error
        from magic_submit.errors import MagicError

        exit_with_error(MagicError(f"'magic {name}' is not installed here ({reason})",
                                   code="missing-extra", hint=hint))

    return typer.main.get_command(stand_in)


def _as_command(name: str, loaded: object) -> Any:
    """The command of a loaded entry point (a ``typer.Typer``), named ``name``."""
    if not isinstance(loaded, typer.Typer):
        raise TypeError(f"entry point {name!r} of {PLUGIN_GROUP} is not a typer.Typer: "
                        f"{type(loaded).__name__}")
    group = typer.main.get_group(loaded)
    group.name = name
    return group


def _help_order(name: str) -> tuple[int, str]:
    """The bundled commands first, in :data:`BUNDLED_PLUGINS`' order, then the others by name."""
    order = list(BUNDLED_PLUGINS)
    return (order.index(name) if name in order else len(order), name)


def plugin_commands(found: list[EntryPoint] | None = None) -> dict[str, Any]:
    """Every plug-in command by name, in help order; stand-ins for bundled ones that cannot load.

    ``found``: the entry points to use instead of the installed ones.
    """
    commands: dict[str, Any] = {}
    points = entry_points(group=PLUGIN_GROUP) if found is None else found
    for point in sorted(points, key=lambda point: (point.name, point.value)):
        if point.name in commands:  # one name from two installations: the first by value wins
            continue
        try:
            loaded = point.load()
        except ImportError as error:
            commands[point.name] = missing_command(
                point.name, f"{point.value} cannot be imported: {error}",
                BUNDLED_PLUGINS.get(point.name))
            continue
        commands[point.name] = _as_command(point.name, loaded)
    for name, extra in BUNDLED_PLUGINS.items():
        if name not in commands:
            commands[name] = missing_command(
                name, f"no installed package provides it in the {PLUGIN_GROUP} entry points",
                extra)
    return {name: commands[name] for name in sorted(commands, key=_help_order)}
