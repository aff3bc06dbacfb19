"""What a scoring run writes: ``scores.json`` (the official file), ``per_image.csv``, ``per_encounter.csv``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from evaluation.cvqa import EncounterParentResult
from evaluation.facts import ANNOTATORS
from magic_submit.formatting import blank_nan
from magic_submit.jsonio import write_atomic
from magic_submit.scoring.report import ScoreReport
from magic_submit.scoring.segmentation_files import SegmentationReport

SCORES_FILE = "scores.json"


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


def write_scores_json(report: ScoreReport, output_dir: str | Path) -> Path:
    """Write ``output_dir/scores.json`` exactly as the official scorer does: the official keys,
    ``json.dump(indent=4)``, NaN as ``NaN``. Returns its path."""
    path = Path(output_dir) / SCORES_FILE
    write_atomic(path, json.dumps(report.official(), indent=4))
    return path


def write_score_outputs(report: ScoreReport, output_dir: str | Path) -> list[Path]:
    """Write ``scores.json`` (:func:`write_scores_json`) and the per-image and per-encounter CSVs."""
    output_dir = Path(output_dir)
    tables: dict[str, list[dict]] = {}
    if report.segmentation is not None:
        tables["per_image.csv"] = per_image_rows(report.segmentation)
    if report.cvqa is not None:
        tables["per_encounter.csv"] = per_encounter_rows(report.cvqa.result.rows)
    written = [write_scores_json(report, output_dir)]
    for name, rows in tables.items():
        path = output_dir / name
        write_atomic(path, csv_text(rows))
        written.append(path)
    return written
