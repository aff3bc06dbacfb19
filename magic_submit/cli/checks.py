"""Checks a command makes on its options before it starts: a choice among names, the optional
modules it needs (exit 1 with the install command)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import typer


def check_choice(value: str, choices: Sequence[str], param: str) -> str:
    """``value`` if it is one of ``choices``, else a usage error (exit 2) naming ``param``."""
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=param)
    return value


def require_modules(modules: Sequence[str], extra: str, what: str, *,
                    json_output: bool = False) -> None:
    """Exit 1 with the install command when a module ``what`` needs is not installed.

    Checked with ``find_spec`` (nothing is imported), before any work starts.
    """
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        from magic_submit.console import exit_with_error
        from magic_submit.errors import MagicError

        exit_with_error(MagicError(f"{what} needs {' and '.join(missing)}", code="missing-extra",
                                   hint=f"pip install 'magic-mediqa[{extra}]'"),
                        json_output=json_output)
