"""Scoring a whole submission against a reference: :func:`score_submission` and its report.

This is the toolkit's entry point to the metric: it opens nothing itself (see
:func:`magic_submit.submission.open_submission` and :func:`~magic_submit.submission.open_reference`)
and writes nothing (see :mod:`magic_submit.scoring.outputs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from evaluation.facts import OFFICIAL_KEYS, PARENTS
from evaluation.segmentation import EMPTY_IS_ONE_SUFFIX
from magic_submit.challenge import CVQA_SUBMISSION_FILE, DEFAULT_SUFFIX, MASKS_PRED_DIR
from magic_submit.errors import MagicError
from magic_submit.scoring.cvqa_files import CvqaReport, score_cvqa_files
from magic_submit.files import MISSING, describe, official_effect
from magic_submit.scoring.segmentation_files import (
    SegmentationReport, score_segmentation, zero_report,
)
from magic_submit.scoring.slips import ScoreWarning, find_warnings
from magic_submit.submission import ReferenceFiles, SubmissionFiles

METRIC_DESCRIPTIONS: dict[str, str] = {
    "jaccard_meanofmax": "mean over images of the best annotator's Jaccard (paper: Jacc. M(Max))",
    "jaccard_meanofmean": "mean over images of the mean Jaccard over annotators (M(Mean))",
    "dice_meanofmax": "mean over images of the best annotator's Dice (Dice M(Max))",
    "dice_meanofmean": "mean over images of the mean Dice over annotators (Dice M(Mean))",
    "jaccard": "micro Jaccard: pixels summed over all images vs the majority-vote mask",
    "dice": "micro Dice: pixels summed over all images vs the majority-vote mask",
    "number_segmentation_instances": "reference images scored",
    "accuracy_all": "mean set IoM over every (encounter, question family) pair",
    "number_cvqa_instances": "gold encounters scored",
}
for _p in PARENTS:
    METRIC_DESCRIPTIONS[f"accuracy_{_p.id}"] = (
        f"{_p.type_en}: mean over encounters of set IoM ({_p.slots} slot{'s' * (_p.slots > 1)})")


@dataclass
class ScoreReport:
    """Both parts of one scoring run; either may be None when its part was not scored.

    ``warnings``: slips scored as officially but that ``magic validate-submission`` would refuse
    (:mod:`magic_submit.scoring.slips`); ``notes``: everything else worth saying.
    """

    segmentation: SegmentationReport | None
    cvqa: CvqaReport | None
    notes: list[str] = field(default_factory=list)
    warnings: list[ScoreWarning] = field(default_factory=list)

    def official(self) -> dict[str, float | int]:
        """The official ``scores.json`` content: the official keys of the parts scored."""
        out: dict[str, float | int] = {}
        for part in (self.segmentation, self.cvqa):
            if part is not None:
                out.update({k: v for k, v in part.scores.items() if k in OFFICIAL_KEYS})
        return out

    def full(self) -> dict:
        """Official keys first, then the ``_empty_is_one`` figures and diagnostics; ``notes``
        holds every warning (as text) before the notes."""
        out: dict = dict(self.official())
        if self.segmentation is not None:
            out.update({k: v for k, v in self.segmentation.scores.items() if k.endswith(
                EMPTY_IS_ONE_SUFFIX)})
            out["nan_images"] = self.segmentation.nan_images
        if self.cvqa is not None:
            out["cvqa_missing"] = list(self.cvqa.result.missing)
        out["parts_scored"] = [name for name, part in (("segmentation", self.segmentation),
                                                       ("cvqa", self.cvqa)) if part is not None]
        out["warnings"] = [w.to_dict() for w in self.warnings]
        out["notes"] = [f"warning: {w.text(limit=0)}" for w in self.warnings] + self.all_notes()
        return out

    def all_notes(self) -> list[str]:
        notes = list(self.notes)
        for part in (self.segmentation, self.cvqa):
            if part is not None:
                notes.extend(part.notes)
        return notes


def _absent_masks_reason(submission: SubmissionFiles) -> str | None:
    """The note for a submission without a ``masks_preds/`` folder (a warning covers the rest)."""
    if submission.masks_kind == MISSING:
        return (f"the submission has no {MASKS_PRED_DIR}/ folder: the official scorer scores "
                "segmentation 0.0 with number_segmentation_instances = 0")
    return None


def _check_cvqa_part(submission: SubmissionFiles) -> None:
    """Raise, saying what the official scorer does, when it cannot open ``data_cvqa_sys.json``."""
    kind = submission.cvqa_kind
    if kind == MISSING:
        raise MagicError(f"no {CVQA_SUBMISSION_FILE} at the root: the official scorer crashes "
                         "(FileNotFoundError) and writes no scores.json, so the segmentation is "
                         "lost too", file=submission.source, code="cvqa-missing",
                         hint=f"write {CVQA_SUBMISSION_FILE} ([] to skip CVQA: it then scores "
                              "0.0), or pass --allow-missing to score the segmentation alone")
    raise MagicError(f"{CVQA_SUBMISSION_FILE} is {describe(kind)}, not a file: not opened; "
                     f"{official_effect(kind)}", file=submission.cvqa_path,
                     code="cvqa-not-file", hint=f"write {CVQA_SUBMISSION_FILE} as a JSON file")


def score_submission(
    submission: SubmissionFiles,
    reference: ReferenceFiles,
    *,
    suffix: str = DEFAULT_SUFFIX,
    allow_missing: bool = False,
    only_held_parts: bool = False,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[], None] | None = None,
) -> ScoreReport:
    """Score an opened submission against an opened reference, part by part, as the official
    scorer does; raise :class:`MagicError` where it crashes, hangs or depends on directory order.

    Each part the reference holds is scored: no ``masks_preds/`` gives the official zeros; no
    ``data_cvqa_sys.json`` crashes the official scorer, so it is an error unless
    ``allow_missing`` (then CVQA is left out). ``only_held_parts`` (the leaderboard) leaves a
    part the submission does not hold at all unscored instead, with a note. A part the
    reference lacks is not scored (a note says so). ``on_start``, ``on_image``: progress
    callbacks of :func:`~magic_submit.scoring.segmentation_files.score_segmentation`.
    """
    notes: list[str] = []
    segmentation = cvqa = None
    absent_masks = submission.masks_kind == MISSING and only_held_parts
    absent_cvqa = submission.cvqa_kind == MISSING and (only_held_parts or allow_missing)
    if reference.cvqa_file is not None and submission.cvqa_file is None and not absent_cvqa:
        _check_cvqa_part(submission)
    if reference.masks_dir is not None and absent_masks:
        notes.append(f"the submission has no {MASKS_PRED_DIR}/: segmentation not scored (the "
                     "official scorer gives it 0.0)")
    elif reference.masks_dir is not None and submission.masks_dir is None:
        segmentation = zero_report(_absent_masks_reason(submission))
    elif reference.masks_dir is not None:
        segmentation = score_segmentation(submission.masks_dir, reference.masks_dir, suffix=suffix,
                                          allow_missing=allow_missing, workers=workers,
                                          on_start=on_start, on_image=on_image)
    elif submission.masks_dir is not None:
        notes.append(f"{reference.description} has no gold masks: segmentation not scored")
    if submission.cvqa_file is not None and reference.cvqa_file is not None:
        cvqa = score_cvqa_files(submission.cvqa_file, reference.cvqa_file,
                                allow_missing=allow_missing)
    elif submission.cvqa_file is not None:
        notes.append(f"{reference.description} has no gold CVQA file: CVQA not scored")
    elif reference.cvqa_file is not None and absent_cvqa:
        notes.append(f"the submission has no {CVQA_SUBMISSION_FILE}: CVQA not scored (the "
                     "official scorer crashes without it)")
    if segmentation is None and cvqa is None:
        raise MagicError("nothing to score: the submission and the reference share no part",
                         file=submission.source, code="nothing-to-score")
    return ScoreReport(segmentation, cvqa, notes, find_warnings(submission, segmentation, cvqa))
