"""``magic predict vqa`` end to end: a trained ``run-baseline vqa`` run answers any split.

Reads the run's ``metrics.json`` (its method and options) and ``model/`` (see
:mod:`baselines.vqa.saved`), answers every encounter of the split with the code the run answered
with, and writes ``output/submission/data_cvqa_sys.json`` (validated as ``run-baseline`` validates
it) and ``output/prediction.json``: staged beside ``output`` and moved into place at the end
(:func:`baselines.common.staged_output`), so a failed prediction leaves nothing behind. A
``bert-swin`` run opens and decodes every photo of the split before loading its encoders.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.common import (
    MODEL_DIR, PREDICTION_FILE, SUBMISSION_DIR, options_record, read_run_metrics, staged_output,
)
from baselines.vqa.data import SplitData, load_split
from baselines.vqa.decoding import to_record
from baselines.vqa.run import AnswerSets, write_and_validate
from baselines.vqa.saved import SAVED_METHODS, load_prior, load_text
from magic_submit.challenge import CVQA_SUBMISSION_FILE
from magic_submit.dataset import DatasetLayout, locate_split, split_name
from magic_submit.errors import MagicError
from magic_submit.jsonio import dumps_strict, write_atomic
from magic_submit.photos import check_photos


@dataclass(frozen=True)
class PredictVqaOptions:
    """Every option of ``magic predict vqa``."""

    data: Path | None  # the dataset root; None when ``split`` is a query file's path
    output: Path
    run: Path
    split: str = "test"
    device: str = "auto"
    overwrite: bool = False


@dataclass
class PredictVqaResult:
    record: dict[str, Any]  # prediction.json
    submission_file: Path
    validation: Any  # magic_submit.validation.ValidationReport


def run_method(run: Path) -> str:
    """The method of a finished ``run-baseline vqa`` run (checked: one that saves its model)."""
    metrics = read_run_metrics(run, "vqa")
    method = metrics.get("method")
    if method not in SAVED_METHODS:
        raise MagicError(f"method '{method}' saves no model to predict with", file=run,
                         hint="predict vqa reuses prior, text and bert-swin runs; for the others "
                         "run 'magic run-baseline vqa --predict-split SPLIT'")
    return str(method)


def answer(method: str, folder: Path, split: SplitData, layout: DatasetLayout, *, device: str,
           note: Callable[[str], None], log: Callable[[str], None]) -> tuple[AnswerSets, str]:
    """Answer sets of the split by the saved model of ``method`` in ``folder``, and the device."""
    if method == "prior":
        return list(load_prior(folder).predict(split.encounter_ids).values()), "cpu"
    if method == "text":
        model = load_text(folder, note)
        return model.predict(split.texts(with_responses=model.config.with_responses)), "cpu"
    from baselines.vqa.bert_swin_saved import load_checkpoint, predict_saved

    checkpoint = load_checkpoint(folder)
    images_dir = layout.require_images(split.split)
    check_photos([images_dir / f for e in split.encounters for f in e.image_files], upright=True)
    return predict_saved(checkpoint, split, images_dir, device=device, log=log)


def predict_vqa(opts: PredictVqaOptions, *, log: Callable[[str], None] = lambda text: None,
                note: Callable[[str], None] = lambda text: None) -> PredictVqaResult:
    """Answer ``opts.split`` with the run in ``opts.run`` (see the module doc)."""
    started = time.perf_counter()
    method = run_method(opts.run)
    layout, queries = locate_split(opts.split, opts.data)
    output = Path(opts.output)
    with staged_output(output, (SUBMISSION_DIR, PREDICTION_FILE), overwrite=opts.overwrite,
                       inputs=[opts.run, queries]) as staging:
        split = load_split(layout, opts.split, gold="ignore")
        if not split.encounters:
            raise MagicError(f"split '{split_name(opts.split)}' lists no encounter",
                             file=split.queries_file)
        sets, device = answer(method, Path(opts.run) / MODEL_DIR, split, layout,
                              device=opts.device, note=note, log=log)
        records = [to_record(e, s) for e, s in zip(split.encounter_ids, sets, strict=True)]
        _, report = write_and_validate(records, split, staging)
        path = output / SUBMISSION_DIR / CVQA_SUBMISSION_FILE
        record = {
            "command": "predict vqa", "run": str(opts.run), "method": method,
            "split": split_name(split.split), "queries": str(split.queries_file),
            "n_predicted": len(records), "submission": str(path),
            "submission_valid": report.valid,
            "submission_warnings": sorted(report.codes("warning")), "device": device,
            "seconds": round(time.perf_counter() - started, 3),
            "options": options_record(opts),
        }
        write_atomic(staging / PREDICTION_FILE, dumps_strict(record))
    return PredictVqaResult(record, path, report)
