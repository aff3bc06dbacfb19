"""An independent, deliberately plain implementation of the official scoring rules.

Written from the rules (challenge-rules sections 3 and 4), not from the package: no shared code,
dict-of-lists bookkeeping, one image at a time, everything literal. The equivalence tests compare
``magic score`` against it on many random cases.
"""

from __future__ import annotations

import glob
import json
import math
import os

import numpy as np
import tifffile

PARENTS = ["CQID010", "CQID011", "CQID012", "CQID015", "CQID020", "CQID025", "CQID034",
           "CQID035", "CQID036"]


def _masks_by_labeler(folder: str) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.tiff"))):
        name = os.path.basename(path)
        parts = name.split("_mask_")
        table.setdefault(parts[-1].replace(".tiff", ""), {})[parts[0]] = path
    return table


def _load(path: str) -> np.ndarray:
    return tifffile.imread(path).astype(np.uint8)


def _counts(sys_mask: np.ndarray, gold_mask: np.ndarray) -> tuple[int, int, int]:
    s = sys_mask.astype(np.int64).ravel()
    g = gold_mask.astype(np.int64).ravel()
    both = int(((s == 1) & (g == 1)).sum())
    only_sys = int(((s == 1) & (g != 1)).sum())
    only_gold = int(((s != 1) & (g == 1)).sum())
    return both, only_sys, only_gold


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def score_segmentation_folders(ref_dir: str, pred_dir: str, suffix: str = "sys") -> dict:
    refs = _masks_by_labeler(ref_dir)
    preds = _masks_by_labeler(pred_dir)[suffix]
    image_ids = sorted({i for table in refs.values() for i in table})
    per_image_j: list[list[float]] = []
    per_image_d: list[list[float]] = []
    total = [0, 0, 0]
    for image_id in image_ids:
        sys_mask = _load(preds[image_id])
        golds = [_load(refs[a][image_id]) for a in ("ann0", "ann1", "ann2", "ann3")
                 if a in refs and image_id in refs[a]]
        js, ds = [], []
        for gold in golds:
            tp, a, b = _counts(sys_mask, gold)
            js.append(_ratio(tp, tp + a + b))
            ds.append(_ratio(2 * tp, 2 * tp + a + b))
        per_image_j.append(js)
        per_image_d.append(ds)
        votes = np.zeros(golds[0].shape, dtype=np.uint8)
        for gold in golds:
            votes = (votes + gold).astype(np.uint8)
        majority = (votes >= math.ceil(len(golds) / 2)).astype(np.uint8)
        for k, v in enumerate(_counts(sys_mask, majority)):
            total[k] += v
    tp, a, b = total
    return {
        "jaccard_meanofmax": float(np.mean([np.max(v) for v in per_image_j])),
        "jaccard_meanofmean": float(np.mean([np.mean(v) for v in per_image_j])),
        "dice_meanofmax": float(np.mean([np.max(v) for v in per_image_d])),
        "dice_meanofmean": float(np.mean([np.mean(v) for v in per_image_d])),
        "jaccard": _ratio(tp, tp + a + b),
        "dice": _ratio(2 * tp, 2 * tp + a + b),
        "number_segmentation_instances": len(image_ids),
    }


def _group(records: list[dict]) -> dict[str, dict[str, list]]:
    grouped: dict[str, dict[str, list]] = {}
    for record in records:
        enc = record["encounter_id"].split("-")[0]
        for key, value in record.items():
            if key == "encounter_id" or len(key) != 11:
                continue
            parent, _slot = key.split("-")
            grouped.setdefault(enc, {}).setdefault(parent, []).append(value)
    return grouped


def score_cvqa_files(ref_file: str, pred_file: str) -> dict:
    with open(ref_file, encoding="utf-8") as handle:
        gold_records = json.load(handle)
    with open(pred_file, encoding="utf-8") as handle:
        sys_records = json.load(handle)
    gold, system = _group(gold_records), _group(sys_records)
    out: dict = {}
    every: list[float] = []
    for parent in PARENTS:
        scores = []
        for enc in gold:
            g, s = set(gold[enc][parent]), set(system[enc][parent])
            scores.append(len(g & s) / max(len(g), len(s)))
        every.extend(scores)
        out[f"accuracy_{parent}"] = sum(scores) / len(scores)
    out["accuracy_all"] = sum(every) / len(every)
    out["number_cvqa_instances"] = len({r["encounter_id"] for r in gold_records})
    return out
