"""Submission validation: every way the official scorer would crash, ignore or misread a submission.

>>> from magic_submit.validation import validate_submission
>>> report = validate_submission("sample_data/submission", "sample_data/test.json")
>>> report.valid, sorted(report.codes())
(True, ['sizes-not-checked'])

Modules: :mod:`.problems` (the one table of codes), :mod:`.targets` (the split, sizes, options),
:mod:`.mask_names` and :mod:`.mask_content` (pure mask checks), :mod:`.masks_check` (the
``masks_preds/`` folder), :mod:`.cvqa_check` (the CVQA file), :mod:`.report`, :mod:`.core`.
"""

from magic_submit.validation.core import ValidationChecks, prepare_checks, validate_submission
from magic_submit.validation.problems import CODES, Problem
from magic_submit.validation.report import ValidationReport, render_text

__all__ = ["CODES", "Problem", "ValidationChecks", "ValidationReport", "prepare_checks",
           "render_text", "validate_submission"]
