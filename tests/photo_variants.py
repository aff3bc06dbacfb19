"""One picture written in every mode a photo comes in, and the 8-bit picture each must read as.

:func:`write_variants` takes an 8-bit RGB picture of at most 255 colours whose ``TRANSPARENT``
box is white, and writes it as 16-bit PNG and TIFF, RGBA/LA/P with that box transparent (and
black underneath), palette, CMYK, multi-frame GIF, TIFF, APNG and MPO, and EXIF-rotated JPEG and
PNG; also its grey version in 8 and 16 bits. Each variant says which reference it must read as.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ORIENTATION = 0x0112


@dataclass(frozen=True)
class Variant:
    path: Path
    reference: str  # "rgb" (the RGB picture), "grey" (its grey version), "rgb.jpg" (its JPEG)
    exact: bool  # equal to the reference, else within JPEG error
    orientation: int = 1


def transparent_box(height: int, width: int) -> tuple[slice, slice]:
    """The region the transparent variants make transparent (white in the picture)."""
    return slice(height // 5, height // 2), slice(width // 6, width // 2)


def picture(source: np.ndarray) -> np.ndarray:
    """An 8-bit RGB picture of at most 255 colours with a white transparent box, from any
    RGB array (a photo)."""
    quantized = Image.fromarray(source).quantize(colors=250, dither=Image.Dither.NONE)
    rgb = np.array(quantized.convert("RGB"))
    rgb[transparent_box(*rgb.shape[:2])] = 255
    return rgb


def write_png16(path: Path, array: np.ndarray) -> None:
    """A 16-bit PNG (grey, grey+alpha, RGB or RGBA by the channel count) written by hand: PIL
    writes none of them."""
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif


def write_variants(rgb: np.ndarray, folder: Path) -> dict[str, Variant]:
    """Every variant of ``rgb`` (see the module doc) in ``folder``, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = rgb.shape[:2]
    box = transparent_box(height, width)
    grey = np.array(Image.fromarray(rgb).convert("L"))
    alpha = np.full((height, width), 255, np.uint8)
    alpha[box] = 0
    hidden = rgb.copy()
    hidden[box] = 0  # black under the transparent box: a plain convert would show it
    hidden_grey = grey.copy()
    hidden_grey[box] = 0
    out: dict[str, Variant] = {}

    def add(name: str, reference: str, exact: bool = True, orientation: int = 1) -> Path:
        out[name] = Variant(folder / name, reference, exact, orientation)
        return folder / name

    Image.fromarray(rgb).save(add("rgb8.png", "rgb"))
    Image.fromarray(grey).save(add("grey8.png", "grey"))
    write_png16(add("rgb16.png", "rgb"), rgb.astype(np.uint16) * 257)
    write_png16(add("rgba16.png", "rgb"), np.dstack([hidden, alpha]).astype(np.uint16) * 257)
    write_png16(add("grey16.png", "grey"), grey.astype(np.uint16) * 257)
    tifffile.imwrite(add("rgb16.tiff", "rgb"), rgb.astype(np.uint16) * 257, photometric="rgb")
    tifffile.imwrite(add("grey16.tiff", "grey"), grey.astype(np.uint16) * 257)
    Image.fromarray(np.dstack([hidden, alpha])).save(add("rgba.png", "rgb"))
    Image.fromarray(np.dstack([hidden_grey, alpha])).save(add("la.png", "grey"))
    palette = Image.fromarray(rgb).quantize(colors=255, dither=Image.Dither.NONE)
    palette.save(add("palette.png", "rgb"))
    colours = (palette.getpalette() or [])[: 3 * 255]
    indices = np.array(palette).astype(np.uint16) + 1  # index 0: black, the transparent entry
    indices[box] = 0
    clear = Image.fromarray(indices.astype(np.uint8), mode="P")
    clear.putpalette([0, 0, 0] + colours)
    clear.save(add("palette-transparent.png", "rgb"), transparency=0)
    inverted = Image.fromarray(255 - rgb)
    Image.fromarray(rgb).convert("CMYK").save(add("cmyk.tiff", "rgb"))
    palette.save(add("frames.gif", "rgb"), save_all=True,
                 append_images=[inverted.quantize(colors=255, dither=Image.Dither.NONE)])
    Image.fromarray(rgb).save(add("frames.tiff", "rgb"), save_all=True, append_images=[inverted])
    Image.fromarray(rgb).save(add("frames-apng.png", "rgb"), save_all=True,
                              append_images=[inverted])
    Image.fromarray(rgb).save(add("rgb.jpg", "rgb", exact=False), quality=95)
    Image.fromarray(rgb).convert("CMYK").save(add("cmyk.jpg", "rgb", exact=False), quality=95)
    Image.fromarray(rgb).save(add("frames.mpo", "rgb", exact=False), format="MPO",
                              save_all=True, append_images=[inverted], quality=95)
    # The same stored pixels, tagged "turn 90 degrees clockwise" (6) and "transpose" (5): the
    # stored grid reads as the untagged file, the upright view turned.
    Image.fromarray(rgb).save(add("exif6.jpg", "rgb.jpg", orientation=6), quality=95,
                              exif=_exif(6))
    Image.fromarray(rgb).save(add("exif6.png", "rgb", orientation=6), exif=_exif(6))
    Image.fromarray(rgb).save(add("exif5.png", "rgb", orientation=5), exif=_exif(5))
    Image.fromarray(grey.astype(np.uint16) * 257).save(add("grey16-exif6.png", "grey",
                                                           orientation=6), exif=_exif(6))
    return out


def reference(variant: Variant, references: dict[str, np.ndarray]) -> np.ndarray:
    """What ``variant`` must read as in the stored grid (``references``: "rgb", "grey" and
    "rgb.jpg" as read)."""
    return references[variant.reference]


def upright(array: np.ndarray, orientation: int) -> np.ndarray:
    """The upright view of a stored array, by numpy (PIL's exif_transpose, rewritten here)."""
    turned = {1: array, 5: np.swapaxes(array, 0, 1), 6: np.rot90(array, -1),
              8: np.rot90(array, 1), 3: np.rot90(array, 2)}
    return turned[orientation]
