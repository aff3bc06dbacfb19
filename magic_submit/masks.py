"""Mask and image file I/O: read a TIFF as the scorer does, write a correct one, read image sizes.

>>> import tempfile, numpy as np
>>> folder = Path(tempfile.mkdtemp())
>>> write_mask(folder / "m.tiff", np.eye(3, 4, dtype=bool))
>>> read_mask(folder / "m.tiff").tolist()
[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import tifffile

from magic_submit.errors import MagicError

# tifffile logs a warning for every odd file; the caller reports problems itself.
logging.getLogger("tifffile").setLevel(logging.ERROR)


class MaskFileError(MagicError):
    """A mask file that tifffile cannot read."""


def read_mask(path: str | Path) -> np.ndarray:
    """The array ``tifffile.imread`` gives (the official reader), or :class:`MaskFileError`.

    No cast happens here: :func:`evaluation.segmentation.foreground` applies the official one.
    """
    path = Path(path)
    try:
        return tifffile.imread(path)
    except FileNotFoundError:
        raise MaskFileError("mask file not found", file=path, code="mask-missing") from None
    except Exception as exc:  # tifffile raises many types for corrupt input
        size = path.stat().st_size if path.exists() else 0
        detail = "the file is empty" if size == 0 else f"{type(exc).__name__}: {exc}"
        raise MaskFileError(f"not a readable TIFF ({detail})", file=path, code="mask-unreadable",
                            hint="write the mask with tifffile.imwrite(path, mask.astype('uint8'))"
                            ) from None


def write_mask(path: str | Path, mask: np.ndarray, *, compression: str | None = "zlib") -> None:
    """Write a 2-D 0/1 uint8 TIFF; ``mask`` may be bool or 0/1 of any dtype."""
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {array.shape}")
    binary = (array != 0).astype(np.uint8) if array.dtype == np.bool_ else array.astype(np.uint8)
    if binary.size and binary.max() > 1:
        raise ValueError("mask values must be 0/1 (threshold probabilities first)")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, binary, compression=compression, photometric="minisblack")


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image from its header, without decoding the pixels."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
    except FileNotFoundError:
        raise MagicError("image not found", file=path, code="image-missing") from None
    except Exception as exc:
        raise MagicError(f"cannot read the image header ({exc})", file=path,
                         code="image-unreadable") from None
    return height, width
