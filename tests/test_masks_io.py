"""magic_submit.masks: the one mask reader (official semantics, size guard), the writer, photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from evaluation.errors import REFERENCE_SIDE, ShapeMismatchError
from evaluation.segmentation import majority_vote, score_image
from magic_submit.errors import MagicError
from magic_submit.masks import (
    MAX_MASK_PIXELS, MaskFileError, image_size, mask_shape, open_image, read_mask, write_mask,
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


def test_size_bomb_header_is_refused_with_its_own_code(tmp_path: Path) -> None:
    path = tmp_path / "big.tiff"
    side = int(MAX_MASK_PIXELS ** 0.5) + 1
    with tifffile.TiffWriter(path) as tif:  # header only: the pixels are never written
        tif.write(shape=(side, side), dtype=np.uint8)
    for read in (read_mask, mask_shape):
        with pytest.raises(MaskFileError) as info:
            read(path)
        assert info.value.code == "mask-too-large" and str(path) in info.value.render()


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


def test_annotators_of_equal_size_but_other_shape_are_a_reference_fault() -> None:
    wide, tall = np.ones((2, 3), np.uint8), np.ones((3, 2), np.uint8)
    for call in (lambda: majority_vote([wide, tall]),
                 lambda: score_image("IMG_X", wide, {"ann0": wide, "ann1": tall})):
        with pytest.raises(ShapeMismatchError, match="differ in shape") as info:
            call()
        assert info.value.side == REFERENCE_SIDE
    # The prediction, by contrast, is compared flattened: equal pixel counts score.
    assert score_image("IMG_X", tall, {"ann0": wide, "ann1": wide}).jaccards == (1.0, 1.0)
