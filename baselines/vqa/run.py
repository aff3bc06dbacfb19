"""``magic run-baseline vqa`` end to end: load, fit, score on valid, write and validate the answers.

Writes into ``output``: ``submission/data_cvqa_sys.json`` (every encounter of the predict split,
all 27 qids as ints, checked by :func:`magic_submit.validation.validate_submission`) and
``metrics.json`` (the official keys on the validation split when its gold is present, what each
method chose, per-epoch figures for ``bert-swin``). ``prior`` and ``text`` read only JSON files;
``bert-swin`` reads the photos and needs torch and transformers (imported only then).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from baselines.common import METRICS_FILE, SUBMISSION_DIR, prepare_output
from baselines.vqa.data import (FamilyOptions, SplitData, family_answers, load_family_options,
                                load_split)
from baselines.vqa.decoding import to_record
from evaluation.cvqa import score_cvqa
from magic_submit.challenge import CVQA_SUBMISSION_FILE
from magic_submit.dataset import DatasetLayout
from magic_submit.errors import MagicError
from magic_submit.jsonio import dumps_strict, write_atomic

METHODS: tuple[str, ...] = ("prior", "text", "bert-swin")
DEFAULT_TEXT_MODEL = "emilyalsentzer/Bio_ClinicalBERT"
DEFAULT_IMAGE_MODEL = "microsoft/swin-base-patch4-window7-224"
AnswerSets = list[dict[str, tuple[int, ...]]]


@dataclass(frozen=True)
class VqaOptions:
    """Every option of the command (see ``magic run-baseline vqa --help``)."""

    data: Path
    output: Path
    method: str = "text"
    train_split: str = "train"
    valid_split: str | None = "valid"
    predict_split: str = "test"
    device: str = "auto"
    seed: int = 0
    epochs: int = 10
    batch_size: int = 16
    patience: int = 3
    model_text: str = DEFAULT_TEXT_MODEL
    model_image: str = DEFAULT_IMAGE_MODEL
    with_responses: bool = False
    query_context: bool = True
    overwrite: bool = False


@dataclass
class VqaResult:
    metrics: dict[str, Any]
    submission_file: Path
    metrics_file: Path
    validation: Any  # magic_submit.validation.ValidationReport
    notes: list[str] = field(default_factory=list)


@dataclass
class Fitted:
    """What a method returns: answer sets for valid (None without gold) and predict, details."""

    valid_sets: AnswerSets | None
    predict_sets: AnswerSets
    details: dict[str, Any] = field(default_factory=dict)


def _fit_prior(train: SplitData, valid: SplitData | None, predict: SplitData) -> Fitted:
    from baselines.vqa.prior import fit_prior

    model = fit_prior({enc: family_answers(a) for enc, a in train.gold.items()})
    sets = model.predict
    return Fitted(list(sets(valid.encounter_ids).values()) if valid is not None else None,
                  list(sets(predict.encounter_ids).values()), {"prior": model.describe()})


def _fit_text(train: SplitData, valid: SplitData | None, predict: SplitData,
              opts: VqaOptions) -> Fitted:
    from baselines.vqa.text_model import TextModel, TextModelConfig

    wr = opts.with_responses
    model = TextModel(TextModelConfig(with_responses=wr, seed=opts.seed))
    model.fit(train.texts(with_responses=wr), [family_answers(train.gold[e])
                                               for e in train.encounter_ids])
    return Fitted(model.predict(valid.texts(with_responses=wr)) if valid is not None else None,
                  model.predict(predict.texts(with_responses=wr)),
                  {"choices": {p: c.describe() for p, c in model.choices.items()}})


def _fit_bert_swin(train: SplitData, valid: SplitData | None, predict: SplitData,
                   layout: DatasetLayout, families: dict[str, FamilyOptions], opts: VqaOptions,
                   log: Callable[[str], None],
                   on_epoch: Callable[[dict[str, Any]], None] | None) -> Fitted:
    from baselines.vqa.bert_swin import TrainSettings, fit_predict

    settings = TrainSettings(epochs=opts.epochs, batch_size=opts.batch_size,
                             patience=opts.patience, seed=opts.seed)
    result = fit_predict(train, valid, predict, layout, families, model_text=opts.model_text,
                         model_image=opts.model_image, device=opts.device,
                         query_context=opts.query_context, with_responses=opts.with_responses,
                         settings=settings, log=log, on_epoch=on_epoch)
    outcome = result.outcome
    return Fitted(result.valid_sets, result.predict_sets, {
        "device": result.device, "precision": result.precision, "epochs": outcome.history,
        "best_epoch": outcome.best_epoch, "stopped_early": outcome.stopped_early,
        "photos_encoded": result.images, "settings": asdict(settings)})


def _load_valid(layout: DatasetLayout, opts: VqaOptions, notes: list[str]) -> SplitData | None:
    if opts.valid_split is None:
        return None
    if layout.find_queries(opts.valid_split) is None:
        notes.append(f"no '{opts.valid_split}' split found: no validation scores")
        return None
    valid = load_split(layout, opts.valid_split, gold="optional")
    if valid.gold is None:
        notes.append(f"'{opts.valid_split}' has no gold answers: no validation scores")
        return None
    return valid


def write_and_validate(records: list[dict], predict: SplitData, output: Path) -> tuple[Path, Any]:
    """Write ``submission/data_cvqa_sys.json`` and check it as a participant's upload would be.

    The dataset's definitions file, when there is one, was checked by :func:`run_vqa` (it holds
    the package's option counts), so the validator checks against the package's table.
    """
    from magic_submit.validation import validate_submission

    folder = output / SUBMISSION_DIR
    path = folder / CVQA_SUBMISSION_FILE
    write_atomic(path, dumps_strict(records))
    report = validate_submission(folder, list(predict.encounters))
    if not report.valid:
        raise MagicError(f"the written submission is invalid: {len(report.errors)} error(s)",
                         file=path, code="baseline-invalid-output",
                         ids=[f"{p.code} {p.where()}: {p.message}" for p in report.errors],
                         hint="this is a bug of the baseline: please report it with metrics.json")
    return path, report


def run_vqa(opts: VqaOptions, *, log: Callable[[str], None] = lambda text: None,
            note: Callable[[str], None] = lambda text: None,
            on_epoch: Callable[[dict[str, Any]], None] | None = None) -> VqaResult:
    """Fit ``opts.method`` on the training gold, score on validation, write the submission.

    ``log`` gets progress lines, ``note`` each caveat (also kept in ``metrics["notes"]``).
    """
    if opts.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    started = time.perf_counter()
    prepare_output(Path(opts.output), (SUBMISSION_DIR, METRICS_FILE), overwrite=opts.overwrite)
    layout = DatasetLayout(opts.data)
    notes: list[str] = []
    train = load_split(layout, opts.train_split, gold="required")
    if not train.encounters:  # a gold file without a single usable record
        raise MagicError(f"no '{opts.train_split}' encounter has gold answers",
                         file=train.gold_file)
    valid = _load_valid(layout, opts, notes)
    predict = load_split(layout, opts.predict_split, gold="ignore")
    # Read once: bert-swin needs the option texts; for the others a file present must be sound.
    families = load_family_options(layout, required=opts.method == "bert-swin")
    if valid is not None and set(valid.encounter_ids) & set(train.encounter_ids):
        notes.append(f"'{opts.valid_split}' shares encounters with '{opts.train_split}': its "
                     "scores are optimistic")
    for message in notes:
        note(message)
    log(f"{opts.method}: {len(train.encounters)} '{opts.train_split}' encounters with gold"
        f" ({train.gold_file})")
    if opts.method == "prior":
        fitted = _fit_prior(train, valid, predict)
    elif opts.method == "text":
        fitted = _fit_text(train, valid, predict, opts)
    else:
        fitted = _fit_bert_swin(train, valid, predict, layout, families, opts, log, on_epoch)
    metrics: dict[str, Any] = {"method": opts.method, "validation_split": None}
    if valid is not None and fitted.valid_sets is not None:
        records = [to_record(e, s) for e, s in zip(valid.encounter_ids, fitted.valid_sets)]
        metrics["validation_split"] = valid.split
        metrics.update(score_cvqa(valid.gold_records(), records).scores)
    records = [to_record(e, s) for e, s in zip(predict.encounter_ids, fitted.predict_sets)]
    path, report = write_and_validate(records, predict, Path(opts.output))
    metrics.update(fitted.details)
    metrics.update({
        "predict_split": predict.split, "n_predicted": len(records), "submission": str(path),
        "submission_valid": report.valid,
        "submission_warnings": sorted(report.codes("warning")),
        "notes": notes, "seconds": round(time.perf_counter() - started, 3),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
    })
    metrics_file = Path(opts.output) / METRICS_FILE
    write_atomic(metrics_file, dumps_strict(metrics))
    return VqaResult(metrics, path, metrics_file, report, notes)
