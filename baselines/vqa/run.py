"""``magic run-baseline vqa`` end to end: load, fit, score on valid, write and validate the answers.

Writes into ``output``: ``submission/data_cvqa_sys.json`` (every encounter of the predict split,
all 27 qids as ints, checked by :func:`magic_submit.validation.validate_submission`) and
``metrics.json`` (the official keys on the validation split when its gold is present, what each
method chose, per-epoch figures for ``bert-swin``, calls, tokens and fallbacks for ``vlm`` and
``api``). ``prior`` and ``text`` read only JSON files; ``bert-swin`` and ``vlm`` read the photos
and need torch and transformers, ``api`` the openai client (imported only then). ``vlm`` and
``api`` also keep ``responses.jsonl`` (every reply), which ``resume`` reuses. Every photo a
method will read is opened and decoded first (:func:`photos_read`), upright as the models get
them, so a damaged photo stops the run before any training or paid request.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baselines.common import (METRICS_FILE, MODEL_DIR, SUBMISSION_DIR, options_record,
                              prepare_output, selection_record)
from baselines.vqa.vlm.options import BACKENDS, VlmOptions
from baselines.vqa.vlm.store import RESPONSES_FILE
from baselines.vqa.data import (FamilyOptions, SplitData, family_answers, load_family_options,
                                load_split)
from baselines.vqa.decoding import to_record
from baselines.vqa.saved import save_prior, save_text
from evaluation.cvqa import score_cvqa
from magic_submit.challenge import CVQA_SUBMISSION_FILE
from magic_submit.dataset import DatasetLayout
from magic_submit.errors import MagicError, UsageError
from magic_submit.jsonio import dumps_strict, write_atomic
from magic_submit.photos import check_photos

if TYPE_CHECKING:
    from baselines.vqa.vlm.run import Subject

METHODS: tuple[str, ...] = ("prior", "text", "bert-swin", *BACKENDS)
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
    resume: bool = False  # vlm, api: reuse OUTPUT/responses.jsonl
    vlm: VlmOptions | None = None  # vlm, api: who answers and how (defaults when None)

    @property
    def model_options(self) -> VlmOptions:
        """The vlm/api settings, with this run's method as the backend."""
        return self.vlm or VlmOptions(backend=self.method)


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
    save: Callable[[Path], None] | None = None  # writes what magic predict vqa needs to a folder


def _fit_prior(train: SplitData, valid: SplitData | None, predict: SplitData) -> Fitted:
    from baselines.vqa.prior import fit_prior

    model = fit_prior({enc: family_answers(a) for enc, a in train.gold.items()})
    sets = model.predict
    return Fitted(list(sets(valid.encounter_ids).values()) if valid is not None else None,
                  list(sets(predict.encounter_ids).values()), {"prior": model.describe()},
                  functools.partial(save_prior, model))


def _fit_text(train: SplitData, valid: SplitData | None, predict: SplitData,
              opts: VqaOptions) -> Fitted:
    from baselines.vqa.text_model import TextModel, TextModelConfig

    wr = opts.with_responses
    model = TextModel(TextModelConfig(with_responses=wr, seed=opts.seed))
    model.fit(train.texts(with_responses=wr), [family_answers(train.gold[e])
                                               for e in train.encounter_ids])
    return Fitted(model.predict(valid.texts(with_responses=wr)) if valid is not None else None,
                  model.predict(predict.texts(with_responses=wr)),
                  {"choices": {p: c.describe() for p, c in model.choices.items()}},
                  functools.partial(save_text, model))


def _fit_bert_swin(train: SplitData, valid: SplitData | None, predict: SplitData,
                   layout: DatasetLayout, families: dict[str, FamilyOptions], opts: VqaOptions,
                   log: Callable[[str], None],
                   on_epoch: Callable[[dict[str, Any]], None] | None) -> Fitted:
    from baselines.vqa.bert_swin import TrainSettings, fit_predict
    from baselines.vqa.bert_swin_saved import save_checkpoint

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
        "photos_encoded": result.images, "settings": asdict(settings),
        "selection": selection_record(valid.split, ["best_epoch"]) if result.valid_sets else None},
        functools.partial(save_checkpoint, result.checkpoint))


def _fit_vlm(train: SplitData, valid: SplitData | None, predict: SplitData,
             subjects: Sequence[Subject], families: dict[str, FamilyOptions], opts: VqaOptions,
             log: Callable[[str], None], note: Callable[[str], None], progress: bool) -> Fitted:
    from baselines.vqa.vlm.method import answer_splits

    answers, details = answer_splits(
        train, subjects, families, opts.model_options, output=Path(opts.output),
        resume=opts.resume, device=opts.device, seed=opts.seed,
        with_responses=opts.with_responses, log=log, note=note, progress=progress)
    return Fitted([answers[e] for e in valid.encounter_ids] if valid is not None else None,
                  [answers[e] for e in predict.encounter_ids], details)


@dataclass
class Inputs:
    """The splits and definitions a run reads, and the caveats found while reading them."""

    layout: DatasetLayout
    train: SplitData
    valid: SplitData | None
    predict: SplitData
    families: dict[str, FamilyOptions] | None
    notes: list[str]


def load_inputs(opts: VqaOptions) -> Inputs:
    """Read the training gold, the validation split (when it has gold), the split to predict
    and the definitions (required by the methods that show option texts to a model)."""
    layout = DatasetLayout(opts.data)
    notes: list[str] = []
    train = load_split(layout, opts.train_split, gold="required")
    if not train.encounters:  # a gold file without a single usable record
        raise MagicError(f"no '{opts.train_split}' encounter has gold answers",
                         file=train.gold_file)
    valid = _load_valid(layout, opts, notes)
    predict = load_split(layout, opts.predict_split, gold="ignore")
    # Read once: bert-swin, vlm and api need the option texts; for the others a file present
    # must be sound.
    families = load_family_options(layout, required=opts.method in ("bert-swin", *BACKENDS))
    if valid is not None and set(valid.encounter_ids) & set(train.encounter_ids):
        notes.append(f"'{opts.valid_split}' shares encounters with '{opts.train_split}': its "
                     "scores are optimistic")
    return Inputs(layout, train, valid, predict, families, notes)


def vlm_subjects(opts: VqaOptions, inputs: Inputs) -> list[Subject]:
    """What vlm and api answer: the encounters of the validation split and the split to
    predict, each with the photos and worked examples it is sent with (read once, by the
    preflight and the run or the dry run)."""
    from baselines.vqa.vlm.run import subjects_of

    splits = [s for s in (inputs.valid, inputs.predict) if s is not None]
    return subjects_of(splits, inputs.layout.require_images, inputs.train, opts.model_options,
                       with_responses=opts.with_responses)


def photos_read(opts: VqaOptions, inputs: Inputs, subjects: Sequence[Subject]) -> list[Path]:
    """Every photo the method will read, as it will find it: bert-swin encodes each photo of
    the three splits; vlm and api send those of ``subjects`` (:func:`vlm_subjects`: the first
    ``max_images`` of each encounter and, with ``shot_photos``, the worked examples'); prior
    and text read none (their ``subjects`` is empty)."""
    if opts.method == "bert-swin":
        return [inputs.layout.require_images(split.split) / name
                for split in (inputs.train, inputs.valid, inputs.predict) if split is not None
                for encounter in split.encounters for name in encounter.image_files]
    return [path for s in subjects
            for path in (*s.photos, *(p for ex in s.examples for p in ex.photos))]


def dry_run_vqa(opts: VqaOptions) -> Any:
    """The vlm/api request for the first encounter and the run's estimate (nothing written,
    no model called): a :class:`baselines.vqa.vlm.method.DryRun`."""
    from baselines.vqa.vlm.method import dry_run

    if opts.method not in BACKENDS:
        raise ValueError(f"a dry run needs a method of {BACKENDS}")
    inputs = load_inputs(opts)
    return dry_run(vlm_subjects(opts, inputs), inputs.families or {}, opts.model_options,
                   seed=opts.seed, with_responses=opts.with_responses)


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
            on_epoch: Callable[[dict[str, Any]], None] | None = None,
            progress: bool = False) -> VqaResult:
    """Fit ``opts.method`` on the training gold, score on validation, write the submission.

    ``log`` gets progress lines, ``note`` each caveat (also kept in ``metrics["notes"]``);
    ``progress``: a progress bar on stderr (vlm and api).
    """
    if opts.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if opts.resume and opts.method not in BACKENDS:
        raise UsageError(f"--resume applies to --method {' and '.join(BACKENDS)} (their stored "
                         "replies)", code="usage", hint="pass --overwrite to replace a run")
    started = time.perf_counter()
    prepare_output(Path(opts.output), (SUBMISSION_DIR, METRICS_FILE, RESPONSES_FILE, MODEL_DIR),
                   resume=opts.resume, overwrite=opts.overwrite)
    inputs = load_inputs(opts)
    train, valid, predict, notes = inputs.train, inputs.valid, inputs.predict, inputs.notes
    for message in notes:
        note(message)
    log(f"{opts.method}: {len(train.encounters)} '{opts.train_split}' encounters with gold"
        f" ({train.gold_file})")
    subjects = vlm_subjects(opts, inputs) if opts.method in BACKENDS else []
    photos = photos_read(opts, inputs, subjects)
    if photos:  # a damaged photo stops the run before any training or request
        tick = time.perf_counter()
        checked = check_photos(photos, upright=True)
        log(f"preflight: {checked} photos opened and decoded in {time.perf_counter() - tick:.1f}s")
    if opts.method == "prior":
        fitted = _fit_prior(train, valid, predict)
    elif opts.method == "text":
        fitted = _fit_text(train, valid, predict, opts)
    elif opts.method == "bert-swin":
        fitted = _fit_bert_swin(train, valid, predict, inputs.layout, inputs.families or {},
                                opts, log, on_epoch)
    else:
        def keep_note(text: str) -> None:
            notes.append(text)
            note(text)

        fitted = _fit_vlm(train, valid, predict, subjects, inputs.families or {}, opts, log,
                          keep_note, progress)
    if fitted.save is not None:
        fitted.save(Path(opts.output) / MODEL_DIR)
    metrics: dict[str, Any] = {"baseline": "vqa", "method": opts.method, "validation_split": None}
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
        "options": options_record(opts),
    })
    metrics_file = Path(opts.output) / METRICS_FILE
    write_atomic(metrics_file, dumps_strict(metrics))
    return VqaResult(metrics, path, metrics_file, report, notes)
