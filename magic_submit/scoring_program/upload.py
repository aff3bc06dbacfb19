"""The participant's upload as the platform unpacked it: walk it, check it as ``magic
validate-submission`` does, score it as the official scorer reads it, and decide as ``magic
score`` does.

First the folder is walked without following anything (:mod:`.upload_scan`): a symbolic link
anywhere refuses the upload before any file is read; parts inside one extra folder are read
there, with a warning; stray entries are named. Then the rule is ``magic score``'s
(:func:`~magic_submit.scoring.score_submission` applies it): where the official scorer gives
figures, so does the program (the official ``scores.json``: a missing ``masks_preds/`` scores
0.0 with 0 instances, as officially), and the check's problems go with them, each with its fix;
where the official scorer would crash (no ``data_cvqa_sys.json``, a zip inside the upload, a
missing mask...), the upload is refused with those problems. ``strict`` also refuses every
upload the check calls invalid, even where the official scorer would score it (0/255 masks,
string answers...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from magic_submit import challenge as ch
from magic_submit.errors import MagicError
from magic_submit.reporting.reference import ReferenceContext
from magic_submit.scoring_program.engine import ScoreReport, score_submission
from magic_submit.scoring_program.findings import Finding, findings_of
from magic_submit.scoring_program.public_view import PublicView, own_check, public_view
from magic_submit.scoring_program.upload_scan import scan_upload
from magic_submit.submission import SubmissionFiles, locate_submission_parts
from magic_submit.validation import ValidationChecks, ValidationReport, validate_submission
from magic_submit.validation.problems import Problem


@dataclass
class UploadOutcome:
    """What became of one upload: its checks, its parts, and its scores or why it was refused.

    ``validation``: the check against the reference, with the upload folder's own problems
    (``layout``: links, stray entries, an enclosing folder); ``own``: the upload checked against
    itself, the summary's source (None when not asked for).
    """

    validation: ValidationReport
    layout: list[Problem] = field(default_factory=list)
    own: ValidationReport | None = None
    submission: SubmissionFiles | None = None
    report: ScoreReport | None = None
    scorer_error: MagicError | None = None  # what the official scorer would crash on

    @property
    def scored(self) -> bool:
        return self.report is not None

    def findings(self) -> list[Finding]:
        """Every problem found against the reference, then the scorer's crash the check did
        not see (full detail)."""
        found = findings_of(self.validation.problems)
        if self.scorer_error is not None and self.validation.valid:
            found.append(Finding(self.scorer_error.code or "scorer-crash", "error",
                                 ((self.scorer_error.render(with_hint=False), None),), 1,
                                 self.scorer_error.hint))
        return found

    def public(self) -> PublicView:
        """The summary's input (:mod:`.public_view`): nothing more about the reference than
        ``scores.json``."""
        if self.own is None:
            raise ValueError("the upload was not checked against itself")
        scores = self.report.official() if self.report is not None else None
        return public_view(self.own, self.validation, self.layout, scores,
                           scorer_crashed=self.scorer_error is not None)


def evaluate_upload(upload: Path, reference: ReferenceContext, checks: ValidationChecks, *,
                    suffix: str = ch.DEFAULT_SUFFIX, strict: bool = False,
                    check_own: bool = True) -> UploadOutcome:
    """Walk the upload in ``upload``, check it, then score it unless it holds a link, the
    official scorer would crash on it, or (``strict``) the check found an error.
    ``check_own``: also check the upload against itself (:attr:`UploadOutcome.own`)."""
    scan = scan_upload(upload)
    if scan.refused:  # nothing is read past a link
        refused = ValidationReport.from_problems(scan.problems, {})
        nothing = ValidationReport.from_problems([], {})
        return UploadOutcome(refused, scan.problems, nothing if check_own else None)
    found = validate_submission(scan.root, checks=checks, suffix=suffix, unpacked=True)
    outcome = UploadOutcome(
        ValidationReport.from_problems([*found.problems, *scan.problems], found.summary),
        scan.problems, own_check(scan.root, suffix) if check_own else None)
    if strict and not outcome.validation.valid:
        return outcome
    try:
        outcome.submission = locate_submission_parts(scan.root, scan.root, is_zip=True)
        outcome.report = score_submission(outcome.submission, reference.files, suffix=suffix)
    except MagicError as error:  # no parts, a zip inside, a crash of the official scorer
        outcome.scorer_error = error
    return outcome
