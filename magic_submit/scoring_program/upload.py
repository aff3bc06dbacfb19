"""The participant's upload as the platform unpacked it: check it as ``magic validate-submission``
does, score it as the official scorer reads it, and decide as ``magic score`` does.

The rule is ``magic score``'s (:func:`~magic_submit.scoring.score_submission` applies it): where
the official scorer gives figures, so does the program (the official ``scores.json``: a missing
``masks_preds/`` scores 0.0 with 0 instances, as officially), and the check's problems go with
them, each with its fix; where the official scorer would crash (no ``data_cvqa_sys.json``, the
parts in a top folder or in a zip inside the upload, a missing mask...), the upload is refused
with those problems. ``strict`` also refuses every upload the check calls invalid, even where the
official scorer would score it (0/255 masks, string answers...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from magic_submit import challenge as ch
from magic_submit.errors import MagicError
from magic_submit.reporting.reference import ReferenceContext
from magic_submit.scoring_program.engine import ScoreReport, score_submission
from magic_submit.submission import SubmissionFiles, locate_submission_parts
from magic_submit.validation import (
    ValidationChecks, ValidationReport, render_text, validate_submission,
)

UPLOAD_NAME = "your upload"


@dataclass
class UploadOutcome:
    """What became of one upload: its check, its parts, and its scores or why it was refused."""

    validation: ValidationReport
    submission: SubmissionFiles | None = None
    report: ScoreReport | None = None
    scorer_error: MagicError | None = None  # what the official scorer would crash on

    @property
    def scored(self) -> bool:
        return self.report is not None

    def check_text(self) -> str:
        """The check's problems, each with its fix, then what the official scorer would crash
        on when the check did not see it."""
        parts = [render_text(self.validation, limit=0, name=UPLOAD_NAME)]
        if self.scorer_error is not None and self.validation.valid:
            parts.append(f"error: {self.scorer_error.render()}")
        return "\n".join(parts)


def evaluate_upload(root: Path, reference: ReferenceContext, checks: ValidationChecks, *,
                    suffix: str = ch.DEFAULT_SUFFIX, strict: bool = False) -> UploadOutcome:
    """Check the upload in ``root``, then score it unless the official scorer would crash on it
    (or, ``strict``, unless the check found an error)."""
    outcome = UploadOutcome(validate_submission(root, checks=checks, suffix=suffix, unpacked=True))
    if strict and not outcome.validation.valid:
        return outcome
    try:
        outcome.submission = locate_submission_parts(root, root, is_zip=True)
        outcome.report = score_submission(outcome.submission, reference.files, suffix=suffix)
    except MagicError as error:  # no parts, a top folder, a zip inside, a crash of the official
        outcome.scorer_error = error
    return outcome
