"""Train CLIPSeg's decoder on cached activations: the paper's recipe, one pass of the encoders.

BCE with logits against the merged target (coverage at 352x352), AdamW, gradient clipping at
1.0, bf16 autocast (fp16 with a gradient scaler where the GPU lacks bf16, fp32 on the CPU), a
seeded shuffle per epoch, validation with the official figures after every epoch, early
stopping on ``select_metric`` and the best decoder kept. ``last.pt`` holds everything needed to
continue an interrupted run (``resume=True``) with the same result as an uninterrupted one.
Under torchrun the decoder is wrapped in DistributedDataParallel; every rank draws the same
shuffle and cuts it into the same global batches of ``batch_size``, each dealt across the ranks
(:func:`baselines.runtime.epoch_batches`, :func:`~baselines.runtime.rank_share`): N processes
take exactly the steps of one, whatever the number of photos, the batch and N.

``resume=True`` continues from ``last.pt``; it also extends a finished or early-stopped run
when ``epochs`` or ``patience`` has grown (they are not part of the run's fingerprint).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baselines.seg.features import SplitFeatures
from baselines.seg.model import decode
from baselines.seg.predict import (
    DEFAULT_SELECT, DEFAULT_THRESHOLD, predict_logits, score_thresholds, selection_key,
)
from baselines.runtime import (
    Runtime, broadcast_flag, epoch_batches, rank_share, sum_across_ranks, train_step,
)
from magic_submit.errors import MagicError

LAST_CHECKPOINT = "last.pt"
BEST_DECODER = "best_decoder.pt"


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 9e-4
    clip_norm: float = 1.0
    patience: int = 5
    seed: int = 0
    select_metric: str = DEFAULT_SELECT
    threshold: float = DEFAULT_THRESHOLD
    workers: int | None = None


@dataclass
class TrainOutcome:
    history: list[dict[str, Any]]
    best_epoch: int
    best_state: dict[str, Any]
    stopped_early: bool
    seconds: float = 0.0
    resumed_from: int = 0
    # The best epoch's validation logits, which the best decoder would give again: kept, not
    # recomputed. None without validation, or when the best epoch ran before a --resume.
    best_logits: Any = None


@dataclass
class _State:
    """What ``last.pt`` keeps besides the weights."""

    epoch: int = 0  # epochs completed
    history: list[dict[str, Any]] = field(default_factory=list)
    best_key: tuple[bool, float] = (False, -math.inf)  # see predict.selection_key
    best_epoch: int = 0
    bad_epochs: int = 0
    stopped_early: bool = False  # recomputed when a run is resumed: a larger patience continues it


def _save_atomic(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _cpu_state(module: Any) -> dict[str, Any]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def _load_resume(path: Path, fingerprint: dict[str, Any], decoder: Any, optimizer: Any,
                 scaler: Any) -> tuple[_State, dict[str, Any]]:
    import torch

    saved = torch.load(path, map_location="cpu", weights_only=True)
    changed = {k: (saved["fingerprint"].get(k), v) for k, v in fingerprint.items()
               if saved["fingerprint"].get(k) != v}
    if changed:
        details = "; ".join(f"{k}: {old!r} then, {new!r} now" for k, (old, new) in changed.items())
        raise MagicError(f"cannot resume: the run was started with other settings ({details})",
                         file=path, hint="repeat the original options, or use a new --output")
    decoder.load_state_dict(saved["decoder"])
    optimizer.load_state_dict(saved["optimizer"])
    scaler.load_state_dict(saved["scaler"])
    return _State(**saved["state"]), saved["best_state"]


def _out_of_patience(state: _State, settings: TrainSettings, validating: bool) -> bool:
    return validating and state.bad_epochs >= settings.patience


def _finished(state: _State, settings: TrainSettings, validating: bool) -> bool:
    """No epoch left, or ``patience`` epochs without a better validation figure."""
    return state.epoch >= settings.epochs or _out_of_patience(state, settings, validating)


def _stopped_early(state: _State, settings: TrainSettings, validating: bool) -> bool:
    return _out_of_patience(state, settings, validating) and state.epoch < settings.epochs


def train_decoder(model: Any, train: SplitFeatures, valid: SplitFeatures | None,
                  settings: TrainSettings, runtime: Runtime, checkpoint_dir: str | Path, *,
                  resume: bool = False, fingerprint: dict[str, Any] | None = None,
                  on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainOutcome:
    """Train ``model.decoder`` in place; return the history and the best decoder weights.

    Epoch records hold ``steps`` (optimiser steps) and ``samples`` (rows seen, all ranks
    together): one pass over the training split whatever the number of processes.
    """
    import torch

    checkpoint_dir = Path(checkpoint_dir)
    fingerprint = dict(fingerprint or {}, batch_size=settings.batch_size, lr=settings.lr,
                       seed=settings.seed, select_metric=settings.select_metric)
    decoder = model.decoder
    params = [p for p in decoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr)
    scaler = runtime.make_scaler()
    state, best_state, best_logits = _State(), _cpu_state(decoder), None
    last = checkpoint_dir / LAST_CHECKPOINT
    if resume and last.is_file():
        state, best_state = _load_resume(last, fingerprint, decoder, optimizer, scaler)
    resumed_from = state.epoch
    trained = decoder
    if runtime.distributed:
        import warnings

        from torch.nn.parallel import DistributedDataParallel

        # The last transposed convolution's [16, 1, 4, 4] gradient has other (equivalent) strides
        # than DDP's bucket: harmless, and said once per rank per step otherwise.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")

        trained = DistributedDataParallel(
            decoder, device_ids=[runtime.device.index] if runtime.device.type == "cuda" else None)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    pixels = math.prod(train.targets.shape[1:])
    started = time.perf_counter()
    # Rank 0 alone validates, so it alone knows when to stop: the others follow its word.
    while not broadcast_flag(runtime, _finished(state, settings, valid is not None)):
        tick = time.perf_counter()
        decoder.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=runtime.device)  # no sync per step
        seen = 0
        batches = epoch_batches(len(train), settings.batch_size, settings.seed, state.epoch)
        for batch in batches:
            rows, weight = rank_share(batch.to(runtime.device), runtime.rank, runtime.world_size)
            activations, conditional = train.batch(rows)
            target = train.targets[rows].float() / 255
            with runtime.autocast():
                logits = decode(trained, activations, conditional)
            # this rank's share of the batch mean, times N: DDP's average gives the batch mean
            local = loss_fn(logits.float(), target) / pixels
            train_step(local * weight, optimizer, scaler, params, settings.clip_norm)
            if weight:
                loss_sum += local.detach().double()
                seen += len(rows)
        totals = sum_across_ranks(runtime, torch.stack([loss_sum, loss_sum.new_tensor(seen)]))
        state.epoch += 1
        record: dict[str, Any] = {"epoch": state.epoch, "train_loss": float(totals[0] / totals[1]),
                                  "steps": len(batches), "samples": int(totals[1])}
        improved, key, logits = valid is None, None, None  # no validation split: the last epoch
        if runtime.is_main and valid is not None:
            logits = predict_logits(decoder, valid, runtime)
            scores = score_thresholds(valid, logits, [settings.threshold], workers=settings.workers)[0]
            key = selection_key(scores, settings.select_metric)
            record.update(valid=scores, select_value=key[1])
            improved = key > tuple(state.best_key)
        if improved:
            state.best_key = key or state.best_key
            state.best_epoch, state.bad_epochs = state.epoch, 0
            best_state, best_logits = _cpu_state(decoder), logits
        else:
            state.bad_epochs += 1
        state.stopped_early = _stopped_early(state, settings, valid is not None)
        record.update(best=improved, seconds=time.perf_counter() - tick)
        state.history.append(record)
        if runtime.is_main:
            checkpoint_dir.mkdir(parents=True, exist_ok=True)
            if improved:
                _save_atomic(best_state, checkpoint_dir / BEST_DECODER)
            _save_atomic({"decoder": _cpu_state(decoder), "optimizer": optimizer.state_dict(),
                          "scaler": scaler.state_dict(), "state": vars(state),
                          "best_state": best_state, "fingerprint": fingerprint}, last)
        if on_epoch is not None:
            on_epoch(record)
    # after a --resume that trained nothing, the saved flag may predate a change of settings
    state.stopped_early = _stopped_early(state, settings, valid is not None)
    return TrainOutcome(state.history, state.best_epoch, best_state, state.stopped_early,
                        time.perf_counter() - started, resumed_from, best_logits)
