"""magic_submit.masks: the one mask reader (official semantics, size guard), the writer, photos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from evaluation.errors import REFERENCE_SIDE, ShapeMismatchError
from evaluation.segmentation import majority_vote, score_image
from magic_submit.errors import MagicError
from magic_submit.masks import (
    MAX_MASK_BYTES, MaskFileError, image_size, mask_shape, open_image, read_mask, write_mask,
)


@pytest.mark.parametrize("make", [
    lambda p: tifffile.imwrite(p, np.eye(5, 7, dtype=np.uint8)),
    lambda p: tifffile.imwrite(p, np.ones((3, 4, 5), np.uint16), photometric="minisblack"),
    lambda p: tifffile.imwrite(p, np.zeros((6, 8, 3), np.uint8), photometric="rgb"),
    lambda p: tifffile.imwrite(p, (np.arange(12).reshape(3, 4) > 5).astype(np.float32),
                               compression="zlib"),
    lambda p: [tifffile.imwrite(p, np.ones((2, 3), np.uint8)),  # two series: imread reads the first
               tifffile.imwrite(p, np.zeros((4, 4), np.uint8), append=True)],
], ids=["2-D", "pages", "rgb", "float zlib", "two series"])
def test_read_mask_equals_tifffile_imread(make, tmp_path: Path) -> None:
    path = tmp_path / "m.tiff"
    make(path)
    expected = tifffile.imread(path)
    got = read_mask(path)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert mask_shape(path) == expected.shape


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_size_bomb_header_is_refused_by_its_decoded_bytes(tmp_path: Path, dtype: type) -> None:
    """The guard counts bytes (pixels x dtype size, all pages), so a float64 mask of a quarter
    of the uint8 limit's pixels is refused too, before a byte of it is decoded."""
    path = tmp_path / "big.tiff"
    itemsize = np.dtype(dtype).itemsize
    side = int((MAX_MASK_BYTES / itemsize) ** 0.5) + 1
    with tifffile.TiffWriter(path) as tif:  # header only: the pixels are never written
        tif.write(shape=(side, side), dtype=dtype)
    for read in (read_mask, mask_shape):
        with pytest.raises(MaskFileError) as info:
            read(path)
        assert info.value.code == "mask-too-large" and str(path) in info.value.render()
        assert f"{side * side * itemsize} bytes" in info.value.message


def test_pages_count_toward_the_size_guard(tmp_path: Path) -> None:
    path = tmp_path / "pages.tiff"
    side = int((MAX_MASK_BYTES / 4) ** 0.5) + 1  # one page fits, four pages do not
    with tifffile.TiffWriter(path) as tif:
        tif.write(shape=(4, side, side), dtype=np.uint8, photometric="minisblack")
    with pytest.raises(MaskFileError, match="more than any mask needs"):
        mask_shape(path)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "broken link"])
def test_non_files_are_refused_unopened_with_the_official_outcome(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "m.tiff"
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block: the test would hang
    elif kind == "device":
        path.symlink_to(os.devnull)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "nowhere.tiff")
    expected = {"fifo": "hangs", "device": "hangs or crashes", "folder": "IsADirectoryError",
                "broken link": "FileNotFoundError"}[kind]
    for read in (read_mask, mask_shape):
        with pytest.raises(MaskFileError) as info:
            read(path)
        assert info.value.code == "mask-not-a-file" and expected in info.value.message
    with pytest.raises(MagicError) as info:
        image_size(path)
    assert info.value.code == "image-unreadable" and "m.tiff" in info.value.render()


@pytest.mark.parametrize("content, code", [(None, "mask-missing"), (b"", "mask-unreadable"),
                                           (b"not a tiff at all", "mask-unreadable")])
def test_unreadable_masks_are_named(content, code: str, tmp_path: Path) -> None:
    path = tmp_path / "m.tiff"
    if content is not None:
        path.write_bytes(content)
    for read in (read_mask, mask_shape):
        with pytest.raises(MaskFileError) as info:
            read(path)
        assert info.value.code == code and info.value.file == str(path)


@pytest.mark.parametrize("mask", [np.eye(3, dtype=bool), np.eye(3, dtype=np.float64),
                                  np.eye(3, dtype=np.int64), np.zeros((2, 3), np.uint8)])
def test_write_mask_accepts_exact_0_1(mask: np.ndarray, tmp_path: Path) -> None:
    write_mask(tmp_path / "m.tiff", mask)
    written = read_mask(tmp_path / "m.tiff")
    assert written.dtype == np.uint8 and np.array_equal(written, mask.astype(np.uint8))


@pytest.mark.parametrize("mask", [np.full((3, 3), 0.7), np.full((3, 3), 0.3, np.float32),
                                  np.eye(3) * 255, np.eye(3, dtype=np.uint8) * 255,
                                  np.array([[0.0, np.nan]]), -np.eye(3, dtype=np.int16)],
                         ids=["prob 0.7", "prob 0.3", "255 float", "255 uint8", "nan", "-1"])
def test_write_mask_refuses_what_a_cast_would_change(mask: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly 0 or 1"):
        write_mask(tmp_path / "m.tiff", mask)
    assert not (tmp_path / "m.tiff").exists()


def test_open_image_names_missing_and_broken_photos(tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    Image.new("RGB", (40, 30), (10, 20, 30)).save(photo)
    with open_image(photo) as image:
        assert image.size == (40, 30)
    assert image_size(photo) == (30, 40)
    with pytest.raises(MagicError) as info:
        image_size(tmp_path / "none.jpg")
    assert info.value.code == "image-missing"
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    with pytest.raises(MagicError) as info:
        image_size(tmp_path / "junk.jpg")
    assert info.value.code == "image-unreadable" and "junk.jpg" in info.value.render()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(photo.read_bytes()[:200])  # the header reads, the pixels do not
    with pytest.raises(MagicError) as info:
        with open_image(truncated) as image:
            image.convert("RGB")
    assert info.value.code == "image-unreadable" and "cut.jpg" in info.value.render()


@pytest.mark.parametrize("error", [ValueError("a bug of the caller"), OSError("caller's disk"),
                                   KeyError("x")])
def test_open_image_lets_the_callers_own_errors_through(tmp_path: Path, error: Exception) -> None:
    photo = tmp_path / "p.png"
    Image.new("RGB", (4, 3)).save(photo)
    with pytest.raises(type(error)) as info:
        with open_image(photo) as image:
            image.convert("L")  # decoding works
            raise error
    assert info.value is error  # not relabelled "cannot decode the image"


def test_annotators_of_equal_size_but_other_shape_are_a_reference_fault() -> None:
    wide, tall = np.ones((2, 3), np.uint8), np.ones((3, 2), np.uint8)
    for call in (lambda: majority_vote([wide, tall]),
                 lambda: score_image("IMG_X", wide, {"ann0": wide, "ann1": tall})):
        with pytest.raises(ShapeMismatchError, match="differ in shape") as info:
            call()
        assert info.value.side == REFERENCE_SIDE
    # The prediction, by contrast, is compared flattened: equal pixel counts score.
    assert score_image("IMG_X", tall, {"ann0": wide, "ann1": wide}).jaccards == (1.0, 1.0)
