"""Mask file I/O: read a TIFF as the scorer does, write a correct one.

Every mask the toolkit reads goes through here, so each failure (missing, corrupt, a header
claiming billions of pixels) is one :class:`~magic_submit.errors.MagicError` that names the file.
Photos are read by :mod:`magic_submit.photos` (``open_image`` and ``image_size`` are re-exported
here for the callers that read masks and photos together).

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile

from magic_submit.errors import MagicError
from magic_submit.files import MISSING, NotRegularFileError, describe, official_effect, open_regular
from magic_submit.photos import image_size, open_image  # noqa: F401 - re-exported

# tifffile logs a warning for every odd file; the caller reports problems itself.
logging.getLogger("tifffile").setLevel(logging.ERROR)

# A mask whose pixels would decode to more than this many bytes is refused before decoding: a
# TIFF header can claim any size and dtype (a 2 MB compressed file may hold a 2 GB float64 array),
# and no mask of the challenge comes near it (the largest photos are ~12 megapixels: 12 MB as
# uint8, 96 MB even as float64).
MAX_MASK_BYTES = 1 << 28
TIFF_HINT = "write the mask with tifffile.imwrite(path, mask.astype('uint8'))"


class MaskFileError(MagicError):
    """A mask file that cannot be read (codes ``mask-missing``, ``mask-unreadable``,
    ``mask-not-a-file``, ``mask-too-large``)."""


def _unreadable(path: Path, exc: Exception) -> MaskFileError:
    size = path.stat().st_size if path.exists() else 0
    detail = "the file is empty" if size == 0 else f"{type(exc).__name__}: {exc}"
    return MaskFileError(f"not a readable TIFF ({detail})", file=path, code="mask-unreadable",
                         hint=TIFF_HINT)


def _not_a_file(path: Path, kind: str) -> MaskFileError:
    if kind == MISSING:
        return MaskFileError("mask file not found", file=path, code="mask-missing")
    return MaskFileError(f"is {describe(kind)}, not a TIFF file: not opened; {official_effect(kind)}",
                         file=path, code="mask-not-a-file",
                         hint="put a regular TIFF file under this name")


class MaskFile:
    """An open mask TIFF: its header (``shape``, ``dtype``, ``nbytes``) checked, pixels not yet read.

    ``shape`` is what :meth:`read` returns, as ``tifffile.imread`` (the official reader) would:
    the first series, every page of it.
    """

    def __init__(self, tif: tifffile.TiffFile, path: Path) -> None:
        self._tif = tif
        self.path = path
        if not tif.pages or not tif.series:  # no page: asarray() gives an empty array
            self.shape: tuple[int, ...] = (0,)
            self.dtype = np.dtype(np.uint8)
        else:
            series = tif.series[0]
            self.shape = tuple(int(side) for side in series.shape)
            self.dtype = np.dtype(series.dtype)
        self.nbytes = math.prod(self.shape) * self.dtype.itemsize
        if self.nbytes > MAX_MASK_BYTES:
            dims = "x".join(map(str, self.shape))
            raise MaskFileError(f"the header declares {dims} {self.dtype} pixels "
                                f"({math.prod(self.shape)} pixels, {self.nbytes} bytes), more "
                                "than any mask needs: not decoded", file=path,
                                code="mask-too-large",
                                hint="write the mask as 2-D uint8 at its image's height x width")

    @property
    def pixels(self) -> int:
        return math.prod(self.shape)

    def read(self) -> np.ndarray:
        """The decoded array, exactly what ``tifffile.imread`` returns (no cast)."""
        try:
            return self._tif.asarray()
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - a corrupt strip fails only while decoding
            raise _unreadable(self.path, exc) from None


@contextmanager
def open_mask(path: str | Path) -> Iterator[MaskFile]:
    """An open mask whose header has been checked (:class:`MaskFile`); every failure to open it,
    to parse its header or (in :meth:`MaskFile.read`) to decode it is a :class:`MaskFileError`
    naming the file. Errors raised by the caller's own code inside the block pass unchanged.

    Only a regular file is opened (a FIFO or a device is refused unopened, see
    :mod:`magic_submit.files`).
    """
    path = Path(path)
    try:
        handle = open_regular(path)
    except NotRegularFileError as exc:
        raise _not_a_file(path, exc.kind) from None
    except OSError as exc:
        raise MaskFileError(f"cannot be opened ({exc.strerror or exc})", file=path,
                            code="mask-unreadable") from None
    with handle:
        try:
            tif = tifffile.TiffFile(handle, name=path.name)
        except Exception as exc:  # noqa: BLE001 - tifffile raises many types for corrupt input
            raise _unreadable(path, exc) from None
        with tif:
            try:
                mask = MaskFile(tif, path)  # parsing pages and series may fail on corrupt tags
            except MaskFileError:
                raise
            except Exception as exc:  # noqa: BLE001 - even ZeroDivisionError, for a zero tag
                raise _unreadable(path, exc) from None
            yield mask


def read_mask(path: str | Path) -> np.ndarray:
    """The array ``tifffile.imread`` gives (the official reader), or :class:`MaskFileError`.

    The file is opened once: its header is checked (:data:`MAX_MASK_BYTES`), then the same
    handle decodes it with ``TiffFile.asarray()``, which is what ``imread`` calls (first series,
    every page of it). No cast happens here: :func:`evaluation.segmentation.foreground` applies
    the official one.
    """
    with open_mask(path) as mask:
        return mask.read()


def mask_shape(path: str | Path) -> tuple[int, ...]:
    """The shape :func:`read_mask` would return, from the TIFF header only (no pixel decoded)."""
    with open_mask(path) as mask:
        return mask.shape


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
