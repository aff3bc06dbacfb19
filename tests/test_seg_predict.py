"""From logits to masks: each image's own size, orientation, names, scores and threshold choice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from seg_support import synthetic_features, tiny_model, torch

from baselines.seg.members import cached_maps
from baselines.seg.outputs import PredictionWriter, read_probability
from baselines.seg.predict import (
    probabilities_at_size, score_thresholds, selection_key, tune_threshold,
)
from magic_submit.scoring.segmentation_files import score_segmentation
from magic_submit.masks import read_mask, write_mask
from magic_submit.naming import mask_file_name


def test_upsampling_restores_each_size_and_orientation() -> None:
    logits = torch.full((352, 352), -10.0)
    logits[:176, 264:] = 10.0  # top-right block
    for size in [(300, 500), (500, 300), (1536, 2048), (7, 3)]:
        probs = probabilities_at_size(logits, size)
        assert tuple(probs.shape) == size
        h, w = size
        assert probs[0, w - 1] > 0.99 and probs[h - 1, 0] < 0.01 and probs[0, 0] < 0.01
    probs = probabilities_at_size(logits, (300, 500))
    mask = (probs > 0.5).numpy()
    assert abs(mask.mean() - 0.125) < 0.01  # a quarter of the width, half of the height


def _features_with_logits(n: int = 6):
    model, _ = tiny_model()
    features = synthetic_features(model, n, seed=5, with_masks=True)
    # logits that are the 'lesion' channel: a perfect predictor at 352, blurred at the edges
    lesion = features.activations[0][:, 1:, 0].reshape(n, 22, 22) > 1
    logits = (lesion.float() * 8 - 4).repeat_interleave(16, 1).repeat_interleave(16, 2)
    return features, logits


def write_masks(features, logits, threshold: float, folder: Path, **options) -> list[Path]:
    """The prediction writer fed with the maps of ``logits`` (as run-baseline feeds it)."""
    with PredictionWriter(folder, threshold, workers=2, **options) as writer:
        for image_id, probabilities in zip(features.image_ids, cached_maps(logits, features.sizes)):
            writer.add(image_id, probabilities)
    return [folder / mask_file_name(i) for i in writer.image_ids]


def test_written_masks_have_official_names_and_sizes(tmp_path: Path) -> None:
    features, logits = _features_with_logits()
    stale = tmp_path / "masks_preds" / "IMG_ENC09999_00001_mask_sys.tiff"
    write_mask(stale, np.zeros((2, 2), np.uint8))  # an earlier prediction's: removed
    paths = write_masks(features, logits, 0.5, tmp_path / "masks_preds")
    assert sorted(p.name for p in (tmp_path / "masks_preds").iterdir()) == sorted(
        mask_file_name(i) for i in features.image_ids)
    assert paths[0].name == "IMG_ENC00000_00001_mask_sys.tiff"
    for path, size in zip(paths, features.sizes):
        mask = read_mask(path)
        assert mask.shape == size and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}


def test_in_memory_scores_equal_magic_score_on_the_written_files(tmp_path: Path) -> None:
    features, logits = _features_with_logits()
    ref = tmp_path / "masks_refs"
    for image_id, masks in zip(features.image_ids, features.masks):
        for annotator, mask in masks.items():
            write_mask(ref / mask_file_name(image_id, annotator), mask)
    write_masks(features, logits, 0.3, tmp_path / "masks_preds")
    on_disk = score_segmentation(tmp_path / "masks_preds", ref).scores
    in_memory = score_thresholds(features, logits, [0.3], workers=2)[0]
    assert in_memory == pytest.approx(on_disk, nan_ok=True)
    assert in_memory["dice"] > 0.6  # a good predictor (pixel grids differ at these tiny sizes)


def test_tuning_picks_the_best_threshold_for_the_metric() -> None:
    features, logits = _features_with_logits()
    shifted = logits - 3.0  # every probability too low: 0.5 now misses most lesion pixels
    best, table = tune_threshold(features, shifted, "dice", grid=(0.1, 0.3, 0.5, 0.7), workers=2)
    values = {t: table[t]["dice"] for t in table}
    assert best == max(values, key=values.get) and best < 0.5
    assert values[best] > values[0.5]


def test_selection_falls_back_when_the_official_figure_is_nan() -> None:
    scores = {"dice_meanofmax": math.nan, "dice_meanofmax_empty_is_one": 0.7, "dice": 0.6,
              "dice_empty_is_one": 0.6}
    assert selection_key(scores, "dice_meanofmax") == (False, 0.7)
    assert selection_key(scores, "dice") == (True, 0.6)


def test_a_nan_official_figure_ranks_below_any_number() -> None:
    nan_but_high = {"dice_meanofmax": math.nan, "dice_meanofmax_empty_is_one": 0.9}
    numeric_low = {"dice_meanofmax": 0.5, "dice_meanofmax_empty_is_one": 0.5}
    assert selection_key(numeric_low, "dice_meanofmax") > selection_key(nan_but_high, "dice_meanofmax")


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_saved_probabilities_read_back_within_half_a_level(tmp_path: Path, fmt: str) -> None:
    features, logits = _features_with_logits(3)
    write_masks(features, logits, 0.5, tmp_path / "masks", probabilities_dir=tmp_path / "maps",
                probability_format=fmt)
    for image_id, size, exact in zip(features.image_ids, features.sizes,
                                     cached_maps(logits, features.sizes)):
        path = tmp_path / "maps" / f"{image_id}_prob.{fmt}"
        again = read_probability(path)
        assert again.shape == size and again.dtype == np.float32
        assert np.abs(again - exact.numpy()).max() <= 0.5 / 255 + 1e-6


def test_a_probability_file_of_another_kind_is_named(tmp_path: Path) -> None:
    import tifffile

    from magic_submit.errors import MagicError

    tifffile.imwrite(tmp_path / "f_prob.tiff", np.zeros((3, 3), np.float32))  # not uint8 levels
    with pytest.raises(MagicError, match="not a probability map") as caught:
        read_probability(tmp_path / "f_prob.tiff")
    assert caught.value.file.endswith("f_prob.tiff")
    (tmp_path / "g_prob.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(MagicError, match="cannot"):
        read_probability(tmp_path / "g_prob.png")
