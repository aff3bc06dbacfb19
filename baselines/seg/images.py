"""Decode each photo once, at reduced size where JPEG allows, resized to the model's input.

Decoding 1536x2048 JPEGs is what bounds the paper's loop. Here each photo is decoded once per
run, JPEGs through libjpeg's DCT scaling (``Image.draft``: 1/2, 1/4 or 1/8 of the size while still
covering the target), then resized like the model's processor (352x352, its resampling filter),
on a thread pool (PIL releases the GIL while decoding and resizing). Normalisation happens on
the device, from the uint8 cache.

The image's stored orientation is kept (no EXIF rotation): the organisers' masks have the
stored height and width.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from magic_submit.masks import open_image


@dataclass(frozen=True)
class Preprocessing:
    """What the processor does to an image: size, resampling filter, rescale and normalisation."""

    height: int
    width: int
    resample: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rescale: float = 1 / 255

    @classmethod
    def from_processor(cls, processor: Any) -> "Preprocessing":
        """Read the settings of a ``CLIPSegProcessor`` (or its image processor)."""
        image = getattr(processor, "image_processor", processor)
        size = image.size
        height, width = (size["height"], size["width"]) if "height" in size else (
            size["shortest_edge"], size["shortest_edge"])
        mean = image.image_mean if image.do_normalize else (0.0, 0.0, 0.0)
        std = image.image_std if image.do_normalize else (1.0, 1.0, 1.0)
        rescale = image.rescale_factor if image.do_rescale else 1.0
        resample = int(getattr(image.resample, "value", image.resample))
        return cls(int(height), int(width), resample, tuple(mean), tuple(std), float(rescale))

    def normalize(self, pixels: Any) -> Any:
        """uint8 ``[n, 3, h, w]`` tensor -> float32 model input on the same device."""
        import torch

        mean = torch.tensor(self.mean, device=pixels.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=pixels.device).view(1, 3, 1, 1)
        return (pixels.float() * self.rescale - mean) / std


def decode_resized(path: str | Path, prep: Preprocessing) -> tuple[np.ndarray, tuple[int, int]]:
    """(``[h, w, 3]`` uint8 image at the model's size, (height, width) of the stored image)."""
    with open_image(path) as image:  # a missing or damaged photo: MagicError naming the file
        original = (image.height, image.width)
        if image.format == "JPEG":  # DCT scaling: decode at 1/2..1/8 while >= the target
            image.draft("RGB", (prep.width, prep.height))
        rgb = image.convert("RGB")
    resized = rgb.resize((prep.width, prep.height), resample=prep.resample)
    return np.asarray(resized, dtype=np.uint8), original


def default_workers() -> int:
    """Decoding threads: every core this process may use, at most 32."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(32, cores))


def decode_many(paths: Sequence[str | Path], prep: Preprocessing, *, workers: int | None = None,
                on_image: Callable[[], None] | None = None) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Decode ``paths`` in parallel: (``[n, 3, h, w]`` uint8 array, stored sizes), in order."""
    pixels = np.empty((len(paths), 3, prep.height, prep.width), dtype=np.uint8)
    sizes: list[tuple[int, int]] = []
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        for index, (image, size) in enumerate(pool.map(lambda p: decode_resized(p, prep), paths)):
            pixels[index] = image.transpose(2, 0, 1)
            sizes.append(size)
            if on_image is not None:
                on_image()
    return pixels, sizes


def resize_target(mask: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """A boolean mask at the model's size as uint8 coverage 0..255 (soft labels at the borders).

    PIL's bilinear filter widens with the scale when shrinking, so each value is close to the
    fraction of the output pixel covered by the mask.
    """
    from PIL import Image

    image = Image.fromarray(np.asarray(mask, dtype=bool).astype(np.uint8) * 255)
    return np.array(image.resize((prep.width, prep.height), resample=Image.Resampling.BILINEAR),
                    dtype=np.uint8)
