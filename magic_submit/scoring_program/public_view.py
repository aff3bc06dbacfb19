"""What the summary page and log may say: built so that it cannot tell more about a hidden
reference than ``scores.json`` does.

A :class:`PublicView` is made of three things only:

* the upload's own problems: the upload checked against itself (:func:`own_check`: the split
  it is checked against is the images and encounters the upload names, with no expected
  sizes), so no message, code or culprit depends on the reference;
* the problems that compare the upload with the reference (:data:`RELATIONAL`: a mask or an
  answer missing or extra, a mask of another size), as one counted line per code, no id named.
  For a scored upload the counts of missing and extra follow from the upload and
  ``number_*_instances`` (a missing part makes the official scorer crash, so it is refused);
  the count of masks of another size tells what the photos, which participants have, tell;
* what was read in the upload (counts), and ``scores.json`` itself.

Nothing else of the reference goes in: no per-image or per-encounter figure, no gold pixel
count, no annotator, no picture, no reference path, and none of the scorer's notes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from evaluation.facts import IMAGE_ID_PATTERN, encounter_key
from magic_submit import challenge as ch
from magic_submit.dataset import Encounter
from magic_submit.naming import encounter_of_image
from magic_submit.validation import ValidationChecks, ValidationReport, validate_submission
from magic_submit.validation.cvqa_check import read_cvqa
from magic_submit.validation.problems import Problem
from magic_submit.validation.targets import ExpectedSizes, SplitTargets
from magic_submit.scoring_program.findings import Finding, counted, findings_of, ordered

# Problems that compare the upload with the reference: counted, never named.
LOCAL_CHECK = "magic validate-submission YOUR.zip --data DATASET --split test (or valid)"
RELATIONAL: dict[str, str] = {
    "mask-missing": "{n} image(s) of this phase have no mask that the scorer reads; they are not "
                    f"named here (the reference is hidden): {LOCAL_CHECK} names them",
    "mask-extra-image": "{n} mask(s) for images that this phase does not score (ignored)",
    "mask-size": "{n} mask(s) whose height x width is not that of their image; "
                 f"{LOCAL_CHECK} names them",
    "size-unchecked": "{n} mask size(s) not checked",
    "cvqa-missing-encounter": "{n} encounter(s) of this phase have no answers; "
                              f"{LOCAL_CHECK} names them",
    "cvqa-extra-encounter": "{n} answered encounter(s) that this phase does not score (ignored)",
}
# What the check against the upload itself says only because it has no sizes or split.
_SELF_CHECK_ARTEFACTS = frozenset({"sizes-not-checked", "masks-one-square-size"})
# A file name that starts with an image id (IMG_ENC00908_00001...) was meant for that image.
_IMAGE_ID_PREFIX = re.compile(IMAGE_ID_PATTERN.pattern.removesuffix("$"))
SCORER_CRASH = Finding("scorer-crash", "error", (
    ("the official scorer would crash on this upload; magic validate-submission and magic score "
     "on your files say why", None),), 1, None)


@dataclass(frozen=True)
class PublicView:
    """The whole input of the summary page and log."""

    findings: tuple[Finding, ...]
    read: tuple[tuple[str, int], ...]  # (what, how many) read in the upload
    scores: tuple[tuple[str, float | int], ...] | None  # scores.json; None: refused

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def _upload_ids(masks_dir: Path | None) -> set[str]:
    ids: set[str] = set()
    if masks_dir is not None and masks_dir.is_dir():
        for _, _, names in os.walk(masks_dir):
            ids.update(m[0] for m in map(_IMAGE_ID_PREFIX.match, names) if m)
    return ids


def own_targets(root: Path) -> SplitTargets:
    """The images the upload's masks name and the encounters it answers (or whose images it
    names): the split that the upload is checked against by :func:`own_check`."""
    masks = root / ch.MASKS_PRED_DIR
    images: dict[str, set[str]] = {}
    for image_id in _upload_ids(masks if masks.is_dir() and not masks.is_symlink() else None):
        images.setdefault(encounter_of_image(image_id), set()).add(image_id)
    cvqa = root / ch.CVQA_SUBMISSION_FILE
    records, _ = read_cvqa(cvqa if cvqa.is_file() else None)
    for record in records or []:
        if isinstance(record, dict) and isinstance(record.get(ch.ENCOUNTER_KEY), str):
            images.setdefault(encounter_key(record[ch.ENCOUNTER_KEY]), set())
    return SplitTargets.build([Encounter(enc, tuple(sorted(ids)))
                               for enc, ids in sorted(images.items())], "your upload")


def own_check(root: Path, suffix: str) -> ValidationReport:
    """The upload checked against itself: its own problems, none of the reference's."""
    checks = ValidationChecks(own_targets(root), ExpectedSizes({}, None))
    return validate_submission(root, checks=checks, suffix=suffix, unpacked=True)


def public_view(own: ValidationReport, against_reference: ValidationReport,
                layout: list[Problem], scores: dict | None, *,
                scorer_crashed: bool = False) -> PublicView:
    """The summary's input: the upload's own problems (``own``, and the ``layout`` ones of the
    upload folder), the reference check's :data:`RELATIONAL` problems counted, and
    ``scores`` (``scores.json``; None: refused)."""
    own_problems = [p for p in own.problems
                    if p.code not in RELATIONAL and p.code not in _SELF_CHECK_ARTEFACTS]
    relational = {}
    for problem in against_reference.problems:
        if problem.code in RELATIONAL:
            relational[problem.code] = relational.get(problem.code, 0) + 1
    findings = findings_of([*layout, *own_problems])
    findings += [counted(code, n, RELATIONAL[code].format(n=n)) for code, n in relational.items()]
    if scorer_crashed and not any(f.severity == "error" for f in findings):
        findings.append(SCORER_CRASH)
    summary = own.summary
    read = tuple((what, summary[key]) for what, key in (
        (f"files in {ch.MASKS_PRED_DIR}/", "mask_files"), ("masks read", "masks_checked"),
        (f"records in {ch.CVQA_SUBMISSION_FILE}", "cvqa_records"),
        ("encounters answered", "cvqa_encounters_answered")) if summary.get(key) is not None)
    return PublicView(tuple(ordered(findings)), read,
                      None if scores is None else tuple(scores.items()))
