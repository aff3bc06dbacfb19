"""A trained ``bert-swin`` head answering a new split from its saved checkpoint.

The checkpoint (:func:`baselines.vqa.bert_swin.make_checkpoint`) holds the head, the scaled
option vectors, the scalings of the image and query vectors, the NM padding and the encoders'
names. The encoders are loaded again by name (``tiny-random`` is rebuilt from the run's seed)
and must have the recorded fingerprints; the split is then encoded and scored by the code that
answered during training (:func:`~baselines.vqa.bert_swin_features.build_features`,
:func:`~baselines.vqa.bert_swin.apply_scalings`, :func:`~baselines.vqa.bert_swin.predict_sets`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from baselines.hub import state_fingerprint
from baselines.runtime import session
from baselines.vqa.bert_swin import AnswerSets, OptionScorer, Scaling, apply_scalings, predict_sets
from baselines.vqa.bert_swin_features import build_features, load_encoders
from baselines.vqa.data import SplitData
from baselines.vqa.tiny import model_sources
from magic_submit.challenge import PARENTS
from magic_submit.errors import MagicError

CHECKPOINT_FILE = "bert_swin.pt"


def save_checkpoint(checkpoint: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, folder / CHECKPOINT_FILE)


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """The saved checkpoint (tensors, numbers and names only: ``weights_only`` loading)."""
    path = folder / CHECKPOINT_FILE
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MagicError(f"incomplete run folder: no model/{CHECKPOINT_FILE}", file=folder.parent,
                         hint="run 'magic run-baseline vqa --method bert-swin' again") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged file
        raise MagicError(f"cannot read the bert-swin checkpoint ({type(exc).__name__})", file=path,
                         hint="run 'magic run-baseline vqa --method bert-swin' again") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != 1:
        raise MagicError("not a bert-swin checkpoint of this version", file=path)
    return checkpoint


def _scorer(checkpoint: dict[str, Any], device: Any) -> OptionScorer:
    head, settings = checkpoint["head"], checkpoint["settings"]
    model = OptionScorer(head["option_proj.weight"].shape[1], head["image_proj.weight"].shape[1],
                         context="context_proj.weight" in head, hidden=settings["hidden"],
                         dropout=settings["dropout"])
    model.load_state_dict(head)
    return model.to(device).eval()


def predict_saved(checkpoint: dict[str, Any], split: SplitData, images_dir: Path, *, device: str,
                  log: Callable[[str], None] = lambda text: None) -> tuple[AnswerSets, str]:
    """Answer sets for every encounter of ``split``, and the device used."""
    settings = checkpoint["settings"]
    with session(device, settings["seed"], distributed=False) as runtime:
        with model_sources(settings["model_text"], settings["model_image"],
                           seed=settings["seed"]) as (text, image):
            encoders = load_encoders(text, image, runtime.device)
        found = {"text": state_fingerprint(encoders.text_model),
                 "image": state_fingerprint(encoders.image_model)}
        wrong = [f"{kind} encoder '{settings['model_' + kind]}'" for kind in found
                 if found[kind] != checkpoint["fingerprints"][kind]]
        if wrong:
            raise MagicError(f"not the encoders this run was trained with: {', '.join(wrong)} "
                             "loaded other weights", hint="make the run's encoders available "
                             "under the same names (hub cache or folder), or train again")
        log(f"encoders {settings['model_text']} + {settings['model_image']} on {runtime.device} "
            f"({runtime.precision}), as recorded")
        features = build_features(encoders, split, images_dir, runtime,
                                  query_context=settings["query_context"],
                                  with_responses=settings["with_responses"])
        scalings = {k: None if v is None else Scaling(v["mean"], v["std"])
                    for k, v in checkpoint["scalings"].items()}
        apply_scalings(features, scalings)
        options = {p.id: checkpoint["options"][p.id].to(runtime.device) for p in PARENTS}
        sets = predict_sets(_scorer(checkpoint, runtime.device), options, features, runtime,
                            checkpoint["pad"])
        return sets, str(runtime.device)
