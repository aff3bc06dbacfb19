"""A finished ``run-baseline seg`` folder, as ``run-baseline`` writes it and ``predict`` reads it.

What prediction needs is in the folder: ``model/`` (the best model and its processor,
``from_pretrained``-ready) and ``metrics.json`` (``"baseline": "seg"``, the ``threshold``, the
prompt in ``options.prompt`` and ``model_fingerprint``, the sha256 of the saved weights). Reading
checks each part and says what is missing; loading the model checks its fingerprint, so a
``model/`` that is not the one the run trained is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baselines.common import METRICS_FILE, MODEL_DIR, read_run_metrics
from baselines.seg.prompts import PROMPT_CHOICES
from magic_submit.errors import MagicError

WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
RUN_HINT = "pass the --output folder of a finished 'magic run-baseline seg'"
CHECKPOINT_DIR = "checkpoints"  # OUT/checkpoints/: last.pt and best_decoder.pt while training


@dataclass(frozen=True)
class SegRun:
    """What ``magic predict seg`` takes from a run folder."""

    folder: Path
    threshold: float
    prompt: str
    fingerprint: str | None  # None: a run written before fingerprints were recorded
    metrics: dict[str, Any] = field(repr=False, compare=False)

    @property
    def model_dir(self) -> Path:
        return self.folder / MODEL_DIR


def read_seg_run(folder: str | Path) -> SegRun:
    """The run in ``folder``; every missing or damaged part is a :class:`MagicError`."""
    folder = Path(folder)
    if (folder / CHECKPOINT_DIR).is_dir() and not (folder / METRICS_FILE).is_file():
        raise MagicError(f"incomplete run folder: checkpoints but no {METRICS_FILE} (the run "
                         "stopped before its end)", file=folder, hint="continue it with 'magic "
                         "run-baseline seg --resume' and the same options")
    metrics = read_run_metrics(folder, "seg")
    threshold = metrics.get("threshold")
    prompt = (metrics.get("options") or {}).get("prompt")
    if not isinstance(threshold, (int, float)) or not 0 <= threshold < 1 \
            or prompt not in PROMPT_CHOICES:
        raise MagicError("metrics.json lacks the run's threshold or prompt (options.prompt)",
                         file=folder / METRICS_FILE, hint=RUN_HINT)
    model_dir = folder / MODEL_DIR
    parts = [(model_dir / "config.json").is_file(),
             any(any(model_dir.glob(p)) for p in WEIGHT_PATTERNS) if model_dir.is_dir() else False]
    if not all(parts):
        what = "no model/ folder" if not model_dir.is_dir() else \
            "model/ lacks " + " and ".join(n for n, ok in zip(("config.json", "its weights"), parts)
                                          if not ok)
        raise MagicError(f"incomplete run folder: {what}", file=folder,
                         hint="the run saves model/ when it finishes: finish it with "
                         "'magic run-baseline seg --resume'")
    fingerprint = (metrics.get("model_fingerprint") or {}).get("sha256")
    return SegRun(folder, float(threshold), str(prompt), fingerprint, metrics)


def load_run_model(run: SegRun) -> tuple[Any, Any]:
    """(model in eval mode, processor) of ``run``, checked against the recorded fingerprint."""
    from baselines.hub import state_fingerprint
    from baselines.seg.model import load_clipseg

    check_weights(run.model_dir)
    model, processor = load_clipseg(str(run.model_dir))
    if run.fingerprint is not None and state_fingerprint(model) != run.fingerprint:
        raise MagicError("model/ does not hold the model this run trained: its weights differ "
                         "from metrics.json's model_fingerprint (another model, or damaged "
                         "bytes)", file=run.model_dir,
                         hint="put back the run's own model/ folder, or train again")
    model.eval()
    return model, processor


def check_weights(model_dir: Path) -> None:
    """Every ``*.safetensors`` file of ``model_dir`` opens and covers the tensors its header
    lists (a truncated or overwritten file fails here, named), before transformers loads it."""
    from safetensors import safe_open

    for path in sorted(model_dir.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except Exception as exc:  # noqa: BLE001 - SafetensorError, OSError, ...
            raise MagicError(f"damaged weights file ({type(exc).__name__}: {exc})", file=path,
                             hint="train the run again (magic run-baseline seg), or restore "
                             "its model/ folder from a copy") from None


def save_run_model(model: Any, processor: Any, folder: Path) -> dict[str, Any]:
    """Write ``folder/model/`` and return the ``model_fingerprint`` record of what was written."""
    from baselines.hub import quiet_transformers, state_fingerprint

    with quiet_transformers():
        model.save_pretrained(folder / MODEL_DIR)
        processor.save_pretrained(folder / MODEL_DIR)
    return {"sha256": state_fingerprint(model),
            "parameters": sum(p.numel() for p in model.parameters())}
