"""Training the decoder: resume equals an uninterrupted run, determinism, early stopping, DDP."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from seg_support import synthetic_features, tiny_model, torch

from baselines.seg.data import load_samples
from baselines.seg.features import build_features
from baselines.seg.model import freeze_encoders, load_clipseg, model_source
from baselines.runtime import Runtime, setup, teardown
from baselines.seg.train import BEST_DECODER, LAST_CHECKPOINT, TrainSettings, train_decoder
from magic_submit.errors import MagicError

CPU = Runtime(torch.device("cpu"), None)


def _run(folder: Path, epochs: int, *, resume: bool = False, **settings):
    model, _ = tiny_model()
    train = synthetic_features(model, 12, seed=1)
    valid = synthetic_features(model, 4, seed=2, with_masks=True)
    options = dict(epochs=epochs, batch_size=4, patience=10, workers=1) | settings
    outcome = train_decoder(model, train, valid, TrainSettings(**options), CPU, folder,
                            resume=resume, fingerprint={"model": "tiny-random"})
    return outcome, model


def _without_times(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_an_interrupted_run_exactly(tmp_path: Path) -> None:
    straight, straight_model = _run(tmp_path / "straight", 3)
    first, _ = _run(tmp_path / "interrupted", 1)
    assert first.history[0]["epoch"] == 1 and (tmp_path / "interrupted" / LAST_CHECKPOINT).is_file()
    resumed, resumed_model = _run(tmp_path / "interrupted", 3, resume=True)
    assert resumed.resumed_from == 1
    assert _without_times(resumed.history) == _without_times(straight.history)
    assert _same_weights(resumed_model.decoder.state_dict(), straight_model.decoder.state_dict())
    assert _same_weights(resumed.best_state, straight.best_state)
    assert resumed.best_epoch == straight.best_epoch
    saved = torch.load(tmp_path / "interrupted" / BEST_DECODER, weights_only=True)
    assert _same_weights(saved, straight.best_state)
    # the loop learns: loss falls and the validation figure rises on this learnable task
    losses = [r["train_loss"] for r in straight.history]
    assert losses[-1] < losses[0] and straight.history[-1]["valid"]["dice"] > 0.3


def test_same_seed_same_result_and_resume_refuses_other_settings(tmp_path: Path) -> None:
    a, model_a = _run(tmp_path / "a", 2)
    b, model_b = _run(tmp_path / "b", 2)
    assert _without_times(a.history) == _without_times(b.history)
    assert _same_weights(model_a.decoder.state_dict(), model_b.decoder.state_dict())
    with pytest.raises(MagicError, match="other settings") as caught:
        _run(tmp_path / "a", 3, resume=True, lr=1e-3)
    assert "lr" in caught.value.message


def test_early_stopping_keeps_the_best_epoch(tmp_path: Path) -> None:
    outcome, _ = _run(tmp_path, 10, lr=0.0, patience=2)  # nothing improves after epoch 1
    assert outcome.stopped_early and [r["epoch"] for r in outcome.history] == [1, 2, 3]
    assert outcome.best_epoch == 1 and [r["best"] for r in outcome.history] == [True, False, False]


def test_resume_extends_an_early_stopped_run_when_patience_grows(tmp_path: Path) -> None:
    stopped, _ = _run(tmp_path / "run", 10, lr=0.0, patience=1)  # nothing improves after epoch 1
    assert stopped.stopped_early and len(stopped.history) == 2
    again, _ = _run(tmp_path / "run", 10, resume=True, lr=0.0, patience=1)
    assert len(again.history) == 2 and again.stopped_early  # same settings: nothing to train
    extended, _ = _run(tmp_path / "run", 10, resume=True, lr=0.0, patience=2)
    straight, _ = _run(tmp_path / "straight", 10, lr=0.0, patience=2)
    assert extended.resumed_from == 2 and [r["epoch"] for r in extended.history] == [1, 2, 3]
    assert _without_times(extended.history) == _without_times(straight.history)
    assert extended.stopped_early and extended.best_epoch == 1
    finished, _ = _run(tmp_path / "run", 3, resume=True, lr=0.0, patience=2)
    assert len(finished.history) == 3 and not finished.stopped_early  # 3 of 3 epochs: finished


# --- three processes (torchrun's environment, gloo) ------------------------------------------------
WORLD, N_TRAIN, BATCH = 3, 10, 4  # neither the photos nor the batch divide by the processes


def _ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    with model_source("tiny-random") as source:  # as run_seg: before the process group
        runtime = setup("cpu", seed=0)
        model, processor = load_clipseg(source)
    try:
        freeze_encoders(model)
        samples = load_samples(data, "train", need_masks=True)[:N_TRAIN]
        train = build_features(model, processor, samples, runtime, prompt_mode="query",
                               target="or", shard=True, workers=1)
        initial = {k: v.clone() for k, v in model.decoder.state_dict().items()}
        outcome = train_decoder(model, train, None, TrainSettings(epochs=2, batch_size=BATCH),
                                runtime, Path(out) / "checkpoints")
        torch.save({"decoder": model.decoder.state_dict(), "initial": initial,
                    "activations": [a.clone() for a in train.activations],
                    "targets": train.targets.clone(), "history": outcome.history},
                   Path(out) / f"rank{rank}.pt")
    finally:
        teardown(runtime)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_three_processes_take_the_steps_of_one(sample_data: Path, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(WORLD, _free_port(), str(sample_data), str(tmp_path)),
             nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    for other in ranks[1:]:
        assert _same_weights(ranks[0]["decoder"], other["decoder"])
        assert _without_times(other["history"]) == _without_times(ranks[0]["history"])
    assert not _same_weights(ranks[0]["decoder"], ranks[0]["initial"])  # it trained
    # each rank encoded a third of the images; after the exchange all hold the same full cache,
    # equal to encoding everything in one process
    model, processor = tiny_model()
    samples = load_samples(sample_data, "train", need_masks=True)[:N_TRAIN]
    single = build_features(model, processor, samples, CPU, prompt_mode="query", target="or",
                            workers=1)
    for a0, a1, a2, one in zip(*(r["activations"] for r in ranks), single.activations):
        assert torch.equal(a0, a1) and torch.equal(a0, a2)
        torch.testing.assert_close(a0, one, rtol=1e-5, atol=1e-5)
    assert torch.equal(ranks[0]["targets"], single.targets)
    # every epoch: the global batches of 4, 4, 2 (dealt 2+1+1, 2+1+1, 1+1+0), each photo once,
    # and DDP averages the gradients: one process's steps, up to float rounding (which Adam's
    # lr * g / |g| can turn into up to 2 lr for g near 0)
    one = train_decoder(model, single, None, TrainSettings(epochs=2, batch_size=BATCH), CPU,
                        tmp_path / "one")
    for ddp, alone in zip(ranks[0]["history"], one.history):
        assert (ddp["steps"], ddp["samples"]) == (alone["steps"], alone["samples"]) == (3, N_TRAIN)
        assert ddp["train_loss"] == pytest.approx(alone["train_loss"], rel=1e-5)
    for key, value in model.decoder.state_dict().items():
        torch.testing.assert_close(ranks[0]["decoder"][key], value, rtol=0, atol=2 * 9e-4)
    assert (tmp_path / "checkpoints" / LAST_CHECKPOINT).is_file()  # written by rank 0 only


# --- runtime: the shared step, scaler and session --------------------------------------------------
def test_scaler_only_for_fp16_and_session_restores_determinism() -> None:
    from baselines.runtime import session

    assert Runtime(torch.device("cpu"), torch.float16).make_scaler().is_enabled()
    assert not Runtime(torch.device("cpu"), torch.bfloat16).make_scaler().is_enabled()
    assert not CPU.make_scaler().is_enabled()
    before = torch.are_deterministic_algorithms_enabled()
    with pytest.raises(RuntimeError, match="inside"):
        with session("cpu", seed=0) as runtime:
            assert torch.are_deterministic_algorithms_enabled() and runtime.world_size == 1
            raise RuntimeError("inside")
    assert torch.are_deterministic_algorithms_enabled() == before


def test_train_step_clips_then_steps() -> None:
    from baselines.runtime import train_step

    weight = torch.nn.Parameter(torch.tensor([1.0, 1.0]))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    loss = (weight * torch.tensor([30.0, 40.0])).sum()  # gradient (30, 40), norm 50
    train_step(loss, optimizer, CPU.make_scaler(), [weight], 5.0)
    torch.testing.assert_close(weight.detach(), torch.tensor([1.0 - 3.0, 1.0 - 4.0]))
    train_step((weight * 0.0).sum() + 1.0, optimizer, CPU.make_scaler(), [weight], 5.0)
    torch.testing.assert_close(weight.detach(), torch.tensor([-2.0, -3.0]))  # zeroed, not summed


def test_run_seg_reuses_the_best_epochs_validation(sample_data: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation logits are computed once per epoch in training, never again afterwards when
    the valid split is also predicted and its threshold tuned; the figures are the epoch's."""
    import baselines.seg.run as run
    import baselines.seg.train as train

    calls = {"train": 0, "run": 0}

    def counting(where: str, real):
        def wrapper(*args, **kwargs):
            calls[where] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(train, "predict_logits", counting("train", train.predict_logits))
    monkeypatch.setattr(run, "predict_logits", counting("run", run.predict_logits))
    options = run.SegOptions(data=sample_data, output=tmp_path / "a", model="tiny-random",
                             device="cpu", predict_split="valid", epochs=2, batch_size=8,
                             workers=1)
    result = run.run_seg(options)
    assert calls == {"train": 2, "run": 0}
    best = result.metrics["epochs"][result.metrics["best_epoch"] - 1]
    assert result.metrics["valid"] == best["valid"] and result.metrics["threshold"] == 0.5
    tuned = run.run_seg(run.SegOptions(**{**vars(options), "output": tmp_path / "b",
                                          "tune_threshold": True}))
    assert calls == {"train": 4, "run": 0}
    assert tuned.metrics["valid"] == tuned.metrics["threshold_scores"][
        f"{tuned.metrics['threshold']:.2f}"]
    # a finished run resumed: the best epoch's logits are computed once, the figures are the same
    resumed = run.run_seg(run.SegOptions(**{**vars(options), "resume": True}))
    assert calls == {"train": 4, "run": 1} and resumed.metrics["valid"] == result.metrics["valid"]
