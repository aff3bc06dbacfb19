"""The upload's problems as the participant reads them: grouped by code, counted, each with its fix.

The log shows at most :data:`LOG_LIMIT` culprits of each code and the count (the page shows
every one), so a valid upload with one warning per answer still logs a few lines.

>>> found = findings_of([Problem.of("cvqa-absent", "the list is empty", file="data_cvqa_sys.json")])
>>> render(found, limit=3)[0]
'warning cvqa-absent: empty list: CVQA will score 0.0 (1)'
>>> verdict(found)
'your upload: VALID (0 errors, 1 warning, 0 notes)'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from magic_submit.validation.problems import (
    CODES, ERROR, NOTE, SEVERITIES, WARNING, Problem, sort_key,
)

LOG_LIMIT = 3  # culprits of one code in the log; the page lists them all
UPLOAD_NAME = "your upload"


@dataclass(frozen=True)
class Finding:
    """Every problem of one code: their lines (text, own fix when fixes differ), how many, the
    shared fix."""

    code: str
    severity: str
    lines: tuple[tuple[str, str | None], ...]
    count: int
    fix: str | None

    @property
    def title(self) -> str:
        return CODES[self.code].title if self.code in CODES else self.code


def findings_of(problems: Iterable[Problem]) -> list[Finding]:
    """Problems grouped by code, errors first (the validator's order)."""
    found = []
    for code, group in groupby(sorted(problems, key=sort_key), key=lambda p: p.code):
        items = list(group)
        fixes = {p.hint for p in items} - {None, ""}
        shared = fixes.pop() if len(fixes) == 1 else None
        lines = tuple((f"{p.where()}: {p.message}" if p.where() else p.message,
                       None if shared is not None else p.hint) for p in items)
        found.append(Finding(code, items[0].severity, lines, len(items), shared))
    return found


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; by the order of codes in the table."""
    order = {code: index for index, code in enumerate(CODES)}
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity),
                                           order.get(f.code, len(order))))


def counted(code: str, count: int, message: str) -> Finding:
    """``count`` problems of ``code`` said in one line, none of them named."""
    info = CODES[code]
    return Finding(code, info.severity, ((message, None),), count, info.fix or None)


def render(findings: Sequence[Finding], *, limit: int = 0, more: str = "") -> list[str]:
    """Each code's header, at most ``limit`` culprits (0: all) with ``more`` after the rest,
    and the fix."""
    lines: list[str] = []
    for finding in findings:
        lines.append(f"{finding.severity} {finding.code}: {finding.title} ({finding.count})")
        shown = finding.lines if limit <= 0 else finding.lines[:limit]
        for text, fix in shown:
            lines.append(f"  {text}")
            if fix:
                lines.append(f"    fix: {fix}")
        left = len(finding.lines) - len(shown)
        if left:
            lines.append(f"  ... and {left} more{more}")
        if finding.fix:
            lines.append(f"  fix: {finding.fix}")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def totals(findings: Sequence[Finding]) -> dict[str, int]:
    return {s: sum(f.count for f in findings if f.severity == s) for s in (ERROR, WARNING, NOTE)}


def verdict(findings: Sequence[Finding], name: str = UPLOAD_NAME) -> str:
    """``your upload: VALID (0 errors, 2 warnings, 0 notes)`` (INVALID with an error)."""
    count = totals(findings)
    state = "INVALID" if count[ERROR] else "VALID"
    return (f"{name}: {state} ({_plural(count[ERROR], 'error')}, "
            f"{_plural(count[WARNING], 'warning')}, {_plural(count[NOTE], 'note')})")
