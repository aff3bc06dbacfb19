"""Segmentation in every photo mode: the mask of the 8-bit RGB picture, in the stored grid.

One picture (a sample photo, quantised, with a white box) written in every mode
(:mod:`photo_variants`), each as the photo of its own encounter with the same text, predicted by
the smoke run through ``magic predict seg``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from magic_submit.cli import app  # noqa: E402
from magic_submit.masks import read_mask  # noqa: E402
from magic_submit.naming import mask_file_name  # noqa: E402
from photo_variants import picture, write_variants  # noqa: E402

runner = CliRunner()


def test_every_mode_gets_the_mask_of_the_8_bit_picture(seg_smoke_run: Path, sample_data: Path,
                                                        tmp_path: Path) -> None:
    records = json.loads((sample_data / "valid.json").read_text(encoding="utf-8"))
    record = next(r for r in records if "IMG_ENC00852_00001.jpg" in r["image_ids"])
    with Image.open(sample_data / "images_valid" / "IMG_ENC00852_00001.jpg") as photo:
        rgb = picture(np.array(photo.convert("RGB")))
    data = tmp_path / "data"
    variants = write_variants(rgb, data / "images_test")
    image_of: dict[str, str] = {}
    encounters = []
    for index, (name, variant) in enumerate(variants.items()):
        image_id = f"IMG_ENC{index:05d}_00001"
        file_name = image_id + variant.path.suffix
        variant.path.rename(data / "images_test" / file_name)
        image_of[name] = image_id
        encounters.append({**record, "encounter_id": f"ENC{index:05d}", "image_ids": [file_name]})
    (data / "test.json").write_text(json.dumps(encounters), encoding="utf-8")
    result = runner.invoke(app, ["predict", "seg", "--run", str(seg_smoke_run), "--split",
                                 str(data / "test.json"), "--output", str(tmp_path / "out"),
                                 "--quiet"])
    assert result.exit_code == 0, result.stderr
    masks_dir = tmp_path / "out" / "submission" / "masks_preds"
    masks = {name: read_mask(masks_dir / mask_file_name(image_of[name])) for name in variants}
    plain = masks["rgb8.png"]
    assert plain.shape == rgb.shape[:2] and 0 < plain.mean() < 1  # a mask worth comparing
    for name, variant in variants.items():
        reference = {"rgb": plain, "grey": masks["grey8.png"], "rgb.jpg": masks["rgb.jpg"]}[
            variant.reference]
        assert masks[name].shape == reference.shape, name  # the stored grid, EXIF or not
        if variant.exact:
            assert np.array_equal(masks[name], reference), name
        else:  # JPEG at quality 95: the same mask but for a few border pixels
            assert (masks[name] != reference).mean() < 0.02, name
