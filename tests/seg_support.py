"""Shared pieces of the segmentation-baseline tests: the tiny model and small feature sets."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

torch = __import__("pytest").importorskip("torch")
__import__("pytest").importorskip("transformers")

from baselines.seg.data import SegSample  # noqa: E402
from baselines.seg.features import SplitFeatures  # noqa: E402
from baselines.seg.model import freeze_encoders, load_clipseg, model_source  # noqa: E402


@functools.lru_cache(maxsize=1)
def _tiny_state() -> tuple[dict, object, object]:
    with model_source("tiny-random") as source:
        model, processor = load_clipseg(source)
    return {k: v.clone() for k, v in model.state_dict().items()}, processor, model.config


def tiny_model() -> tuple[object, object]:
    """A fresh copy of the tiny-random CLIPSeg (encoders frozen) and its processor."""
    from transformers import CLIPSegForImageSegmentation

    state, processor, config = _tiny_state()
    model = CLIPSegForImageSegmentation(config)
    model.load_state_dict(state)
    freeze_encoders(model)
    return model, processor


def synthetic_features(model: object, n: int, *, seed: int, sizes: list[tuple[int, int]] | None = None,
                       with_masks: bool = False) -> SplitFeatures:
    """Random activations whose first channel mean says where the 'lesion' is, and its targets."""
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    tokens = (352 // config.vision_config.patch_size) ** 2 + 1
    width = config.vision_config.hidden_size
    grid = 352 // config.vision_config.patch_size
    lesion = torch.rand((n, grid, grid), generator=generator) > 0.6
    activations = []
    for _ in config.extract_layers:
        a = torch.randn((n, tokens, width), generator=generator) * 0.1
        a[:, 1:, 0] += lesion.flatten(1).float() * 2
        activations.append(a)
    conditional = torch.randn((n, config.projection_dim), generator=generator)
    targets = (lesion.float().repeat_interleave(352 // grid, 1).repeat_interleave(352 // grid, 2)
               * 255).to(torch.uint8)
    sizes = sizes or [(40 + 3 * i, 50 + 2 * i) for i in range(n)]
    samples = [SegSample(f"IMG_ENC{i:05d}_00001", Path(f"IMG_ENC{i:05d}_00001.jpg"), f"ENC{i:05d}", {})
               for i in range(n)]
    masks = None
    if with_masks:
        masks = []
        for i, (h, w) in enumerate(sizes):
            up = torch.nn.functional.interpolate(lesion[i][None, None].float(), size=(h, w))[0, 0]
            masks.append({"ann0": up.numpy().astype(np.uint8),
                          "ann1": np.roll(up.numpy().astype(np.uint8), 1, axis=0)})
    return SplitFeatures(samples, sizes, activations, conditional, targets, masks)
