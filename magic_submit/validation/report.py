"""The result of a validation: problems split by severity, a summary, JSON and text forms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby

from magic_submit.validation.problems import CODES, ERROR, NOTE, WARNING, Problem, sort_key


@dataclass
class ValidationReport:
    """Every problem found at once. ``valid``: the submission will be scored as intended.

    >>> report = ValidationReport.from_problems([Problem.of("cvqa-absent", "[]")], {})
    >>> report.valid, [p.code for p in report.warnings], report.to_dict()["summary"]["warnings"]
    (True, ['cvqa-absent'], 1)
    """

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @classmethod
    def from_problems(cls, problems: Iterable[Problem], summary: dict) -> ValidationReport:
        ordered = sorted(problems, key=sort_key)
        report = cls([p for p in ordered if p.severity == ERROR],
                     [p for p in ordered if p.severity == WARNING],
                     [p for p in ordered if p.severity == NOTE], dict(summary))
        report.summary.update(valid=report.valid, errors=len(report.errors),
                              warnings=len(report.warnings), notes=len(report.notes))
        return report

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def problems(self) -> list[Problem]:
        return [*self.errors, *self.warnings, *self.notes]

    def codes(self, severity: str | None = None) -> set[str]:
        """The codes found (of one severity when given)."""
        return {p.code for p in self.problems if severity is None or p.severity == severity}

    def to_dict(self) -> dict:
        """The ``--json`` object: ``valid``, ``errors``, ``warnings``, ``notes``, ``summary``."""
        return {"valid": self.valid, "errors": [p.to_dict() for p in self.errors],
                "warnings": [p.to_dict() for p in self.warnings],
                "notes": [p.to_dict() for p in self.notes], "summary": self.summary}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_text(report: ValidationReport, *, limit: int = 10, name: str | None = None) -> str:
    """Problems grouped by code (at most ``limit`` culprits each, 0 = all) and a verdict line."""
    lines: list[str] = []
    for code, group in groupby(report.problems, key=lambda p: p.code):
        items = list(group)
        info = CODES.get(code)
        lines.append(f"{items[0].severity} {code}: {info.title if info else code} ({len(items)})")
        shown = items if limit <= 0 else items[:limit]
        # One fix line per problem: under the group when every culprit shares it, else under each.
        fixes = {p.hint or (info.fix if info else None) for p in items} - {None, ""}
        for problem in shown:
            where = problem.where()
            lines.append(f"  {where}: {problem.message}" if where else f"  {problem.message}")
            if len(fixes) > 1 and problem.hint:
                lines.append(f"    fix: {problem.hint}")
        if len(items) > len(shown):
            lines.append(f"  ... and {len(items) - len(shown)} more (--json or --all lists them)")
        if len(fixes) == 1:
            lines.append(f"  fix: {fixes.pop()}")
    summary = report.summary
    checked = []
    if "masks_checked" in summary:
        sizes = summary.get("sizes_from")
        checked.append(f"{_plural(summary['masks_checked'], 'mask')} read"
                       + (f" (sizes from {sizes})" if sizes else " (sizes not checked)"))
    if "cvqa_encounters_answered" in summary:
        checked.append(f"{summary['cvqa_encounters_answered']} of "
                       f"{summary.get('split_encounters', '?')} encounters answered")
    if checked:
        lines.append("checked: " + ", ".join(checked))
    counts = (f"{_plural(len(report.errors), 'error')}, {_plural(len(report.warnings), 'warning')}, "
              f"{_plural(len(report.notes), 'note')}")
    who = f"{name}: " if name else ""
    unchecked = "sizes-not-checked" in report.codes() and summary.get("masks_checked")
    if report.valid and unchecked:
        lines.append(f"{who}VALID as far as checked ({counts}): mask sizes not checked, pass "
                     "--images or --reference (a mask of the wrong size is lost on the platform)")
    elif report.valid:
        lines.append(f"{who}VALID ({counts}): the submission will be scored as intended")
    else:
        lines.append(f"{who}INVALID ({counts}): fix the errors above before uploading")
    return "\n".join(lines)
