"""CLIPSeg for the baseline: loading, frozen encoders, and the decoder on cached activations.

CLIPSeg's forward is ``decoder(vision hidden states at extract_layers, text embedding)``; the
vision and text encoders are frozen, so their outputs for an image and a prompt never change
during training. :func:`encode_images` and :func:`encode_prompts` compute them once;
:func:`decode` runs only the trainable decoder. ``decode(encode_images(x), encode_prompts(t))``
equals ``model(pixel_values=x, input_ids=t).logits`` (tested).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from magic_submit.errors import MagicError

DEFAULT_MODEL = "CIDAS/clipseg-rd64-refined"


@contextlib.contextmanager
def model_source(model: str) -> Iterator[str]:
    """The ``from_pretrained`` argument for ``--model``: a hub id, a folder, or a built tiny model.

    ``tiny-random`` is written to a temporary folder (deterministic weights, offline tokenizer)
    and loaded back like any checkpoint; the folder lives as long as the context.
    """
    from baselines.seg.tiny import TINY_RANDOM, save_random_model

    if model != TINY_RANDOM:
        yield model
        return
    with tempfile.TemporaryDirectory(prefix="clipseg-tiny-random-") as folder:
        save_random_model(folder, size="tiny", seed=0)
        yield folder


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No transformers progress bars or warnings while loading and saving."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def load_clipseg(source: str) -> tuple[Any, Any]:
    """(``CLIPSegForImageSegmentation``, ``CLIPSegProcessor``) from a hub id or a local folder.

    ``HF_HUB_OFFLINE=1`` is honoured by ``from_pretrained`` (cache only); failures become a
    :class:`MagicError` that says how to get the weights.
    """
    from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

    local = Path(source).expanduser()
    looks_local = source.startswith((".", "/", "~")) or local.exists()
    if looks_local and not local.is_dir():  # a hub id is "org/name"; anything else is a folder
        raise MagicError("model folder not found", file=source,
                         hint="pass a hub id, a folder written by save_pretrained, or tiny-random")
    source = str(local) if looks_local else source
    try:
        with quiet_transformers():
            model = CLIPSegForImageSegmentation.from_pretrained(source)
            processor = CLIPSegProcessor.from_pretrained(source)
    except Exception as exc:  # noqa: BLE001 - hub, network and file errors come in many types
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        hint = ("HF_HUB_OFFLINE is set: download the model once with network, or pass a local folder"
                if offline else "check the id or folder; without network set HF_HUB_OFFLINE=1 and "
                "use a cached model or a local folder; --model tiny-random needs no download")
        raise MagicError(f"cannot load CLIPSeg model '{source}' ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})", hint=hint) from None
    return model, processor


def freeze_encoders(model: Any) -> list[Any]:
    """Freeze CLIP's text and vision encoders; return the decoder's (trainable) parameters."""
    model.clip.requires_grad_(False)
    model.clip.eval()
    model.decoder.requires_grad_(True)
    return list(model.decoder.parameters())


def text_max_length(model: Any, tokenizer: Any) -> int:
    """Token positions of the text encoder (77 for CLIP), capped by the tokenizer's own limit."""
    positions = model.config.text_config.max_position_embeddings
    limit = getattr(tokenizer, "model_max_length", positions) or positions
    return int(min(positions, limit))


def encode_images(model: Any, pixel_values: Any) -> list[Any]:
    """The frozen vision encoder's hidden states that the decoder reads (one per extract layer)."""
    import torch

    with torch.no_grad():
        outputs = model.clip.vision_model(pixel_values=pixel_values, output_hidden_states=True,
                                          interpolate_pos_encoding=True)
        # hidden_states[0] is the embedding output, so layer i's output is at i + 1 (as CLIPSeg).
        return [outputs.hidden_states[i + 1] for i in model.extract_layers]


def encode_prompts(model: Any, input_ids: Any, attention_mask: Any) -> Any:
    """The frozen text encoder's conditional embedding (``[n, projection_dim]``)."""
    import torch

    with torch.no_grad():
        return model.get_conditional_embeddings(batch_size=input_ids.shape[0], input_ids=input_ids,
                                                attention_mask=attention_mask)


def decode(decoder: Any, activations: list[Any], conditional: Any) -> Any:
    """Logits ``[n, 352, 352]`` of the decoder (or its DDP wrapper) on cached activations."""
    return decoder(activations, conditional).logits
