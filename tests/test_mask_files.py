"""The mask and photo readers' limits and messages, field by field (magic_submit.masks)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from magic_submit.errors import MagicError
from magic_submit.masks import (
    MAX_MASK_BYTES, TIFF_HINT, MaskFileError, image_size, mask_shape, open_image, open_mask,
    read_mask, write_mask,
)


def header_only(path: Path, shape: tuple[int, ...], dtype=np.uint8) -> Path:
    with tifffile.TiffWriter(path) as tif:  # the pixels are never written
        tif.write(shape=shape, dtype=dtype, photometric="minisblack")
    return path


def test_the_size_guard_at_and_just_beyond_its_limit(tmp_path: Path) -> None:
    side = 1 << 14  # 16384 x 16384 uint8 = exactly MAX_MASK_BYTES
    assert side * side == MAX_MASK_BYTES
    at = header_only(tmp_path / "at.tiff", (side, side))
    assert mask_shape(at) == (side, side)
    with open_mask(at) as mask:
        assert (mask.nbytes, mask.pixels, mask.dtype) == (MAX_MASK_BYTES, MAX_MASK_BYTES,
                                                          np.dtype(np.uint8))
    beyond = header_only(tmp_path / "beyond.tiff", (side, side + 1))
    with pytest.raises(MaskFileError) as info:
        mask_shape(beyond)
    n = side * (side + 1)
    assert info.value.to_dict() == {
        "code": "mask-too-large", "file": str(beyond), "ids": [],
        "message": f"the header declares {side}x{side + 1} uint8 pixels ({n} pixels, {n} bytes), "
                   "more than any mask needs: not decoded",
        "hint": "write the mask as 2-D uint8 at its image's height x width"}
    wide = header_only(tmp_path / "wide.tiff", (side // 2, side), np.uint16)  # 2 bytes a pixel
    assert mask_shape(wide) == (side // 2, side)
    with pytest.raises(MaskFileError, match="uint16 pixels"):
        mask_shape(header_only(tmp_path / "wider.tiff", (side // 2 + 1, side), np.uint16))


def test_unreadable_files_are_described(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tiff"
    empty.write_bytes(b"")
    with pytest.raises(MaskFileError) as info:
        read_mask(empty)
    assert info.value.to_dict() == {"code": "mask-unreadable", "file": str(empty), "ids": [],
                                    "message": "not a readable TIFF (the file is empty)",
                                    "hint": TIFF_HINT}
    junk = tmp_path / "junk.tiff"
    junk.write_bytes(b"not a tiff at all")
    with pytest.raises(MaskFileError) as info:
        mask_shape(junk)
    assert info.value.message.startswith("not a readable TIFF (TiffFileError: ")
    assert info.value.hint == TIFF_HINT == ("write the mask with tifffile.imwrite(path, "
                                            "mask.astype('uint8'))")
    cut = tmp_path / "cut.tiff"
    tifffile.imwrite(cut, np.ones((300, 200), np.uint8), compression="zlib")
    cut.write_bytes(cut.read_bytes()[:-40])
    assert mask_shape(cut) == (300, 200)  # the header is whole
    with pytest.raises(MaskFileError) as info:
        read_mask(cut)
    assert info.value.code == "mask-unreadable" and info.value.file == str(cut)
    # the decoder's own exception is named (zlib's, from Python's zlib module)
    assert info.value.message.startswith("not a readable TIFF (error: Error -5 while decompressing")


def test_what_is_not_a_file_is_named_with_the_official_outcome(tmp_path: Path) -> None:
    with pytest.raises(MaskFileError) as info:
        read_mask(tmp_path / "absent.tiff")
    assert info.value.to_dict() == {"code": "mask-missing", "file": str(tmp_path / "absent.tiff"),
                                    "ids": [], "message": "mask file not found", "hint": None}
    folder = tmp_path / "folder.tiff"
    folder.mkdir()
    with pytest.raises(MaskFileError) as info:
        read_mask(folder)
    assert info.value.to_dict() == {
        "code": "mask-not-a-file", "file": str(folder), "ids": [],
        "message": "is a folder, not a TIFF file: not opened; the official scorer crashes "
                   "(IsADirectoryError)", "hint": "put a regular TIFF file under this name"}
    fifo = tmp_path / "pipe.tiff"
    os.mkfifo(fifo)
    with pytest.raises(MaskFileError) as info:
        mask_shape(fifo)
    assert info.value.message == ("is a FIFO (named pipe), not a TIFF file: not opened; the "
                                  "official scorer hangs: opening a FIFO waits for a writer forever")


def test_a_tiff_without_pages_reads_as_no_pixel(tmp_path: Path) -> None:
    path = tmp_path / "m.tiff"
    tifffile.imwrite(path, np.zeros((2, 2), np.uint8))
    data = bytearray(path.read_bytes())
    data[4:8] = (0).to_bytes(4, "little")  # first IFD offset 0: no page at all
    path.write_bytes(bytes(data))
    assert mask_shape(path) == (0,)  # tifffile reads it (with a logged warning) as no page
    with open_mask(path) as mask:
        assert mask.dtype == np.uint8 and mask.nbytes == 0 and mask.pixels == 0


def test_errors_of_the_callers_own_code_pass_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "m.tiff"
    tifffile.imwrite(path, np.eye(2, dtype=np.uint8))
    mine = KeyError("not about the mask")
    with pytest.raises(KeyError) as info:
        with open_mask(path):
            raise mine
    assert info.value is mine


def test_write_mask_forms(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        write_mask(tmp_path / "m.tiff", np.zeros((2, 2, 1), np.uint8))
    assert str(info.value) == "mask must be 2-D, got shape (2, 2, 1)"
    with pytest.raises(ValueError) as info:
        write_mask(tmp_path / "m.tiff", np.full((2, 2), 2, np.uint8))
    assert str(info.value) == ("mask values must be exactly 0 or 1 (threshold probabilities, map "
                               "255 to 1 first)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tifffile: "writing zero-size array"
        write_mask(tmp_path / "a" / "b" / "empty.tiff", np.zeros((0, 3), np.uint8))
    assert read_mask(tmp_path / "a" / "b" / "empty.tiff").shape in ((0, 3), (0,))
    write_mask(tmp_path / "plain.tiff", np.eye(3, dtype=bool), compression=None)
    with tifffile.TiffFile(tmp_path / "plain.tiff") as tif:
        page = tif.pages[0]
        assert page.compression == 1 and page.photometric == 1  # none; minisblack
        assert page.dtype == np.uint8
    write_mask(tmp_path / "zip.tiff", np.eye(3, dtype=np.int8))
    with tifffile.TiffFile(tmp_path / "zip.tiff") as tif:
        assert tif.pages[0].compression == 8  # adobe deflate (zlib)
    assert read_mask(tmp_path / "zip.tiff").tolist() == np.eye(3, dtype=np.uint8).tolist()


def test_photo_errors_are_named(tmp_path: Path) -> None:
    with pytest.raises(MagicError) as info:
        image_size(tmp_path / "none.jpg")
    assert info.value.to_dict() == {"code": "image-missing", "file": str(tmp_path / "none.jpg"),
                                    "ids": [], "message": "image not found", "hint": None}
    with pytest.raises(MagicError) as info:
        image_size(tmp_path)
    assert (info.value.code, info.value.message) == ("image-unreadable",
                                                     "is a folder, not an image")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"garbage")
    with pytest.raises(MagicError) as info:
        image_size(junk)
    assert info.value.message.startswith("cannot read the image (UnidentifiedImageError: ")
    photo = _truncated_png(tmp_path / "p.png")
    info = _decoding_error(photo)
    assert info.code == "image-unreadable" and info.file == str(photo)
    assert info.message.startswith("cannot decode the image (")
    ok = tmp_path / "ok.png"
    Image.new("RGB", (9, 4)).save(ok)
    assert image_size(ok) == (4, 9)


def test_a_decoding_failure_names_the_exception(tmp_path: Path) -> None:
    info = _decoding_error(_truncated_png(tmp_path / "p.png"))
    assert info.message.startswith("cannot decode the image (OSError: ")


def _truncated_png(path: Path) -> Path:
    """A PNG of noise cut after 200 bytes: its header reads, its pixels do not."""
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])
    return path


def _decoding_error(photo: Path) -> MagicError:
    with pytest.raises(MagicError) as info:
        with open_image(photo) as image:
            image.load()
    return info.value


def test_a_file_gone_before_its_error_is_written_reads_as_empty(tmp_path: Path) -> None:
    from magic_submit.masks import _unreadable

    error = _unreadable(tmp_path / "gone.tiff", ValueError("truncated"))
    assert (error.code, error.message) == ("mask-unreadable",
                                           "not a readable TIFF (the file is empty)")
    (tmp_path / "there.tiff").write_bytes(b"x")
    error = _unreadable(tmp_path / "there.tiff", ValueError("truncated"))
    assert error.message == "not a readable TIFF (ValueError: truncated)"


def test_two_copies_that_cannot_be_compared_are_not_called_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from magic_submit.scoring import segmentation_files

    first, second = tmp_path / "a.tiff", tmp_path / "b.tiff"
    first.write_bytes(b"x")
    second.write_bytes(b"x")
    assert segmentation_files._same_content(first, second)

    def unreadable(*args, **kwargs):
        raise PermissionError("denied")

    monkeypatch.setattr(segmentation_files.filecmp, "cmp", unreadable)
    assert not segmentation_files._same_content(first, second)
