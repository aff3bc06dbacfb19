"""``validate_submission``: open a submission (folder or zip), run every check, report all at once.

What a submission is checked against (the split, the expected mask sizes) is built once by
:func:`prepare_checks`; several submissions may share it (the leaderboard, ``magic pack``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from magic_submit.challenge import CVQA_SUBMISSION_FILE, DEFAULT_SUFFIX, MASKS_PRED_DIR
from magic_submit.dataset import Encounter
from magic_submit.errors import MagicError
from magic_submit.files import FILE, FOLDER, MISSING, describe, masks_not_folder, official_effect
from magic_submit.submission import SubmissionFiles, open_submission
from magic_submit.validation.cvqa_check import check_records, read_cvqa
from magic_submit.validation.masks_check import check_masks
from magic_submit.validation.problems import CODES, Problem
from magic_submit.validation.report import ValidationReport
from magic_submit.validation.targets import (
    ExpectedSizes, SplitTargets, expected_sizes, load_targets,
)


@dataclass(frozen=True)
class ValidationChecks:
    """What submissions are checked against: the split's targets and the expected mask sizes."""

    targets: SplitTargets
    sizes: ExpectedSizes


def prepare_checks(split: str | Path | Sequence[Encounter], *, images_dir: Path | None = None,
                   reference_masks: Path | None = None,
                   definitions: Path | None = None) -> ValidationChecks:
    """Load the split and the expected sizes once; :class:`MagicError` when they cannot be used.

    ``definitions`` is only checked against the package's table (a file that disagrees is an
    error): the option counts are the table's.
    """
    targets = load_targets(split)
    if definitions is not None:
        from magic_submit.definitions import load_definitions

        load_definitions(definitions)
    return ValidationChecks(targets, expected_sizes(targets, images_dir=images_dir,
                                                    reference=reference_masks))


def _missing_cvqa_hint(root: Path) -> str | None:
    """Point at a JSON file at the root that was probably meant to be the CVQA file."""
    others = sorted(p.name for p in root.glob("*") if p.is_file() and p.suffix.lower() == ".json")
    if others:
        return f"rename {others[0]} to {CVQA_SUBMISSION_FILE} (the platform reads only that name)"
    return None


def _odd_part_problems(sub: SubmissionFiles) -> list[Problem]:
    """``masks_preds`` that is not a folder, ``data_cvqa_sys.json`` that is not a file."""
    problems = []
    if sub.masks_kind not in (FOLDER, MISSING):
        problems.append(Problem.of("masks-not-folder", masks_not_folder(sub.masks_kind),
                                   file=MASKS_PRED_DIR))
    if sub.cvqa_kind not in (FILE, MISSING):
        problems.append(Problem.of("cvqa-not-file", f"{CVQA_SUBMISSION_FILE} is "
                                   f"{describe(sub.cvqa_kind)}, not a file: "
                                   f"{official_effect(sub.cvqa_kind)}", file=CVQA_SUBMISSION_FILE))
    return problems


def _leftover_zips(root: Path) -> list[Problem]:
    """A zip beside the parts (an earlier upload zipped again): nobody unpacks it."""
    return [Problem.of("file-ignored", "a zip inside the upload: the platform does not unpack it "
                       "and the scorer ignores it", file=path.name,
                       hint=f"remove {path.name} from the upload")
            for path in sorted(root.iterdir()) if path.is_file() and path.suffix.lower() == ".zip"]


def check_opened(sub: SubmissionFiles, targets: SplitTargets, sizes: ExpectedSizes,
                 suffix: str) -> tuple[list[Problem], dict]:
    """Every problem of an opened submission, and the counts for the summary."""
    problems = [Problem.of("zip-ignored-entries", note, file=str(sub.source)) for note in sub.notes]
    problems.extend(_odd_part_problems(sub))
    masks = check_masks(sub.masks_dir, sub.root, targets, sizes.sizes, suffix,
                        orientations=sizes.orientations,
                        look_for_misplaced=sub.masks_kind == MISSING)
    problems.extend(masks.problems)
    problems.extend(_leftover_zips(sub.root))
    records: list | None = None
    if sub.cvqa_kind in (FILE, MISSING):
        hint = _missing_cvqa_hint(sub.root) if sub.cvqa_file is None else None
        records, cvqa_problems = read_cvqa(sub.cvqa_file, missing_hint=hint)
        problems.extend(cvqa_problems)
    answered = 0
    if records is not None:
        found, answered = check_records(records, targets)
        problems.extend(found)
    summary = {"mask_files": masks.files, "masks_matched": masks.matched,
               "masks_checked": masks.checked,
               "cvqa_records": len(records) if records is not None else None,
               "cvqa_encounters_answered": answered}
    return problems, summary


def unopenable_problem(error: MagicError | OSError, submission: Path) -> Problem:
    """The finding for an upload that cannot be opened (missing, hostile or unreadable zip,
    wrong layout, a full disk while unpacking)."""
    if isinstance(error, OSError):
        return Problem.of("zip-corrupt", f"cannot be opened ({error})", file=str(submission))
    code = error.code if error.code in CODES else "zip-corrupt"
    return Problem.of(code, error.message, file=error.file or str(submission), hint=error.hint)


def validate_submission(
    submission: str | Path,
    split: str | Path | Sequence[Encounter] | None = None,
    *,
    images_dir: Path | None = None,
    reference_masks: Path | None = None,
    definitions: Path | None = None,
    suffix: str = DEFAULT_SUFFIX,
    checks: ValidationChecks | None = None,
    unpacked: bool = False,
) -> ValidationReport:
    """Check a submission folder or zip against a split; every problem at once.

    Give ``split`` (with ``images_dir`` or ``reference_masks`` for sizes, ``definitions`` to
    check a definitions file), or ``checks`` prepared once by :func:`prepare_checks`.
    ``unpacked``: ``submission`` is a folder into which the platform unpacked the uploaded zip.

    Never raises for bad submission content (a hostile zip included): that is what the report
    is for. Raises :class:`MagicError` only when the other inputs (split file, image folder,
    reference, definitions) cannot be used.

    >>> report = validate_submission("sample_data/submission", "sample_data/test.json",
    ...                              images_dir=Path("sample_data/images_test"))
    >>> report.valid, report.summary["masks_matched"], report.summary["cvqa_encounters_answered"]
    (True, 20, 12)
    """
    started = time.perf_counter()
    if checks is None:
        if split is None:
            raise TypeError("validate_submission needs split or checks")
        checks = prepare_checks(split, images_dir=images_dir, reference_masks=reference_masks,
                                definitions=definitions)
    elif split is not None or images_dir is not None or reference_masks is not None:
        raise TypeError("give checks or split (with images_dir/reference_masks), not both")
    targets, sizes = checks.targets, checks.sizes
    submission = Path(submission)
    summary: dict = {"submission": str(submission), "suffix": suffix, "split": targets.source,
                     "split_encounters": len(targets.encounters),
                     "split_images": len(targets.image_file), "sizes_from": sizes.source}
    problems = list(sizes.problems)
    try:
        with open_submission(submission, unpacked=unpacked) as sub:
            summary["kind"] = "zip" if sub.is_zip else "folder"
            found, counts = check_opened(sub, targets, sizes, suffix)
            problems.extend(found)
            summary.update(counts)
    except (MagicError, OSError) as exc:
        problems.append(unopenable_problem(exc, submission))
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return ValidationReport.from_problems(problems, summary)
