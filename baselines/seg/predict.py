"""From decoder logits to masks at each image's own size, their official scores, and the files.

Logits (352x352) are upsampled bilinearly to the stored height and width of each photo, passed
through the sigmoid and thresholded (``p > threshold``). Validation scores come from
:func:`evaluation.segmentation.score_image` and :class:`SegmentationAggregate`, the code behind
``magic score``, against the raw annotator masks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from baselines.seg.features import SplitFeatures
from baselines.seg.model import ENCODE_BATCH, decoder_logits
from baselines.runtime import Runtime
from evaluation.segmentation import (
    EMPTY_IS_ONE_SUFFIX, FLOAT_SEG_KEYS, SegmentationAggregate, Workspace, score_image,
)
from magic_submit.photos import default_workers

DEFAULT_THRESHOLD = 0.5
THRESHOLD_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05..0.95
SELECT_CHOICES: tuple[str, ...] = FLOAT_SEG_KEYS
DEFAULT_SELECT = "dice"  # micro Dice against the majority vote
MASKS_IN_MEMORY = 64  # full-size masks held at a time while scoring thresholds


def predict_logits(decoder: Any, features: SplitFeatures, runtime: Runtime,
                   batch_size: int = ENCODE_BATCH) -> Any:
    """float32 logits ``[n, 352, 352]`` of the decoder on a split's cached activations."""
    import torch

    chunks = []
    was_training = decoder.training
    decoder.eval()
    for start in range(0, len(features), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(features)), device=runtime.device)
        chunks.append(decoder_logits(decoder, *features.batch(rows), runtime))
    decoder.train(was_training)
    return torch.cat(chunks) if chunks else torch.empty(0)


def probabilities_at_size(logits: Any, size: tuple[int, int]) -> Any:
    """Sigmoid of one ``[352, 352]`` logit map upsampled (bilinear) to ``size`` = (height, width)."""
    import torch
    import torch.nn.functional as F

    up = F.interpolate(logits[None, None].float(), size=tuple(size), mode="bilinear",
                       align_corners=False)
    return torch.sigmoid(up[0, 0])


def binary_mask(probabilities: Any, threshold: float) -> np.ndarray:
    """The 0/1 uint8 mask of a probability map: lesion where ``p > threshold``."""
    import torch

    return (probabilities > threshold).to(torch.uint8).cpu().numpy()


def iter_masks(logits: Any, sizes: Sequence[tuple[int, int]],
               thresholds: Sequence[float]) -> Iterator[tuple[int, list[np.ndarray]]]:
    """(row, one 0/1 uint8 mask per threshold) at each image's size, row by row."""
    for row, size in enumerate(sizes):
        probs = probabilities_at_size(logits[row], size)
        yield row, [binary_mask(probs, t) for t in thresholds]


def selection_key(scores: dict[str, float], metric: str) -> tuple[bool, float]:
    """How epochs and thresholds are ranked: (official figure is a number, figure).

    Macro figures are NaN when an image's prediction and one of its annotator masks are both
    empty (the official 0/0), and one NaN image makes the official mean NaN. Such a result ranks
    below every numeric one; among themselves they rank by the "both empty = 1" figure.
    """
    value = scores[metric]
    if math.isnan(value):
        return False, scores[metric + EMPTY_IS_ONE_SUFFIX]
    return True, value


def score_thresholds(features: SplitFeatures, logits: Any, thresholds: Sequence[float], *,
                     workers: int | None = None) -> list[dict[str, float]]:
    """Official segmentation figures of the split at each threshold (in the order given)."""
    if features.masks is None:
        raise ValueError("the split was built without its annotator masks (keep_masks=True)")
    aggregates = [SegmentationAggregate() for _ in thresholds]
    local = threading.local()
    ids = features.image_ids

    def score(job: tuple[int, int, np.ndarray]) -> tuple[int, Any]:
        k, row, mask = job
        if not hasattr(local, "workspace"):
            local.workspace = Workspace()
        return k, score_image(ids[row], mask, features.masks[row], local.workspace)

    # Masks of a few images at a time: all thresholds of all photos at full size would not fit.
    chunk = max(1, MASKS_IN_MEMORY // len(thresholds))
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        jobs: list[tuple[int, int, np.ndarray]] = []
        for row, masks in iter_masks(logits, features.sizes, thresholds):
            jobs.extend((k, row, m) for k, m in enumerate(masks))
            if row % chunk == chunk - 1:
                for k, result in pool.map(score, jobs):
                    aggregates[k].update(result)
                jobs = []
        for k, result in pool.map(score, jobs):
            aggregates[k].update(result)
    return [a.compute() for a in aggregates]


def tune_threshold(features: SplitFeatures, logits: Any, metric: str, *,
                   grid: Sequence[float] = THRESHOLD_GRID,
                   workers: int | None = None) -> tuple[float, dict[float, dict[str, float]]]:
    """(threshold with the best ``metric`` on the split, scores per threshold); ties: nearest 0.5."""
    table = dict(zip(grid, score_thresholds(features, logits, grid, workers=workers)))
    best = max(grid, key=lambda t: (*selection_key(table[t], metric), -abs(t - DEFAULT_THRESHOLD)))
    return best, table
