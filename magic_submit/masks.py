"""Mask and image file I/O: read a TIFF as the scorer does, write a correct one, open photos.

Every mask and photo the toolkit reads goes through here, so each failure (missing, corrupt, a
header claiming billions of pixels) is one :class:`~magic_submit.errors.MagicError` that names the
file.

>>> import tempfile, numpy as np
>>> folder = Path(tempfile.mkdtemp())
>>> write_mask(folder / "m.tiff", np.eye(3, 4, dtype=bool))
>>> read_mask(folder / "m.tiff").tolist()
[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
>>> mask_shape(folder / "m.tiff")
(3, 4)
"""

from __future__ import annotations

import logging
import math
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tifffile

from magic_submit.errors import MagicError

if TYPE_CHECKING:
    from PIL import Image

# tifffile logs a warning for every odd file; the caller reports problems itself.
logging.getLogger("tifffile").setLevel(logging.ERROR)

# A mask bigger than this (pixels) is refused before decoding: a TIFF header can claim any size,
# and no photo of the challenge comes near it (the largest are ~12 megapixels).
MAX_MASK_PIXELS = 1 << 28
TIFF_HINT = "write the mask with tifffile.imwrite(path, mask.astype('uint8'))"


class MaskFileError(MagicError):
    """A mask file that cannot be read (codes ``mask-missing``, ``mask-unreadable``,
    ``mask-too-large``)."""


def _unreadable(path: Path, exc: Exception) -> MaskFileError:
    size = path.stat().st_size if path.exists() else 0
    detail = "the file is empty" if size == 0 else f"{type(exc).__name__}: {exc}"
    return MaskFileError(f"not a readable TIFF ({detail})", file=path, code="mask-unreadable",
                         hint=TIFF_HINT)


def _check_header(tif: tifffile.TiffFile, path: Path) -> tuple[int, ...]:
    """The first series' shape (what ``asarray()`` returns), refused when absurdly large."""
    if not tif.pages or not tif.series:  # no page: asarray() gives an empty array
        return (0,)
    shape = tuple(int(side) for side in tif.series[0].shape)
    pixels = math.prod(shape)
    if pixels > MAX_MASK_PIXELS:
        dims = "x".join(map(str, shape))
        raise MaskFileError(f"the header claims {pixels} pixels ({dims}), more than any photo: "
                            "not decoded", file=path, code="mask-too-large",
                            hint="write the mask at its image's height x width")
    return shape


@contextmanager
def _open_tiff(path: Path) -> Iterator[tifffile.TiffFile]:
    """An open TIFF; every failure while opening or decoding becomes a :class:`MaskFileError`."""
    try:
        with tifffile.TiffFile(path) as tif:
            yield tif
    except MaskFileError:
        raise
    except FileNotFoundError:
        raise MaskFileError("mask file not found", file=path, code="mask-missing") from None
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types for corrupt input
        raise _unreadable(path, exc) from None


def read_mask(path: str | Path) -> np.ndarray:
    """The array ``tifffile.imread`` gives (the official reader), or :class:`MaskFileError`.

    The file is opened once: its header is checked (:data:`MAX_MASK_PIXELS`), then the same
    handle decodes it with ``TiffFile.asarray()``, which is what ``imread`` calls (first series,
    every page of it). No cast happens here: :func:`evaluation.segmentation.foreground` applies
    the official one.
    """
    path = Path(path)
    with _open_tiff(path) as tif:
        _check_header(tif, path)
        return tif.asarray()


def mask_shape(path: str | Path) -> tuple[int, ...]:
    """The shape :func:`read_mask` would return, from the TIFF header only (no pixel decoded)."""
    path = Path(path)
    with _open_tiff(path) as tif:
        return _check_header(tif, path)


def write_mask(path: str | Path, mask: np.ndarray, *, compression: str | None = "zlib") -> None:
    """Write a 2-D 0/1 uint8 TIFF; ``mask`` is bool, or holds only the values 0 and 1.

    Anything else (probabilities, 0/255, NaN) raises ValueError: a cast would silently turn a
    probability mask into an empty one. Threshold it first.
    """
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {array.shape}")
    if array.dtype == np.bool_:
        binary = array.view(np.uint8)
    else:
        # uint8 has no negative value, so its max decides; other dtypes are compared value by value.
        exact = (array.max() <= 1 if array.dtype == np.uint8 else
                 bool(np.logical_or(array == 0, array == 1).all())) if array.size else True
        if not exact:
            raise ValueError("mask values must be exactly 0 or 1 (threshold probabilities, map "
                             "255 to 1 first)")
        binary = array.astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, binary, compression=compression, photometric="minisblack")


# What PIL raises for a damaged or hostile file, at open or while decoding.
_IMAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, SyntaxError, EOFError,
                                                  struct.error, zlib.error)


@contextmanager
def open_image(path: str | Path) -> Iterator[Image.Image]:
    """A photo opened with PIL (lazily: ``.size`` reads only the header), closed afterwards.

    A missing file is a :class:`MagicError` with code ``image-missing``; a file PIL cannot open,
    or fails to decode inside the ``with`` block (truncated, corrupt, a decompression bomb), one
    with code ``image-unreadable``. Both name the file.

    >>> with open_image("sample_data/images_test/IMG_ENC00908_00001.jpg") as photo:
    ...     photo.format
    'JPEG'
    """
    from PIL import Image

    errors = (*_IMAGE_ERRORS, Image.DecompressionBombError)
    try:
        image = Image.open(path)
    except FileNotFoundError:
        raise MagicError("image not found", file=path, code="image-missing") from None
    except IsADirectoryError:
        raise MagicError("is a folder, not an image", file=path, code="image-unreadable") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for what it cannot identify
        raise MagicError(f"cannot read the image ({type(exc).__name__}: {exc})", file=path,
                         code="image-unreadable") from None
    try:
        with image:
            yield image
    except errors as exc:
        raise MagicError(f"cannot decode the image ({type(exc).__name__}: {exc})", file=path,
                         code="image-unreadable") from None


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image from its header, without decoding the pixels."""
    with open_image(path) as image:
        width, height = image.size
    return height, width
