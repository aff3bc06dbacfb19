"""Decode each photo once, at reduced size where JPEG allows, resized to the model's input.

Decoding 1536x2048 JPEGs is what bounds the paper's loop. Here each photo is decoded once per
run by the one photo reader (:func:`magic_submit.photos.read_photo`: any mode as 8-bit RGB,
JPEGs through libjpeg's DCT scaling), then resized like the model's processor (352x352, its
resampling filter), on the decode pool (:func:`magic_submit.photos.decode_pool`; PIL releases
the GIL while decoding and resizing). Normalisation happens on the device, from the uint8 cache.

The stored pixel grid is kept (no EXIF rotation): the organisers' masks have the stored height
and width.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from magic_submit.photos import decode_pool, read_photo


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


def decode_resized(path: str | Path, prep: Preprocessing, *,
                   upright: bool = False) -> tuple[np.ndarray, tuple[int, int]]:
    """(``[h, w, 3]`` uint8 image at the model's size, (height, width) of the stored image).

    ``upright``: the photo as a viewer shows it (EXIF orientation applied), for the CVQA image
    encoder; segmentation keeps the stored grid.
    """
    photo = read_photo(path, at_least=(prep.width, prep.height), upright=upright)
    resized = photo.image.resize((prep.width, prep.height), resample=prep.resample)
    return np.asarray(resized, dtype=np.uint8), photo.stored_size


def decoded_batches(paths: Sequence[str | Path], prep: Preprocessing, batch_size: int, *,
                    upright: bool = False, workers: int | None = None,
                    ) -> Iterator[tuple[np.ndarray, list[tuple[int, int]]]]:
    """(``[b, 3, h, w]`` uint8 pixels, stored sizes) per batch of ``paths``, in order, decoded
    up to two batches ahead on the decode pool (memory stays flat over any number of photos)."""
    decoded = decode_pool(lambda path: decode_resized(path, prep, upright=upright), paths,
                          workers=workers, ahead=2 * batch_size)
    batch: list[tuple[np.ndarray, tuple[int, int]]] = []
    for item in decoded:
        batch.append(item)
        if len(batch) == batch_size:
            yield _stacked(batch)
            batch = []
    if batch:
        yield _stacked(batch)


def _stacked(batch: list[tuple[np.ndarray, tuple[int, int]]]
             ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    return np.stack([image.transpose(2, 0, 1) for image, _ in batch]), [s for _, s in batch]


def resize_target(mask: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """A boolean mask at the model's size as uint8 coverage 0..255 (soft labels at the borders).

    PIL's bilinear filter widens with the scale when shrinking, so each value is close to the
    fraction of the output pixel covered by the mask.
    """
    from PIL import Image

    image = Image.fromarray(np.asarray(mask, dtype=bool).astype(np.uint8) * 255)
    return np.array(image.resize((prep.width, prep.height), resample=Image.Resampling.BILINEAR),
                    dtype=np.uint8)
