"""Photos as a vision-language model gets them: RGB, the longer side at most ``size`` pixels.

JPEGs are decoded at a reduced scale where libjpeg allows (``Image.draft``), then resized with
a bicubic filter keeping the aspect ratio; a missing or damaged photo is a :class:`MagicError`
naming the file (:func:`magic_submit.masks.open_image`). The stored orientation is kept.

>>> sent_size((1536, 2048), 768)
(576, 768)
>>> sent_size((300, 200), 768)
(300, 200)
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from magic_submit.masks import image_size, open_image

JPEG_QUALITY = 90


def sent_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """(width, height) after downscaling so that the longer side is at most ``longest``."""
    width, height = size
    scale = min(1.0, longest / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def stored_size(path: Path) -> tuple[int, int]:
    """(width, height) of a photo, read from its header only."""
    height, width = image_size(path)
    return width, height


def load_photo(path: Path, longest: int) -> Any:
    """The photo as an RGB PIL image, the longer side at most ``longest``."""
    from PIL import Image

    with open_image(path) as image:
        target = sent_size(image.size, longest)
        if image.format == "JPEG":
            image.draft("RGB", target)  # decode at 1/2..1/8 scale while still >= the target
        rgb = image.convert("RGB")
    return rgb if rgb.size == target else rgb.resize(target, Image.Resampling.BICUBIC)


def load_photos(paths: Sequence[Path], longest: int) -> list[Any]:
    return [load_photo(p, longest) for p in paths]


def data_url(image: Any) -> str:
    """A ``data:image/jpeg;base64,...`` URL of a PIL image (as OpenAI-compatible APIs take)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
