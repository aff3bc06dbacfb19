"""Segmentation baseline inputs: samples from the layout, merged targets, decoding, prompts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from baselines.seg.data import (
    check_mask_size, drop_mismatched, load_samples, merge_annotators, read_annotator_masks,
)
from baselines.seg.images import Preprocessing, decode_resized, decoded_batches, resize_target
from baselines.seg.prompts import build_prompt, tokenize_prompts
from magic_submit.text import clean_text
from evaluation.errors import ShapeMismatchError
from magic_submit.errors import MagicError

PREP = Preprocessing(352, 352, 2, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


# --- targets -------------------------------------------------------------------------------------
def test_or_merge_is_any_annotator_golden() -> None:
    a = np.array([[1, 0, 0, 0]], np.uint8)
    b = np.array([[0, 1, 0, 0]], np.uint8)
    c = np.array([[0, 1, 0, 255]], np.uint8)  # 255 is not foreground for the official cast
    merged = merge_annotators({"ann0": a, "ann1": b, "ann3": c}, "or")
    assert merged.dtype == bool and merged.tolist() == [[True, True, False, False]]


@pytest.mark.parametrize("votes, expected", [
    ([[1, 0, 1], [0, 0, 1]], [1, 0, 1]),                 # 2 annotators: union
    ([[1, 0, 1], [0, 0, 1], [1, 1, 0]], [1, 0, 1]),      # 3: at least 2
    ([[1, 0, 1], [0, 0, 1], [0, 1, 0], [0, 1, 0]], [0, 1, 1]),  # 4: at least 2
])
def test_majority_target_is_the_official_vote(votes: list, expected: list) -> None:
    masks = {f"ann{i}": np.array([v], np.uint8) for i, v in enumerate(votes)}
    assert merge_annotators(masks, "majority").astype(int).tolist() == [expected]


def test_merge_rejects_mismatched_shapes_and_unknown_targets() -> None:
    with pytest.raises(ShapeMismatchError):
        merge_annotators({"ann0": np.zeros((2, 3)), "ann1": np.zeros((3, 2))}, "or")
    with pytest.raises(ValueError, match="unknown target"):
        merge_annotators({"ann0": np.zeros((2, 3))}, "and")


# --- samples -------------------------------------------------------------------------------------
def test_samples_follow_image_ids_not_positions(sample_data: Path) -> None:
    samples = load_samples(sample_data, "train", need_masks=True)
    records = json.loads((sample_data / "train.json").read_text(encoding="utf-8"))
    listed = [Path(f).stem for r in records for f in r["image_ids"]]
    assert [s.image_id for s in samples] == listed
    by_id = {s.image_id: s for s in samples}
    assert "IMG_ENC00011_00003" in by_id  # a lone image numbered 3, as in the real data
    sample = by_id["IMG_ENC00011_00003"]
    assert sample.image_path.name.startswith("IMG_ENC00011_00003.")
    assert sample.encounter_id == "ENC00011" and sample.record["encounter_id"] == "ENC00011"
    for annotator, path in sample.mask_paths.items():
        assert path.name == f"IMG_ENC00011_00003_mask_{annotator}.tiff"


def test_per_split_folder_layout_is_accepted(sample_data: Path, tmp_path: Path) -> None:
    split = tmp_path / "valid"
    shutil.copytree(sample_data / "images_valid", split / "images_valid")
    shutil.copytree(sample_data / "dermavqa-segmentations" / "valid",
                    split / "dermavqa-segmentations" / "valid")
    shutil.copy(sample_data / "valid.json", split / "valid.json")
    ours = load_samples(tmp_path, "valid", need_masks=True)
    theirs = load_samples(sample_data, "valid", need_masks=True)
    assert [s.image_id for s in ours] == [s.image_id for s in theirs]
    assert [sorted(s.mask_paths) for s in ours] == [sorted(s.mask_paths) for s in theirs]


def test_missing_image_and_missing_masks_are_clear_errors(sample_data: Path, tmp_path: Path) -> None:
    shutil.copy(sample_data / "valid.json", tmp_path / "valid.json")
    (tmp_path / "images_valid").mkdir()
    with pytest.raises(MagicError, match="missing") as caught:
        load_samples(tmp_path, "valid", need_masks=False)
    assert "IMG_ENC00852_00001" in caught.value.ids
    shutil.rmtree(tmp_path / "images_valid")
    shutil.copytree(sample_data / "images_valid", tmp_path / "images_valid")
    assert len(load_samples(tmp_path, "valid", need_masks=False)) == 20  # test split: no masks
    with pytest.raises(MagicError, match="mask folder"):
        load_samples(tmp_path, "valid", need_masks=True)


def test_mask_size_must_match_the_image(sample_data: Path) -> None:
    sample = load_samples(sample_data, "valid", need_masks=True)[0]
    masks = read_annotator_masks(sample)
    h, w = next(iter(masks.values())).shape
    check_mask_size(sample, masks, (h, w))
    with pytest.raises(MagicError, match="differ from the image.s stored size") as caught:
        check_mask_size(sample, masks, (w, h))
    assert caught.value.ids == [sample.image_id]


# --- decoding ------------------------------------------------------------------------------------
def test_decode_keeps_the_stored_size_and_resizes_to_the_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photo = (rng.random((300, 500, 3)) * 255).astype(np.uint8)
    photo[:150, :250] = (250, 10, 10)  # a red top-left quarter
    Image.fromarray(photo).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(photo).save(tmp_path / "b.png")
    for name in ("a.jpg", "b.png"):
        pixels, size = decode_resized(tmp_path / name, PREP)
        assert size == (300, 500) and pixels.shape == (352, 352, 3) and pixels.dtype == np.uint8
        assert pixels[:160, :160, 0].mean() > 200 and pixels[:160, :160, 1].mean() < 60
    paths = [tmp_path / "a.jpg", tmp_path / "b.png", tmp_path / "a.jpg"]
    batches = list(decoded_batches(paths, PREP, 2, workers=2))
    assert [b.shape for b, _ in batches] == [(2, 3, 352, 352), (1, 3, 352, 352)]
    assert [s for _, sizes in batches for s in sizes] == [(300, 500)] * 3
    assert np.array_equal(batches[1][0][0], batches[0][0][0])  # in order


def test_jpeg_draft_decoding_stays_close_to_a_full_decode(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:1536, 0:2048]
    photo = np.stack([(xx / 8) % 256, (yy / 6) % 256, (xx + yy) / 14 % 256], -1).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "big.jpg", quality=95)
    fast, size = decode_resized(tmp_path / "big.jpg", PREP)
    with Image.open(tmp_path / "big.jpg") as image:
        full = np.asarray(image.convert("RGB").resize((352, 352), resample=2))
    assert size == (1536, 2048)
    assert np.abs(fast.astype(int) - full.astype(int)).mean() < 3


def test_cache_matches_the_clipseg_processor_on_a_png(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from baselines.seg.tiny import build_image_processor

    processor = build_image_processor()
    prep = Preprocessing.from_processor(processor)
    rng = np.random.default_rng(1)
    photo = (rng.random((123, 257, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "p.png")
    pixels, _ = decode_resized(tmp_path / "p.png", prep)
    ours = prep.normalize(torch.from_numpy(pixels.transpose(2, 0, 1).copy())[None])
    theirs = processor(images=[Image.open(tmp_path / "p.png")], return_tensors="pt")["pixel_values"]
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max() < 2 / 255 / min(prep.std) + 1e-4  # 8-bit rounding at most


def test_resize_target_gives_coverage() -> None:
    mask = np.zeros((704, 704), bool)
    mask[:352] = True  # top half
    small = resize_target(mask, PREP)
    assert small.shape == (352, 352) and small.flags.writeable
    assert small[:170].min() == 255 and small[182:].max() == 0


# --- prompts -------------------------------------------------------------------------------------
def test_prompt_strips_html_and_orders_query_then_responses() -> None:
    record = {"query_title_en": " Rash <b>help</b> ",
              "query_content_en": "It itches&nbsp;a lot.<br/>\n Arm.",
              "responses": [{"content_en": "<p>Eczema.</p>"}, {"content_en": None}, "junk",
                            {"content_en": "Use cream."}]}
    assert clean_text("a<br>b &amp;\t c") == "a b & c"
    assert clean_text("<p>one</p><p>two <i>it</i>ches</p><div class='x'>3</div>") == "one two itches 3"
    assert build_prompt(record) == "Rash help It itches a lot. Arm. Eczema. Use cream."
    assert build_prompt(record, "query") == "Rash help It itches a lot. Arm."
    assert build_prompt(record, "title") == "Rash help"
    assert build_prompt(record, "responses") == "Eczema. Use cream."
    assert build_prompt({}, "query+responses") == ""  # no text at all
    with pytest.raises(ValueError, match="unknown prompt mode"):
        build_prompt(record, "everything")


def test_prompt_is_cut_at_77_tokens_keeping_its_start() -> None:
    pytest.importorskip("transformers")
    from baselines.seg.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    long = " ".join(["itchy red rash on my arm"] * 30)
    tokens = tokenize_prompts(tokenizer, [long, "dry skin"])
    assert tuple(tokens.input_ids.shape) == (2, 77) and tokens.truncated == (True, False)
    assert tokens.n_truncated == 1
    ids = tokens.input_ids[0].tolist()
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert ids[1:7] == tokenizer(long)["input_ids"][1:7]  # the beginning survives, the end is cut
    assert tokens.attention_mask[1].sum() == len(tokenizer("dry skin")["input_ids"])


@pytest.mark.parametrize("name", ["baselines.seg.prompts", "baselines.seg.data", "baselines.seg.tiny",
                                  "baselines.runtime", "baselines.seg.outputs"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    if name.endswith("tiny"):
        pytest.importorskip("transformers")
    if name.endswith(("runtime", "outputs")):
        pytest.importorskip("torch")
    assert doctest.testmod(importlib.import_module(name)).failed == 0


def test_annotator_masks_are_found_as_the_official_scorer_finds_them(sample_data: Path,
                                                                     tmp_path: Path) -> None:
    shutil.copy(sample_data / "valid.json", tmp_path / "valid.json")
    shutil.copytree(sample_data / "images_valid", tmp_path / "images_valid")
    masks = tmp_path / "dermavqa-segmentations" / "valid"
    shutil.copytree(sample_data / "dermavqa-segmentations" / "valid", masks)
    image_id = load_samples(tmp_path, "valid", need_masks=True)[0].image_id
    for path in masks.glob(f"{image_id}_mask_*.tiff"):
        path.unlink()
    array = np.zeros((4, 4), np.uint8)
    from magic_submit.masks import write_mask

    for name in (f"{image_id}_mask_ann2.tiff", f"{image_id}_mask_ann0.tiff",
                 f".{image_id}_mask_ann1.tiff",     # hidden: the official glob skips it
                 f"{image_id}_mask_ann3.TIFF",      # not *.tiff for the case-sensitive glob
                 f"{image_id}_mask_sys.tiff"):      # not an annotator
        write_mask(masks / name, array)
    sample = next(s for s in load_samples(tmp_path, "valid", need_masks=True)
                  if s.image_id == image_id)
    assert list(sample.mask_paths) == ["ann0", "ann2"]  # ann0..ann3 order, not file order
    assert sample.mask_paths["ann2"] == masks / f"{image_id}_mask_ann2.tiff"


def test_unreadable_and_missing_photos_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(MagicError) as caught:
        decode_resized(tmp_path / "broken.jpg", PREP)
    assert caught.value.code == "image-unreadable" and caught.value.file.endswith("broken.jpg")
    with pytest.raises(MagicError) as caught:
        decode_resized(tmp_path / "gone.jpg", PREP)
    assert caught.value.code == "image-missing"


def test_masks_of_another_orientation_are_left_out_and_named(sample_data: Path,
                                                             tmp_path: Path) -> None:
    """Photos whose masks have height and width swapped are left out by header checks alone
    (the others stay, in order); the reason names the photo's EXIF orientation when it has one
    that turns it (masks drawn on the upright view)."""
    from magic_submit.masks import write_mask

    shutil.copy(sample_data / "valid.json", tmp_path / "valid.json")
    shutil.copytree(sample_data / "images_valid", tmp_path / "images_valid")
    masks = tmp_path / "dermavqa-segmentations" / "valid"
    shutil.copytree(sample_data / "dermavqa-segmentations" / "valid", masks)
    samples = load_samples(tmp_path, "valid", need_masks=True)
    swapped, upright = samples[3], samples[5]
    for sample in (swapped, upright):
        for path in sample.mask_paths.values():
            write_mask(path, read_annotator_masks(sample)["ann0"].T)
    with Image.open(upright.image_path) as photo:  # the same pixels, tagged "turn 90 degrees"
        exif = photo.getexif()
        exif[0x0112] = 6
        photo.load()
        photo.save(upright.image_path, format=photo.format, exif=exif, quality=95)
    kept, problems = drop_mismatched(samples, workers=2)
    assert kept == samples[:3] + samples[4:5] + samples[6:]
    assert list(problems) == [swapped.image_id, upright.image_id]
    assert "stored size" in problems[swapped.image_id]
    assert problems[swapped.image_id].endswith("(height and width swapped)")
    assert "EXIF orientation 6: viewers show it turned 90 degrees clockwise" \
        in problems[upright.image_id]
    assert drop_mismatched(kept, workers=1) == (kept, {})
