"""The one photo reader: every mode reads as the 8-bit picture, in the stored grid or upright."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from magic_submit.errors import MagicError
from magic_submit.photos import (
    BACK_TO_STORED, check_photos, decode_pool, photo_header, read_photo, upright_size,
)
from photo_variants import Variant, picture, upright, write_variants


@pytest.fixture(scope="module")
def variants(sample_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Variant]:
    with Image.open(sample_data / "images_valid" / "IMG_ENC00852_00001.jpg") as photo:
        rgb = picture(np.array(photo.convert("RGB")))
    return write_variants(rgb, tmp_path_factory.mktemp("variants"))


def pixels(path: Path, **options: object) -> np.ndarray:
    return np.asarray(read_photo(path, **options).image)


def references(variants: dict[str, Variant]) -> dict[str, np.ndarray]:
    return {"rgb": pixels(variants["rgb8.png"].path),
            "grey": np.repeat(np.asarray(Image.open(variants["grey8.png"].path))[..., None], 3, 2),
            "rgb.jpg": pixels(variants["rgb.jpg"].path)}


def test_every_mode_reads_as_the_8_bit_picture(variants: dict[str, Variant]) -> None:
    refs = references(variants)
    modes = set()
    for name, variant in variants.items():
        with Image.open(variant.path) as image:
            modes.add(image.mode)
        photo = read_photo(variant.path)
        got = np.asarray(photo.image)
        expected = refs[variant.reference]
        assert photo.image.mode == "RGB" and got.shape == expected.shape, name
        assert photo.stored_size == expected.shape[:2] and photo.orientation == 1, name
        if variant.exact:
            assert np.array_equal(got, expected), name
        else:  # JPEG at quality 95
            assert np.abs(got.astype(int) - expected.astype(int)).mean() < 1.0, name
    assert modes >= {"RGB", "RGBA", "L", "LA", "P", "I;16", "CMYK"}


def test_the_modes_that_a_plain_convert_gets_wrong(variants: dict[str, Variant]) -> None:
    """What ``Image.convert("RGB")`` alone gives (the reason for the reader): 16-bit grey
    clipped to white, transparent pixels black."""
    def plain(name: str) -> np.ndarray:
        with Image.open(variants[name].path) as image:
            return np.asarray(image.convert("RGB"))

    refs = references(variants)
    assert not np.array_equal(plain("grey16.png"), refs["grey"])
    assert (plain("grey16.png") == 255).mean() > 0.9  # clipped: nearly all white
    for name in ("rgba.png", "la.png", "palette-transparent.png", "rgba16.png"):
        assert not np.array_equal(plain(name), refs[variants[name].reference]), name


def test_stored_grid_and_upright_view_of_exif_rotated_photos(variants: dict[str, Variant]) -> None:
    refs = references(variants)
    for name in ("exif6.jpg", "exif6.png", "exif5.png", "grey16-exif6.png"):
        variant = variants[name]
        stored = pixels(variant.path)
        assert np.array_equal(stored, refs[variant.reference]), name  # the untagged file's pixels
        photo = read_photo(variant.path, upright=True)
        assert photo.orientation == variant.orientation
        assert np.array_equal(np.asarray(photo.image), upright(stored, variant.orientation)), name
        assert photo_header(variant.path) == (stored.shape[:2], variant.orientation)
        assert upright_size(stored.shape[:2], variant.orientation) == stored.shape[1::-1]
    for name in ("rgb8.png", "rgba.png", "grey16.png"):  # no tag: upright is the stored grid
        assert np.array_equal(pixels(variants[name].path, upright=True),
                              pixels(variants[name].path)), name


def test_reduced_jpeg_decoding_covers_the_target_in_the_returned_orientation(
        variants: dict[str, Variant]) -> None:
    for name in ("rgb.jpg", "cmyk.jpg", "frames.mpo"):
        small = read_photo(variants[name].path, at_least=(100, 100)).image
        assert small.width < 433 and min(small.size) >= 100, name  # DCT-scaled, MPO included
    # 433x497 stored, shown 497x433 (w x h): at least 200 wide and 240 high once upright
    turned = read_photo(variants["exif6.jpg"].path, at_least=(200, 240), upright=True).image
    assert turned.width >= 200 and turned.height >= 240 and turned.height > turned.width
    full = pixels(variants["rgb16.png"].path)
    assert np.array_equal(pixels(variants["rgb16.png"].path, at_least=(100, 100)), full)


def test_back_to_stored_undoes_each_turning_orientation(tmp_path: Path) -> None:
    """The validator's hint: the numpy that takes a mask of the upright view back to the
    stored grid, checked against PIL's exif_transpose for each orientation that turns."""
    rng = np.random.default_rng(0)
    stored = (rng.random((5, 8)) > 0.5).astype(np.uint8) * 255
    for orientation, expression in BACK_TO_STORED.items():
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(stored).save(tmp_path / "m.png", exif=exif)
        view = pixels(tmp_path / "m.png", upright=True)[..., 0]
        assert view.shape == (8, 5)
        back = eval(expression, {"np": np, "mask": view})  # noqa: S307 - our own table
        assert np.array_equal(back, stored), (orientation, expression)


def test_unreadable_photos_are_named(tmp_path: Path, variants: dict[str, Variant]) -> None:
    tifffile.imwrite(tmp_path / "float.tiff", np.ones((4, 4), np.float32))
    data = variants["rgb.jpg"].path.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("not a photo")
    for name, words in (("float.tiff", "floating-point"), ("cut.jpg", "truncated"),
                        ("text.png", "cannot read the image"), ("gone.jpg", "not found")):
        with pytest.raises(MagicError) as caught:
            read_photo(tmp_path / name)
        assert words in caught.value.message and caught.value.file == str(tmp_path / name)


def test_preflight_names_every_damaged_photo(tmp_path: Path, variants: dict[str, Variant]) -> None:
    data = variants["rgb.jpg"].path.read_bytes()
    (tmp_path / "a_cut.jpg").write_bytes(data[:-2000])
    (tmp_path / "b_cut.jpg").write_bytes(data[: len(data) // 3])
    good = [v.path for v in variants.values()]
    assert check_photos(good + good[:3], workers=2) == len(good)  # each photo once
    with pytest.raises(MagicError) as caught:
        check_photos([*good[:5], tmp_path / "a_cut.jpg", *good[5:], tmp_path / "b_cut.jpg"],
                     workers=2)
    assert caught.value.file == str(tmp_path / "a_cut.jpg")
    assert caught.value.message == f"2 of {len(good) + 2} photos cannot be read"
    assert [i.split(" ")[0] for i in caught.value.ids] == ["a_cut.jpg", "b_cut.jpg"]
    assert all("truncated" in i for i in caught.value.ids)
    assert "nothing was trained or sent" in caught.value.hint


def test_decode_pool_keeps_order_and_bounds_what_is_in_flight() -> None:
    import threading

    running, peak, lock = [0], [0], threading.Lock()

    def work(value: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.001)
        with lock:
            running[0] -= 1
        return value * value

    consumed = []
    for result in decode_pool(work, range(50), workers=3, ahead=5):
        consumed.append(result)
    assert consumed == [v * v for v in range(50)] and peak[0] <= 3
    stream = decode_pool(work, iter(range(10**9)), workers=2, ahead=4)  # never drawn whole
    assert [next(stream) for _ in range(3)] == [0, 1, 4]
    stream.close()
