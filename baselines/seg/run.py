"""``magic run-baseline seg`` end to end: load, cache, train, pick the threshold, predict, pack.

Writes into ``output``: ``checkpoints/last.pt`` (resume state), ``checkpoints/best_decoder.pt``,
``model/`` (the best model and its processor, loadable with ``from_pretrained``),
``metrics.json``, ``submission/masks_preds/``, ``submission.zip`` and ``train.log``.
Only rank 0 writes; under torchrun the other ranks help train and then stop.

The prediction is ``magic predict seg``'s (:mod:`baselines.seg.members`,
:func:`baselines.seg.outputs.write_prediction`); for the valid split it starts from the best
epoch's logits, kept from training, which are the numbers the saved model gives again.

Every input is checked before the model is loaded: the masks' sizes against the photos'
headers, then every photo the run will read (the training and validation photos kept, every
photo of the predicted split) opened and decoded (:func:`magic_submit.photos.check_photos`), so
a damaged photo stops the run within seconds instead of after training.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ContextManager

from baselines.common import (
    METRICS_FILE, MODEL_DIR, SUBMISSION_DIR, options_record, prepare_output, selection_record,
)
from baselines.runtime import Runtime, session
from baselines.seg.data import DEFAULT_TARGET, SegSample, drop_mismatched, load_samples
from baselines.seg.features import SplitFeatures, build_features
from baselines.seg.members import ModelMember, cached_maps
from baselines.seg.model import DEFAULT_MODEL, freeze_encoders, load_clipseg, model_source
from baselines.seg.outputs import SUBMISSION_ZIP, write_prediction
from baselines.seg.predict import (
    DEFAULT_SELECT, DEFAULT_THRESHOLD, predict_logits, score_thresholds, selection_key,
    tune_threshold,
)
from baselines.seg.prompts import DEFAULT_PROMPT
from baselines.seg.runs import CHECKPOINT_DIR, save_run_model
from baselines.seg.train import LAST_CHECKPOINT, TrainOutcome, TrainSettings, train_decoder
from magic_submit.challenge import MASKS_PRED_DIR
from magic_submit.dataset import DatasetLayout
from magic_submit.errors import MagicError
from magic_submit.jsonio import dumps_strict, write_atomic
from magic_submit.photos import check_photos

LOG_FILE = "train.log"
# Everything a run writes into --output (what --overwrite deletes first).
RUN_PRODUCTS = (CHECKPOINT_DIR, MODEL_DIR, METRICS_FILE, SUBMISSION_DIR, SUBMISSION_ZIP, LOG_FILE)


@dataclass(frozen=True)
class SegOptions:
    """Every option of the command (see ``magic run-baseline seg --help``)."""

    data: Path
    output: Path
    model: str = DEFAULT_MODEL
    train_split: str = "train"
    valid_split: str | None = "valid"
    predict_split: str = "test"
    epochs: int = 30
    batch_size: int = 32
    lr: float = 9e-4
    patience: int = 5
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    tune_threshold: bool = False
    select_metric: str = DEFAULT_SELECT
    target: str = DEFAULT_TARGET
    prompt: str = DEFAULT_PROMPT
    workers: int | None = None


@dataclass
class Reporter:
    """Callbacks the command line uses to show progress (all optional; rank 0 only)."""

    message: Callable[[str], None] = lambda text: None
    epoch: Callable[[dict[str, Any]], None] = lambda record: None
    start_training: Callable[[int], None] = lambda epochs: None
    # (what, total) -> a context yielding the callable to call once per photo decoded and encoded
    photos: Callable[[str, int], ContextManager[Callable[[], None]]] = (
        lambda what, total: contextlib.nullcontext(lambda: None))


@dataclass
class SegResult:
    metrics: dict[str, Any]
    submission_zip: Path | None
    masks_dir: Path | None
    pack_report: Any = None
    timings: dict[str, float] = field(default_factory=dict)


class _Log:
    """Lines to ``train.log`` (rank 0) and to the reporter."""

    def __init__(self, path: Path | None, reporter: Reporter) -> None:
        self.path, self.reporter = path, reporter
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, text: str, *, show: bool = True) -> None:
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
        if show:
            self.reporter.message(text)


def _epoch_line(record: dict[str, Any], metric: str) -> str:
    line = f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}"
    if "valid" in record:
        v = record["valid"]
        line += (f", valid dice {v['dice']:.4f} jaccard {v['jaccard']:.4f} "
                 f"dice_meanofmax {v['dice_meanofmax']:.4f}")
        if metric not in ("dice", "jaccard", "dice_meanofmax"):
            line += f" {metric} {record['select_value']:.4f}"
    return line + (" *best*" if record.get("best") else "") + f" [{record['seconds']:.1f}s]"


def _features(model: Any, processor: Any, samples: list, runtime: Runtime, opts: SegOptions,
              log: _Log, what: str, **kwargs: Any) -> SplitFeatures:
    mine = len(samples[runtime.rank::runtime.world_size]) if kwargs.get("shard") else len(samples)
    with log.reporter.photos(f"{what}: decoding and encoding", mine) as tick:
        features = build_features(model, processor, samples, runtime, prompt_mode=opts.prompt,
                                  workers=opts.workers, on_image=tick, **kwargs)
    log(f"{what}: {len(samples)} images decoded and encoded once in {features.seconds['total']:.1f}s"
        f"; {features.prompts_truncated} of {features.n_prompts} prompts cut at 77 tokens")
    return features


def run_seg(opts: SegOptions, reporter: Reporter | None = None) -> SegResult | None:
    """Run the baseline; rank 0 returns the result, other torchrun ranks return None."""
    reporter = reporter or Reporter()
    started = time.perf_counter()
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 alone owns the folder
        prepare_output(Path(opts.output), RUN_PRODUCTS, resume=opts.resume,
                       overwrite=opts.overwrite, logs=(LOG_FILE,))
    # tiny-random is written before torchrun's process group exists: transformers saves only on
    # rank 0 inside one, and each rank builds its own copy.
    with model_source(opts.model) as source, session(opts.device, opts.seed) as runtime:
        return _run(opts, source, runtime, reporter, started)


def _run(opts: SegOptions, source: str, runtime: Runtime, reporter: Reporter,
         started: float) -> SegResult | None:
    output = Path(opts.output)
    reporter = reporter if runtime.is_main else Reporter()  # other torchrun ranks stay silent
    log = _Log(output / LOG_FILE if runtime.is_main else None, reporter)
    log(f"magic run-baseline seg: {json.dumps({k: str(v) for k, v in asdict(opts).items()})}",
        show=False)
    # Every input is checked before any training starts.
    skipped: dict[str, list[str]] = {}
    train_samples = _with_usable_masks(load_samples(opts.data, opts.train_split, need_masks=True),
                                       opts.train_split, opts, skipped, log)
    valid_samples = (_with_usable_masks(load_samples(opts.data, opts.valid_split, need_masks=True),
                                        opts.valid_split, opts, skipped, log)
                     if opts.valid_split and runtime.is_main else None)
    predict_samples = load_samples(opts.data, opts.predict_split, need_masks=False)
    if runtime.is_main:  # a damaged photo stops the run now, not after training
        _preflight([*train_samples, *(valid_samples or ()), *predict_samples], opts, log)
    model, processor = load_clipseg(source)
    freeze_encoders(model)
    model.to(runtime.device)
    log(f"model {opts.model} on {runtime.device} ({runtime.precision}), {runtime.world_size} "
        f"process(es); encoders frozen, decoder trains")
    train = _features(model, processor, train_samples, runtime, opts, log,
                      f"train ({opts.train_split})", target=opts.target, shard=True)
    valid = (_features(model, processor, valid_samples, runtime, opts, log,
                       f"valid ({opts.valid_split})", keep_masks=True)
             if valid_samples is not None else None)
    timings = {"cache_s": time.perf_counter() - started}
    prompts_cut = {split: [f.prompts_truncated, f.n_prompts] for split, f in
                   ((opts.train_split, train), (opts.valid_split, valid)) if f is not None}
    notes = [f"skipped {line}" for lines in skipped.values() for line in lines]
    outcome = _train(model, train, valid, opts, runtime, reporter, log, notes)
    timings["train_s"] = outcome.seconds
    if not runtime.is_main:
        return None
    del train  # the largest cache; prediction needs its memory
    model.decoder.load_state_dict(outcome.best_state)
    model.decoder.eval()
    # The best decoder's valid logits: kept from training, else (best epoch before a --resume)
    # computed once, and only if the threshold tuning or the prediction needs them.
    valid_logits = functools.cache(lambda: outcome.best_logits if outcome.best_logits is not None
                                   else predict_logits(model.decoder, valid, runtime))
    threshold, table, valid_scores = _choose_threshold(valid, valid_logits, outcome, opts, log)
    tick = time.perf_counter()
    member = None
    if valid is not None and valid.image_ids == [s.image_id for s in predict_samples]:
        maps = cached_maps(valid_logits(), valid.sizes)
        prompts_cut[opts.predict_split] = [valid.prompts_truncated, valid.n_prompts]
    else:
        member = ModelMember(model, processor, opts.prompt, threshold, runtime,
                             workers=opts.workers)
        maps = member.maps(predict_samples)
    layout = DatasetLayout(opts.data)
    with log.reporter.photos(f"predict ({opts.predict_split}): decoding and encoding",
                             len(predict_samples)) as advance:
        _, packed = write_prediction(output, predict_samples, maps, threshold,
                                     queries=layout.require_queries(opts.predict_split),
                                     images_dir=layout.require_images(opts.predict_split),
                                     workers=opts.workers, on_image=advance)
    if member is not None and member.prompt_counts is not None:
        prompts_cut[opts.predict_split] = list(member.prompt_counts)
    log(f"{len(predict_samples)} masks written to {output / SUBMISSION_DIR / MASKS_PRED_DIR}; "
        f"{packed.output} validated and packed")
    timings["predict_s"] = time.perf_counter() - tick
    fingerprint = save_run_model(model, processor, output)
    timings["total_s"] = time.perf_counter() - started
    metrics = {
        "baseline": "seg",
        "options": options_record(opts),
        "device": str(runtime.device), "precision": runtime.precision,
        "world_size": runtime.world_size, "prompts_cut_at_77_tokens": prompts_cut,
        "epochs": outcome.history, "best_epoch": outcome.best_epoch,
        "stopped_early": outcome.stopped_early, "resumed_after_epoch": outcome.resumed_from,
        "select_metric": opts.select_metric,
        "select_value": (selection_key(valid_scores, opts.select_metric)[1] if valid_scores
                         else None),
        "threshold": threshold,
        "threshold_scores": {f"{t:.2f}": s for t, s in table.items()} if table else None,
        "valid": valid_scores, "selection": _selection(opts) if valid_scores else None,
        "skipped_images": {split: len(lines) for split, lines in skipped.items()}, "notes": notes,
        "predict_split": opts.predict_split, "n_predicted": len(predict_samples),
        "submission": str(packed.output), "model_fingerprint": fingerprint, "timings": timings,
    }
    write_atomic(output / METRICS_FILE, dumps_strict(metrics))
    log(f"done in {timings['total_s']:.1f}s; metrics in {output / METRICS_FILE}")
    return SegResult(metrics, Path(packed.output), output / SUBMISSION_DIR / MASKS_PRED_DIR,
                     packed.report, timings)


def _with_usable_masks(samples: list[SegSample], split: str, opts: SegOptions,
                       skipped: dict[str, list[str]], log: _Log) -> list[SegSample]:
    """The samples whose masks have their photo's size; the others are named and counted."""
    kept, problems = drop_mismatched(samples, workers=opts.workers)
    skipped[split] = list(problems.values())
    for line in skipped[split]:
        log(f"skipped {line}")
    if not kept:
        raise MagicError(f"no image of split '{split}' has masks of its own size", ids=list(problems),
                         hint="the masks must have each photo's stored height and width")
    return kept


def _preflight(samples: list[SegSample], opts: SegOptions, log: _Log) -> None:
    """Open and decode every photo the run will read, before the model is even loaded."""
    tick = time.perf_counter()
    checked = check_photos([s.image_path for s in samples], workers=opts.workers)
    log(f"preflight: {checked} photos opened and decoded in {time.perf_counter() - tick:.1f}s")


def _selection(opts: SegOptions) -> dict[str, Any]:
    """What the 'valid' figures are: those of the split the run was tuned on."""
    return selection_record(opts.valid_split or "",
                            ["best_epoch"] + (["threshold"] if opts.tune_threshold else []))


def _train(model: Any, train: SplitFeatures, valid: SplitFeatures | None, opts: SegOptions,
           runtime: Runtime, reporter: Reporter, log: _Log, notes: list[str]) -> Any:
    settings = TrainSettings(epochs=opts.epochs, batch_size=opts.batch_size, lr=opts.lr,
                             patience=opts.patience, seed=opts.seed,
                             select_metric=opts.select_metric, workers=opts.workers)
    # A resumed run must continue the same experiment: these may not change in between.
    fingerprint = {"model": opts.model, "target": opts.target, "prompt": opts.prompt,
                   "train_split": opts.train_split, "valid_split": opts.valid_split,
                   "world_size": runtime.world_size}

    def on_epoch(record: dict[str, Any]) -> None:
        log(_epoch_line(record, opts.select_metric))
        reporter.epoch(record)

    checkpoint_dir = Path(opts.output) / CHECKPOINT_DIR
    if opts.resume and not (checkpoint_dir / LAST_CHECKPOINT).is_file():
        notes.append(f"--resume: no checkpoint {checkpoint_dir / LAST_CHECKPOINT}: a new run "
                     "starts from epoch 1")
        log(notes[-1])
    reporter.start_training(opts.epochs)
    outcome = train_decoder(model, train, valid, settings, runtime,
                            checkpoint_dir, resume=opts.resume,
                            fingerprint=fingerprint, on_epoch=on_epoch if runtime.is_main else None)
    if outcome.resumed_from:
        log(f"resumed after epoch {outcome.resumed_from}")
    return outcome


def _choose_threshold(valid: SplitFeatures | None, valid_logits: Callable[[], Any],
                      outcome: TrainOutcome, opts: SegOptions,
                      log: _Log) -> tuple[float, dict | None, dict | None]:
    """(threshold, scores per candidate or None, valid scores at the threshold or None)."""
    if valid is None:
        return DEFAULT_THRESHOLD, None, None
    threshold, table = DEFAULT_THRESHOLD, None
    if opts.tune_threshold:
        threshold, table = tune_threshold(valid, valid_logits(), opts.select_metric,
                                          workers=opts.workers)
        log(f"threshold {threshold} picked on {opts.valid_split} for {opts.select_metric}")
        scores = table[threshold]
    else:  # training scored every epoch at this threshold: the best epoch's figures are these
        best = [r["valid"] for r in outcome.history
                if r["epoch"] == outcome.best_epoch and "valid" in r]
        # no such record only if no epoch ever improved (best_epoch 0): score the decoder kept
        scores = best[0] if best else score_thresholds(valid, valid_logits(), [threshold],
                                                       workers=opts.workers)[0]
    log(f"best epoch {outcome.best_epoch}: {opts.valid_split} dice {scores['dice']:.4f}, "
        f"dice_meanofmax {scores['dice_meanofmax']:.4f} at threshold {threshold}")
    return threshold, table, scores
