"""Photos as a vision-language model gets them: upright RGB, the longer side at most ``size``.

Read by the one photo reader (:func:`magic_submit.photos.read_photo`) with the EXIF orientation
applied, as a person sees the photo (segmentation alone keeps the stored grid): 16-bit photos
scaled, transparency on white, palette, CMYK and grey converted, a multi-frame file's first
frame; JPEGs decoded at a reduced scale where libjpeg allows; then resized with a bicubic filter
keeping the aspect ratio. A missing or damaged photo is a :class:`MagicError` naming the file.

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

from magic_submit.photos import photo_header, read_photo, upright_size

JPEG_QUALITY = 90


def sent_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """(width, height) after downscaling so that the longer side is at most ``longest``."""
    width, height = size
    scale = min(1.0, longest / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def upright_photo_size(path: Path) -> tuple[int, int]:
    """(width, height) of a photo as the model gets it before downscaling: upright (a photo
    whose EXIF orientation turns it by 90 degrees has its stored sides exchanged), from its
    header only."""
    height, width = upright_size(*photo_header(path))
    return width, height


def load_photo(path: Path, longest: int) -> Any:
    """The photo as an upright 8-bit RGB PIL image, the longer side at most ``longest``."""
    from PIL import Image

    height, width = upright_size(*photo_header(path))
    target = sent_size((width, height), longest)
    image = read_photo(path, at_least=target, upright=True).image
    return image if image.size == target else image.resize(target, Image.Resampling.BICUBIC)


def load_photos(paths: Sequence[Path], longest: int) -> list[Any]:
    return [load_photo(p, longest) for p in paths]


def data_url(image: Any) -> str:
    """A ``data:image/jpeg;base64,...`` URL of a PIL image (as OpenAI-compatible APIs take)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
