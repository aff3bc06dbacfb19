"""The one photo reader: any file a phone or a clinic gives, as the 8-bit RGB picture it shows.

Every path that reads photo pixels (segmentation training and prediction, the CVQA methods, the
report's overlays, the baselines' preflight) goes through :func:`read_photo`; the validator's
size check reads headers through :func:`photo_header`. What a photo becomes:

* 8-bit grey and colour as they are; 16-bit grey (PIL's ``I;16`` modes, which ``convert("RGB")``
  would clip to white) and 32-bit integer grey scaled down by their bit depth (``>> 8`` for 16
  bits); 16-bit colour PNG and TIFF are already reduced to their high byte by PIL's decoder;
* transparency (RGBA, LA, PA, La, RGBa, a palette's or a colour's ``transparency``) composited on
  white; CMYK, YCbCr, palette and bilevel images converted; floating-point pixels refused (no
  scale is standard);
* a multi-frame file (GIF, APNG, multi-page TIFF, MPO) gives its first frame;
* the grid: **segmentation works in the stored pixel grid** (the grid of the mask files, no EXIF
  rotation: ``upright=False``); a vision model gets the photo **upright** (``upright=True``,
  :func:`PIL.ImageOps.exif_transpose`).

JPEGs (MPO included) that the caller will shrink are decoded at a reduced scale by libjpeg's DCT
scaling (``Image.draft``: 1/2..1/8 while still covering the target), the common path's speed.
Photos are decoded on :func:`decode_pool`, the one thread pool for photos (PIL releases the GIL).

>>> photo = read_photo("sample_data/images_test/IMG_ENC00908_00001.jpg")
>>> photo.image.mode, photo.stored_size == photo.image.size[::-1], photo.orientation
('RGB', True, 1)
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from magic_submit.errors import MagicError
from magic_submit.files import MISSING, NotRegularFileError, describe, open_regular

if TYPE_CHECKING:
    from PIL import Image

ORIENTATION_TAG = 0x0112  # EXIF Orientation: 1 as stored, 2-8 a flip and/or a rotation
SWAPPED_ORIENTATIONS = frozenset({5, 6, 7, 8})  # shown with height and width exchanged
# How a viewer (and ImageOps.exif_transpose) turns the stored grid, per orientation.
ORIENTATION_VIEW = {2: "mirrored left-right", 3: "turned 180 degrees", 4: "mirrored top-bottom",
                    5: "transposed (mirrored and turned 90 degrees)", 6: "turned 90 degrees "
                    "clockwise", 7: "transversed (mirrored and turned 90 degrees)",
                    8: "turned 90 degrees counter-clockwise"}
# numpy that takes a mask drawn on the upright view back to the stored grid (tested against
# ImageOps.exif_transpose), for the orientations that exchange height and width.
BACK_TO_STORED = {5: "mask.T", 6: "np.rot90(mask, 1)", 7: "np.rot90(mask, 2).T",
                  8: "np.rot90(mask, -1)"}
WHITE = (255, 255, 255)
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
READ_HINT = "replace the file with a readable copy of the photo (JPEG or PNG)"

Item = TypeVar("Item")
Result = TypeVar("Result")

# What PIL raises for a damaged or hostile file, at open or while decoding.
_IMAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, SyntaxError, EOFError,
                                                  struct.error, zlib.error)


class Photo(NamedTuple):
    """A photo as read: the 8-bit RGB image, its stored (height, width), its EXIF orientation."""

    image: Image.Image
    stored_size: tuple[int, int]
    orientation: int


@contextmanager
def open_image(path: str | Path) -> Iterator[Image.Image]:
    """A photo opened with PIL (lazily: ``.size`` reads only the header), closed afterwards.

    A missing file is a :class:`MagicError` with code ``image-missing``; a file PIL cannot open,
    or whose pixels fail to decode inside the ``with`` block (truncated, corrupt), one with code
    ``image-unreadable``. Both name the file. Only decoding is relabelled: an error raised by the
    caller's own code inside the block passes unchanged. A FIFO or a device is refused unopened.

    >>> with open_image("sample_data/images_test/IMG_ENC00908_00001.jpg") as photo:
    ...     photo.format
    'JPEG'
    """
    from PIL import Image

    path = Path(path)
    try:
        handle = open_regular(path)
    except NotRegularFileError as exc:
        code = "image-missing" if exc.kind == MISSING else "image-unreadable"
        message = "image not found" if exc.kind == MISSING else f"is {describe(exc.kind)}, not an image"
        raise MagicError(message, file=path, code=code) from None
    except OSError as exc:
        raise MagicError(f"cannot be opened ({exc.strerror or exc})", file=path,
                         code="image-unreadable") from None
    with handle:
        try:
            image = Image.open(handle)
        except Exception as exc:  # noqa: BLE001 - PIL raises many types for what it cannot identify
            raise MagicError(f"cannot read the image ({type(exc).__name__}: {exc})", file=path,
                             code="image-unreadable", hint=READ_HINT) from None
        with image:
            image.load = _named_decoding(image.load, path)  # type: ignore[method-assign]
            yield image


def _named_decoding(load: Callable[[], object], path: Path) -> Callable[[], object]:
    """``image.load`` whose decoding failures are a :class:`MagicError` naming ``path``.

    PIL decodes pixels only in ``load()`` (``convert``, ``resize``, ``np.asarray`` call it), so
    this catches decoding failures and nothing else.
    """
    def load_named() -> object:
        try:
            return load()
        except _IMAGE_ERRORS as exc:
            raise MagicError(f"cannot decode the image ({type(exc).__name__}: {exc})", file=path,
                             code="image-unreadable", hint=READ_HINT) from None

    return load_named


def exif_orientation(image: Image.Image, path: str | Path) -> int:
    """The EXIF orientation (1-8) of an open photo; 1 when it has none or an invalid value.

    An EXIF block PIL cannot parse is a :class:`MagicError`: which way is up cannot be told.
    """
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception as exc:  # noqa: BLE001 - a damaged EXIF block fails in many ways
        raise MagicError(f"unreadable EXIF block ({type(exc).__name__}: {exc}): its orientation "
                         "cannot be told", file=path, code="image-unreadable",
                         hint=READ_HINT) from None
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def orientation_note(orientation: int) -> str:
    """A phrase for messages: what a viewer does to a photo of this EXIF orientation.

    >>> orientation_note(6)
    'EXIF orientation 6: viewers show it turned 90 degrees clockwise'
    """
    return f"EXIF orientation {orientation}: viewers show it {ORIENTATION_VIEW[orientation]}"


def photo_header(path: str | Path) -> tuple[tuple[int, int], int]:
    """(stored (height, width), EXIF orientation) from the header only, no pixel decoded."""
    with open_image(path) as image:
        return (image.height, image.width), exif_orientation(image, path)


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of a photo as stored (the grid of its masks), from its header only."""
    with open_image(path) as image:
        width, height = image.size
    return height, width


def upright_size(stored: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(height, width) as a viewer shows the photo.

    >>> upright_size((1536, 2048), 6)
    (2048, 1536)
    """
    return (stored[1], stored[0]) if orientation in SWAPPED_ORIENTATIONS else stored


def read_photo(path: str | Path, *, at_least: tuple[int, int] | None = None,
               upright: bool = False) -> Photo:
    """The photo as 8-bit RGB (see the module doc), fully decoded; any failure a
    :class:`MagicError` naming the file.

    ``at_least``: (width, height) the caller will resize to, in the returned image's
    orientation; a JPEG is then decoded at the smallest DCT scale that still covers it.
    ``upright``: apply the EXIF orientation (vision models); else the stored grid.
    """
    from PIL import ImageOps
    from PIL.JpegImagePlugin import JpegImageFile

    with open_image(path) as image:
        stored = (image.height, image.width)
        orientation = exif_orientation(image, path) if upright else 1
        if at_least is not None and isinstance(image, JpegImageFile):  # MPO is a JPEG too
            width, height = at_least
            swap = orientation in SWAPPED_ORIENTATIONS
            image.draft("RGB", (height, width) if swap else (width, height))
        bits = sample_bits(image)  # read from the file's own header, before any transpose
        source = ImageOps.exif_transpose(image) if orientation != 1 else image
        rgb = to_rgb(source, path, bits)
    return Photo(rgb, stored, orientation)


def to_rgb(image: Image.Image, path: str | Path, bits: int | None = None) -> Image.Image:
    """An image as a new 8-bit RGB image (see the module doc for each mode); ``bits``: the
    bit depth of an integer grey image (:func:`sample_bits` of the file by default)."""
    from PIL import Image

    mode = image.mode
    if mode == "F":
        raise MagicError("floating-point pixels (mode F): no standard scale to the 8-bit photo",
                         file=path, code="image-unreadable",
                         hint="save the photo as an 8- or 16-bit PNG, or a JPEG")
    if mode == "I" or mode.startswith("I;16"):
        return _deep_grey(image, bits or sample_bits(image)).convert("RGB")
    transparent = mode in ALPHA_MODES or "transparency" in image.info
    try:
        if not transparent:
            return image.convert("RGB")
        rgba = image.convert("RGBA")
    except ValueError as exc:  # a mode PIL cannot convert (e.g. LAB without a colour profile)
        raise MagicError(f"pixel mode {mode} cannot be converted to RGB ({exc})", file=path,
                         code="image-unreadable", hint="save the photo as an RGB JPEG or PNG"
                         ) from None
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (*WHITE, 255)), rgba).convert("RGB")


def _deep_grey(image: Image.Image, bits: int) -> Image.Image:
    """A 16- or 32-bit integer grey image as 8-bit grey (``L``): scaled by its bit depth, a
    transparent grey value on white."""
    import numpy as np
    from PIL import Image

    values = np.asarray(image).astype(np.int64)
    grey = np.clip(values >> (bits - 8), 0, 255).astype(np.uint8)
    transparency = image.info.get("transparency")
    if isinstance(transparency, int):
        grey[values == transparency] = WHITE[0]
    return Image.fromarray(grey, mode="L")


def sample_bits(image: Image.Image) -> int:
    """Bits per sample of an integer grey image: 16 for PIL's ``I;16`` modes and for a PNG
    (PIL opens 16-bit grey PNGs as ``I`` or ``I;16``), what a TIFF declares, else 32."""
    if image.mode.startswith("I;16") or image.format == "PNG":
        return 16
    tags = getattr(image, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None
    bits = bits[0] if isinstance(bits, tuple) else bits
    return int(bits) if isinstance(bits, int) and 8 < bits <= 32 else 32


def default_workers() -> int:
    """Threads of the pools: every core this process may use, at most 32."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(32, cores))


def decode_pool(function: Callable[[Item], Result], items: Iterable[Item], *,
                workers: int | None = None, ahead: int | None = None) -> Iterator[Result]:
    """``function(item)`` for every item, on ``workers`` threads, yielded in order, with at most
    ``ahead`` items (default 4 per thread) in flight: memory stays flat over any number.

    The one pool that decodes photos. Leaving the loop early cancels what has not started.
    """
    workers = workers or default_workers()
    limit = max(1, ahead or 4 * workers)
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque[Future] = deque()
    try:
        for item in source:
            pending.append(pool.submit(function, item))
            if len(pending) >= limit:
                break
        while pending:
            result = pending.popleft().result()
            following = next(source, _END)
            if following is not _END:
                pending.append(pool.submit(function, following))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END = object()


def check_photos(paths: Sequence[str | Path], *, upright: bool = False,
                 workers: int | None = None) -> int:
    """Open and decode every photo of ``paths`` (each once, on the decode pool) as the run will
    read it: the preflight before any training or request. Returns the number checked.

    JPEGs are decoded at the smallest DCT scale, which still reads every compressed byte, so a
    truncated or corrupt file fails here. Every photo that fails is named, with its reason, in
    one :class:`MagicError` (whose file is the first of them).
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))

    def check(path: Path) -> MagicError | None:
        try:
            read_photo(path, at_least=(1, 1), upright=upright)
        except MagicError as exc:
            return exc
        return None

    failed = [error for error in decode_pool(check, unique, workers=workers) if error is not None]
    if failed:
        raise MagicError(f"{len(failed)} of {len(unique)} photos cannot be read",
                         file=failed[0].file, code="image-unreadable",
                         ids=[f"{Path(e.file or '').name} ({e.message})" for e in failed],
                         hint=f"{READ_HINT}; nothing was trained or sent yet")
    return len(unique)
