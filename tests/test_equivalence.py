"""``magic``'s scorer against the independent plain implementation on many random cases on disk."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile

from builders import cvqa_records, write_json, write_seg_case
from magic_submit.scoring.cvqa_files import score_cvqa_files
from magic_submit.scoring.segmentation_files import score_segmentation
from reference_impl import score_cvqa_files as plain_cvqa
from reference_impl import score_segmentation_folders as plain_segmentation


def assert_same(expected: dict, actual: dict) -> None:
    for key, value in expected.items():
        got = actual[key]
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(got, float) and math.isnan(got), key
        else:
            # The official mean runs over a set's order: the last bit may differ between runs.
            assert got == pytest.approx(value, rel=1e-12, abs=1e-15), key


@pytest.mark.parametrize("seed", range(40))
def test_segmentation_matches_plain_implementation(tmp_path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, pred = write_seg_case(tmp_path, rng, n_images=int(rng.integers(1, 9)),
                               empty_rate=[0.0, 0.15, 0.5][seed % 3],
                               pred_dtype=["uint8", "bool", "float"][seed % 3])
    assert_same(plain_segmentation(str(ref), str(pred)),
                score_segmentation(pred, ref, workers=[None, 0, 1, 2][seed % 4]).scores)


@pytest.mark.parametrize("seed", range(6))
def test_segmentation_odd_values_match(tmp_path, seed: int) -> None:
    """0/255, uint16 wrap-around and values above 1 in references go through the official cast."""
    rng = np.random.default_rng(100 + seed)
    ref, pred = write_seg_case(tmp_path, rng, n_images=4)
    for path in sorted(pred.glob("*.tiff"))[::2]:
        mask = tifffile.imread(path).astype(np.uint16)
        tifffile.imwrite(path, mask * [255, 257, 2][seed % 3])
    for path in sorted(ref.glob("*.tiff"))[::3]:
        tifffile.imwrite(path, tifffile.imread(path) * 3)
    assert_same(plain_segmentation(str(ref), str(pred)), score_segmentation(pred, ref).scores)


@pytest.mark.parametrize("seed", range(40))
def test_cvqa_matches_plain_implementation(tmp_path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    encounters = [f"ENC{900 + i:05d}" for i in range(int(rng.integers(1, 30)))]
    gold = cvqa_records(rng, encounters)
    system = cvqa_records(rng, encounters)
    if seed % 4 == 1:  # a split record: the second part merges into the first
        extra = dict(system[0])
        extra["encounter_id"] += "-2"
        system.append(extra)
    if seed % 4 == 2:  # copy some gold answers so that scores are not all low
        system = [dict(g) if rng.random() < 0.5 else s for g, s in zip(gold, system)]
    ref = write_json(tmp_path / "gold.json", gold)
    sub = write_json(tmp_path / "sys.json", system)
    assert_same(plain_cvqa(str(ref), str(sub)), score_cvqa_files(sub, ref).scores)
