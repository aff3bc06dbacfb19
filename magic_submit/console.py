"""Terminal output: data to stdout, messages to stderr, progress only on an interactive terminal.

The commands share three helpers here: :func:`print_json` (the one way JSON reaches stdout),
:func:`exit_with_error` (an input error to stderr, and as ``{"error": ...}`` JSON with ``--json``,
then the exit status) and :func:`progress_counter`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, NoReturn

from rich.console import Console
from rich.markup import escape

from magic_submit.errors import MagicError, UsageError


def end_at_closed_pipe() -> NoReturn:
    """The reader of stdout is gone (``magic leaderboard | head``): stop quietly, status 0.

    What was written is what the reader wanted; nothing more may reach the pipe, not even the
    interpreter's final flush, so stdout is pointed at the null device first.
    """
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass
    raise SystemExit(0)


class _Console(Console):
    """Rich's console, but a closed pipe ends the command with status 0 (rich exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        end_at_closed_pipe()


class LenientStream:
    """``sys.stdout`` or ``sys.stderr`` (looked up at each write, so redirections apply) that
    writes what its encoding cannot represent as backslash escapes instead of raising.

    Input text may hold lone surrogates (a JSON ``"\\ud800"`` escape, a file name that is not
    UTF-8): printing one must not end the command with ``UnicodeEncodeError``.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def target(self) -> Any:
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        target = self.target
        try:
            return target.write(text)
        except UnicodeEncodeError:
            encoding = getattr(target, "encoding", None) or "utf-8"
            return target.write(text.encode(encoding, "backslashreplace").decode(encoding))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self.target, name)


# Paths and ids may hold [brackets]: markup is off unless a message asks for it.
stdout = _Console(file=LenientStream("stdout"), soft_wrap=True, markup=False)  # type: ignore[arg-type]
stderr = _Console(file=LenientStream("stderr"), soft_wrap=True, markup=False)  # type: ignore[arg-type]

EXIT_INVALID = 1  # invalid input or a failed check
EXIT_USAGE = 2


def progress_enabled(quiet: bool = False) -> bool:
    """Progress bars only when stderr is a terminal (never in pipes, CI logs or tests)."""
    return not quiet and sys.stderr.isatty()


class ProgressCounter:
    """``counter()`` (or ``counter.advance()``) per item done; ``counter.start(total)`` when the
    total is only known once the work begins. Every call is a no-op when progress is disabled."""

    def __init__(self, advance: Callable[[], None] = lambda: None,
                 start: Callable[[int], None] = lambda total: None) -> None:
        self.advance = advance
        self.start = start

    def __call__(self) -> None:
        self.advance()


@contextmanager
def progress_counter(description: str, total: int | None = None, *, enabled: bool,
                     console: Console | None = None) -> Iterator[ProgressCounter]:
    """Yield a thread-safe :class:`ProgressCounter`; ``total=None``: set it later with ``start``.

    The bar shows the description, done/total, the time spent and the time left (ETA). Columns
    are built without markup: the stderr console prints paths and ids literally.
    """
    if not enabled or (total is not None and total <= 0):
        yield ProgressCounter()
        return
    from rich.progress import (
        BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta", markup=False), TimeRemainingColumn())
    with Progress(*columns, console=console or stderr, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield ProgressCounter(lambda: progress.advance(task),
                              lambda count: progress.update(task, total=count))


def messages(quiet: bool) -> tuple[Callable[[str], None], Callable[[str], None]]:
    """(log, note): progress lines and caveats on stderr, both silent with ``--quiet``."""

    def log(text: str) -> None:
        if not quiet:
            stderr.print(text, markup=False, highlight=False)

    return log, (lambda text: None) if quiet else note


def report_error(error: MagicError) -> None:
    """Print an input error to stderr."""
    stderr.print(f"[bold red]error:[/] {escape(error.render())}", markup=True, highlight=False)


def note(message: str) -> None:
    stderr.print(f"[yellow]note:[/] {escape(message)}", markup=True, highlight=False)


def warn(message: str) -> None:
    """A slip that changes a figure (stderr): printed even with ``--quiet``."""
    stderr.print(f"[bold yellow]warning:[/] {escape(message)}", markup=True, highlight=False)


def print_json(data: Any) -> None:
    """One JSON document on stdout: NaN as ``null``, ASCII-escaped (valid even for file names
    that are not UTF-8)."""
    import typer

    from magic_submit.jsonio import dumps_strict

    typer.echo(dumps_strict(data, ensure_ascii=True))


def exit_with_error(error: MagicError, *, json_output: bool = False,
                    status: int | None = None) -> NoReturn:
    """Report ``error`` (stderr; also ``{"error": ...}`` on stdout with ``--json``) and exit.

    The status is ``status`` when given, else 2 for a :class:`UsageError` and 1 otherwise.
    """
    import typer

    report_error(error)
    if json_output:
        print_json({"error": error.to_dict()})
    if status is None:
        status = EXIT_USAGE if isinstance(error, UsageError) else EXIT_INVALID
    raise typer.Exit(status) from None
