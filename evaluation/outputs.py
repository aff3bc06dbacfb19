"""Whole-submission scoring and what it writes: ``scores.json``, ``per_image.csv``, ``per_encounter.csv``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.cvqa import OFFICIAL_CVQA_KEYS, EncounterParentResult
from evaluation.scorer import CvqaReport, SegmentationReport, score_cvqa_files, score_segmentation
from evaluation.segmentation import EMPTY_IS_ONE_SUFFIX, OFFICIAL_SEG_KEYS
from magic_submit.challenge import ANNOTATORS, CVQA_SUBMISSION_FILE, DEFAULT_SUFFIX, MASKS_PRED_DIR, PARENTS
from magic_submit.errors import MagicError
from magic_submit.formatting import blank_nan
from magic_submit.jsonio import write_atomic
from magic_submit.submission import ReferenceFiles, SubmissionFiles

OFFICIAL_KEYS: tuple[str, ...] = OFFICIAL_SEG_KEYS + OFFICIAL_CVQA_KEYS

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
    """Both parts of one scoring run; either may be None when its part was not scored."""

    segmentation: SegmentationReport | None
    cvqa: CvqaReport | None
    notes: list[str] = field(default_factory=list)

    def official(self) -> dict[str, float | int]:
        """The official ``scores.json`` content: the official keys of the parts scored."""
        out: dict[str, float | int] = {}
        for part in (self.segmentation, self.cvqa):
            if part is not None:
                out.update({k: v for k, v in part.scores.items() if k in OFFICIAL_KEYS})
        return out

    def full(self) -> dict:
        """Official keys first, then the ``_empty_is_one`` figures and diagnostics."""
        out: dict = dict(self.official())
        if self.segmentation is not None:
            out.update({k: v for k, v in self.segmentation.scores.items() if k.endswith(
                EMPTY_IS_ONE_SUFFIX)})
            out["nan_images"] = self.segmentation.nan_images
        if self.cvqa is not None:
            out["cvqa_missing"] = list(self.cvqa.result.missing)
        out["parts_scored"] = [name for name, part in (("segmentation", self.segmentation),
                                                       ("cvqa", self.cvqa)) if part is not None]
        out["notes"] = self.all_notes()
        return out

    def all_notes(self) -> list[str]:
        notes = list(self.notes)
        for part in (self.segmentation, self.cvqa):
            if part is not None:
                notes.extend(part.notes)
        return notes


def score_submission(
    submission: SubmissionFiles,
    reference: ReferenceFiles,
    *,
    suffix: str = DEFAULT_SUFFIX,
    allow_missing: bool = False,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[], None] | None = None,
) -> ScoreReport:
    """Score whichever parts both the submission and the reference hold (``on_start``,
    ``on_image``: progress callbacks of :func:`~evaluation.scorer.score_segmentation`)."""
    notes: list[str] = []
    segmentation = cvqa = None
    if submission.masks_dir is not None and reference.masks_dir is not None:
        segmentation = score_segmentation(submission.masks_dir, reference.masks_dir, suffix=suffix,
                                          allow_missing=allow_missing, workers=workers,
                                          on_start=on_start, on_image=on_image)
    elif submission.masks_dir is not None:
        notes.append(f"{reference.description} has no gold masks: segmentation not scored")
    elif reference.masks_dir is not None:
        notes.append(f"the submission has no {MASKS_PRED_DIR}/: segmentation not scored "
                     "(the platform gives it 0.0)")
    if submission.cvqa_file is not None and reference.cvqa_file is not None:
        cvqa = score_cvqa_files(submission.cvqa_file, reference.cvqa_file,
                                allow_missing=allow_missing)
    elif submission.cvqa_file is not None:
        notes.append(f"{reference.description} has no gold CVQA file: CVQA not scored")
    elif reference.cvqa_file is not None:
        notes.append(f"the submission has no {CVQA_SUBMISSION_FILE}: CVQA not scored "
                     "(the platform gives it 0.0)")
    if segmentation is None and cvqa is None:
        raise MagicError("nothing to score: the submission and the reference share no part",
                         file=submission.source, code="nothing-to-score")
    return ScoreReport(segmentation, cvqa, notes)


# per_image.csv's columns for ImageResult.macro_values() (the order of SEG_MACRO_KEYS).
PER_IMAGE_MACRO_COLUMNS: tuple[str, ...] = ("jaccard_max", "jaccard_mean", "dice_max", "dice_mean")


def per_image_rows(report: SegmentationReport) -> list[dict]:
    """One row per image: annotators present, per-annotator Jaccard/Dice, max, mean, pixel counts."""
    rows = []
    for r in report.images:
        jaccards, dices = dict(zip(r.annotators, r.jaccards)), dict(zip(r.annotators, r.dices))
        gold_pixels = dict(zip(r.annotators, r.gold_pixels))
        row: dict = {"image_id": r.image_id, "annotators": ";".join(r.annotators),
                     "n_annotators": len(r.annotators)}
        for a in ANNOTATORS:
            row[f"jaccard_{a}"] = blank_nan(jaccards[a]) if a in jaccards else ""
        for a in ANNOTATORS:
            row[f"dice_{a}"] = blank_nan(dices[a]) if a in dices else ""
        row.update({column: blank_nan(value) for column, value in zip(PER_IMAGE_MACRO_COLUMNS,
                                                                       r.macro_values())})
        row["pred_pixels"] = r.pred_pixels
        for a in ANNOTATORS:
            row[f"gold_pixels_{a}"] = gold_pixels.get(a, "")
        row.update({"majority_pixels": r.majority_pixels, "majority_tp": r.majority_tp,
                    "majority_fp": r.majority_fp, "majority_fn": r.majority_fn,
                    "height": r.shape[0] if r.shape else "",
                    "width": r.shape[1] if len(r.shape) > 1 else "",
                    "nan": r.has_nan, "missing_prediction": r.missing_prediction})
        rows.append(row)
    return rows


def _set_text(values: tuple) -> str:
    return ";".join(str(v) for v in sorted(set(values), key=repr))


def per_encounter_rows(rows: tuple[EncounterParentResult, ...]) -> list[dict]:
    """One row per (encounter, parent): gold set, system set, IoM."""
    return [{"encounter_id": r.encounter_id, "parent": r.parent, "gold": _set_text(r.gold),
             "system": _set_text(r.system), "iom": r.iom, "missing": r.missing} for r in rows]


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def write_outputs(report: ScoreReport, output_dir: str | Path) -> list[Path]:
    """Write ``scores.json`` (official content: ``json.dump(indent=4)``, NaN as ``NaN``) and the CSVs."""
    output_dir = Path(output_dir)
    written = [output_dir / "scores.json"]
    write_atomic(written[0], json.dumps(report.official(), indent=4))
    if report.segmentation is not None:
        written.append(output_dir / "per_image.csv")
        write_atomic(written[-1], csv_text(per_image_rows(report.segmentation)))
    if report.cvqa is not None:
        written.append(output_dir / "per_encounter.csv")
        write_atomic(written[-1], csv_text(per_encounter_rows(report.cvqa.result.rows)))
    return written
