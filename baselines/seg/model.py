"""CLIPSeg for the baseline: loading, frozen encoders, and the decoder on cached activations.

CLIPSeg's forward is ``decoder(vision hidden states at extract_layers, text embedding)``; the
vision and text encoders are frozen, so their outputs for an image and a prompt never change
during training. :func:`encode_images` and :func:`encode_prompts` compute them once;
:func:`decode` runs only the trainable decoder. ``decode(encode_images(x), encode_prompts(t))``
equals ``model(pixel_values=x, input_ids=t).logits`` (tested).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from baselines.hub import load_pretrained, pretrained_source

DEFAULT_MODEL = "CIDAS/clipseg-rd64-refined"
# Photos per vision-encoder batch, for training's cache and for prediction alike: the same
# batches give the same numbers, so a run's cached logits and magic predict's agree bit for bit.
ENCODE_BATCH = 64


def model_source(model: str) -> AbstractContextManager[str]:
    """The ``from_pretrained`` argument for ``--model``: a hub id, a folder, or a built tiny model.

    ``tiny-random`` is written to a temporary folder (deterministic weights, offline tokenizer)
    and loaded back like any checkpoint; the folder lives as long as the context.
    """
    from baselines.seg.tiny import save_random_model

    return pretrained_source(model, lambda folder: save_random_model(folder, size="tiny", seed=0),
                             prefix="clipseg-tiny-random-")


def load_clipseg(source: str) -> tuple[Any, Any]:
    """(``CLIPSegForImageSegmentation``, ``CLIPSegProcessor``) from a hub id or a local folder;
    failures are a :class:`MagicError` (:func:`baselines.hub.load_pretrained`)."""
    from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

    model = load_pretrained(CLIPSegForImageSegmentation.from_pretrained, source, "CLIPSeg model")
    processor = load_pretrained(CLIPSegProcessor.from_pretrained, source, "CLIPSeg processor")
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


def vision_features(model: Any, pixel_values: Any, runtime: Any) -> list[Any]:
    """:func:`encode_images` under the runtime's autocast, cast to its storage dtype: the one
    encoder forward of training's cache and of prediction."""
    with runtime.autocast():
        return [h.to(runtime.storage_dtype) for h in encode_images(model, pixel_values)]


def encode_prompts(model: Any, input_ids: Any, attention_mask: Any) -> Any:
    """The frozen text encoder's conditional embedding (``[n, projection_dim]``)."""
    import torch

    with torch.no_grad():
        return model.get_conditional_embeddings(batch_size=input_ids.shape[0], input_ids=input_ids,
                                                attention_mask=attention_mask)


def decode(decoder: Any, activations: list[Any], conditional: Any) -> Any:
    """Logits ``[n, 352, 352]`` of the decoder (or its DDP wrapper) on cached activations."""
    return decoder(activations, conditional).logits


def decoder_logits(decoder: Any, activations: list[Any], conditional: Any, runtime: Any) -> Any:
    """float32 logits ``[n, 352, 352]`` for prediction: no gradients, the runtime's autocast.

    The one forward that training's validation, ``run-baseline`` and ``magic predict`` share.
    """
    import torch

    with torch.no_grad(), runtime.autocast():
        return decode(decoder, activations, conditional).float()
