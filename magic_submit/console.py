"""Terminal output: data to stdout, messages to stderr, progress only on an interactive terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from rich.console import Console
from rich.markup import escape

from magic_submit.errors import MagicError

stdout = Console(soft_wrap=True, markup=False)  # paths and ids may hold [brackets]
stderr = Console(stderr=True, soft_wrap=True, markup=False)


def progress_enabled(quiet: bool = False) -> bool:
    """Progress bars only when stderr is a terminal (never in pipes, CI logs or tests)."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_counter(description: str, total: int, *, enabled: bool) -> Iterator[Callable[[], None]]:
    """Yield a thread-safe ``advance()`` callback; a no-op when progress is disabled."""
    if not enabled or total <= 0:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def report_error(error: MagicError) -> None:
    """Print an input error to stderr."""
    stderr.print(f"[bold red]error:[/] {escape(error.render())}", markup=True, highlight=False)


def note(message: str) -> None:
    stderr.print(f"[yellow]note:[/] {escape(message)}", markup=True, highlight=False)
