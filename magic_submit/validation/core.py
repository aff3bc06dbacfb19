"""``validate_submission``: open a submission (folder or zip), run every check, report all at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from magic_submit.challenge import CVQA_SUBMISSION_FILE, DEFAULT_SUFFIX
from magic_submit.dataset import Encounter
from magic_submit.errors import MagicError
from magic_submit.submission import SubmissionFiles, open_submission
from magic_submit.validation.cvqa_check import check_records, read_cvqa
from magic_submit.validation.masks_check import check_masks
from magic_submit.validation.problems import CODES, Problem
from magic_submit.validation.report import ValidationReport
from magic_submit.validation.targets import (
    ExpectedSizes, SplitTargets, expected_sizes, load_targets, option_counts,
)


def _missing_cvqa_hint(root: Path) -> str | None:
    """Point at a JSON file at the root that was probably meant to be the CVQA file."""
    others = sorted(p.name for p in root.glob("*") if p.is_file() and p.suffix.lower() == ".json")
    if others:
        return f"rename {others[0]} to {CVQA_SUBMISSION_FILE} (the platform reads only that name)"
    return None


def check_opened(sub: SubmissionFiles, targets: SplitTargets, sizes: ExpectedSizes,
                 options: dict[str, int], suffix: str) -> tuple[list[Problem], dict]:
    """Every problem of an opened submission, and the counts for the summary."""
    problems = [Problem.of("zip-ignored-entries", note, file=str(sub.source)) for note in sub.notes]
    masks = check_masks(sub.masks_dir, sub.root, targets, sizes.sizes, suffix)
    problems.extend(masks.problems)
    records, cvqa_problems = read_cvqa(sub.cvqa_file)
    if sub.cvqa_file is None:
        hint = _missing_cvqa_hint(sub.root)
        cvqa_problems = [Problem.of(p.code, p.message, file=p.file, hint=hint) for p in cvqa_problems]
    problems.extend(cvqa_problems)
    answered = 0
    if records is not None:
        found, answered = check_records(records, targets, options)
        problems.extend(found)
    summary = {"mask_files": masks.files, "masks_matched": masks.matched,
               "masks_checked": masks.checked,
               "cvqa_records": len(records) if records is not None else None,
               "cvqa_encounters_answered": answered}
    return problems, summary


def validate_submission(
    submission: str | Path,
    split: str | Path | Sequence[Encounter],
    *,
    images_dir: Path | None = None,
    reference_masks: Path | None = None,
    definitions: Path | None = None,
    suffix: str = DEFAULT_SUFFIX,
) -> ValidationReport:
    """Check a submission folder or zip against a split; every problem at once.

    Never raises for bad submission content (a hostile zip included): that is what the report
    is for. Raises :class:`MagicError` only when the other inputs (split file, image folder,
    reference, definitions) cannot be used.

    >>> report = validate_submission("sample_data/submission", "sample_data/test.json",
    ...                              images_dir=Path("sample_data/images_test"))
    >>> report.valid, report.summary["masks_matched"], report.summary["cvqa_encounters_answered"]
    (True, 20, 12)
    """
    started = time.perf_counter()
    targets = load_targets(split)
    options = option_counts(definitions)
    sizes = expected_sizes(targets, images_dir=images_dir, reference=reference_masks)
    submission = Path(submission)
    summary: dict = {"submission": str(submission), "suffix": suffix, "split": targets.source,
                     "split_encounters": len(targets.encounters),
                     "split_images": len(targets.image_file), "sizes_from": sizes.source}
    problems = list(sizes.problems)
    try:
        with open_submission(submission) as sub:
            summary["kind"] = "zip" if sub.is_zip else "folder"
            found, counts = check_opened(sub, targets, sizes, options, suffix)
            problems.extend(found)
            summary.update(counts)
    except MagicError as exc:  # unusable upload: missing, hostile or unreadable zip, wrong layout
        code = exc.code if exc.code in CODES else "zip-corrupt"
        problems.append(Problem.of(code, exc.message, file=exc.file or str(submission),
                                   hint=exc.hint))
    except OSError as exc:  # e.g. the disk fills while unpacking
        problems.append(Problem.of("zip-corrupt", f"cannot be opened ({exc})", file=str(submission)))
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return ValidationReport.from_problems(problems, summary)
