"""Pixel-level rules of the official segmentation scorer: foreground, overlaps, the majority vote.

The official ``score_segmentations.py`` reads a mask with ``tifffile.imread(fn).astype(np.uint8)``
and then, per image:

* compares the prediction with each annotator mask flattened, element by element, with numpy
  broadcasting: the two sizes must be equal, or one of them a single pixel (which then stands for
  every pixel of the other); anything else raises inside numpy (the scorer crashes);
* adds the annotator masks up unflattened (``np.add`` in uint8), again with broadcasting, so
  ``(H, W)`` and ``(1, H, W)`` add up, ``(H, W)`` and ``(W, H)`` do not; a pixel of the vote is
  foreground when the sum reaches ceil(n/2) of the n annotators present.

This module holds those rules once, for arrays (:func:`overlap_counts`, :func:`majority_vote`)
and for shapes alone (:func:`check_image_shapes`, which the toolkit applies to TIFF headers
before decoding anything).

>>> check_image_shapes((1, 1), [(4, 5), (1, 4, 5)])  # 1 pixel broadcasts; (1,4,5) adds to (4,5)
(1, 4, 5)
>>> overlap_counts(np.array([True]), np.array([True, False, True]))  # the pixel covers all three
(2, 1, 0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from evaluation.errors import REFERENCE_SIDE, ShapeMismatchError
from evaluation.facts import majority_threshold

# A vote over annotator shapes that broadcast to more pixels than this is not computed.
MAX_VOTE_PIXELS = 1 << 28


def as_uint8(mask: np.ndarray) -> np.ndarray:
    """The official cast ``mask.astype(np.uint8)`` (float 1.7 -> 1, 257 -> 1, -1 -> 255)."""
    if mask.dtype == np.uint8:
        return mask
    if mask.dtype == np.bool_:
        return mask.view(np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        return mask.astype(np.uint8)


def foreground(mask: np.ndarray) -> np.ndarray:
    """Boolean foreground of a mask as the official scorer sees it: ``uint8(mask) == 1``."""
    return mask if mask.dtype == np.bool_ else as_uint8(mask) == 1


def sizes_broadcast(size_a: int, size_b: int) -> bool:
    """Whether two flattened masks compare element by element: equal sizes or a single pixel."""
    return size_a == size_b or size_a == 1 or size_b == 1


def overlap_counts(pred_fg: np.ndarray, gold_fg: np.ndarray, *, pred_pixels: int | None = None,
                   out: np.ndarray | None = None) -> tuple[int, int, int]:
    """(TP, FP, FN) of two boolean masks compared flattened, element by element (broadcast).

    ``pred_pixels`` (the prediction's foreground count) saves a pass when known; ``out`` receives
    the intersection (it may be ``gold_fg`` itself) to avoid an allocation. A single-pixel side
    stands for every pixel of the other, as numpy broadcasts it.
    """
    pred_flat, gold_flat = pred_fg.reshape(-1), gold_fg.reshape(-1)
    if pred_flat.size != gold_flat.size:
        if not sizes_broadcast(pred_flat.size, gold_flat.size):
            raise ShapeMismatchError(f"prediction {pred_fg.shape} vs reference {gold_fg.shape}")
        if pred_flat.size == 1:
            n_gold = int(np.count_nonzero(gold_flat))
            return (n_gold, gold_flat.size - n_gold, 0) if pred_flat[0] else (0, 0, n_gold)
        n_pred = int(np.count_nonzero(pred_flat)) if pred_pixels is None else pred_pixels
        return (n_pred, 0, pred_flat.size - n_pred) if gold_flat[0] else (0, n_pred, 0)
    n_pred = int(np.count_nonzero(pred_flat)) if pred_pixels is None else pred_pixels
    n_gold = int(np.count_nonzero(gold_flat))
    tp = int(np.count_nonzero(np.logical_and(pred_flat, gold_flat, out=out)))
    return tp, n_pred - tp, n_gold - tp


def _shapes_text(shapes: Sequence[tuple[int, ...]]) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def vote_shape(gold_shapes: Sequence[tuple[int, ...]], image_id: str = "") -> tuple[int, ...]:
    """The shape of the official majority mask: the annotators' shapes broadcast together.

    Raises :class:`ShapeMismatchError` (``side="reference"``) where ``np.add`` fails.
    """
    try:
        shape = tuple(int(side) for side in np.broadcast_shapes(*gold_shapes))
    except ValueError:
        where = f" of {image_id}" if image_id else ""
        raise ShapeMismatchError(f"the annotator masks{where} differ in shape and cannot be added "
                                 f"up: {_shapes_text(gold_shapes)}", side=REFERENCE_SIDE) from None
    if math.prod(shape) > MAX_VOTE_PIXELS:
        raise ShapeMismatchError(f"the annotator masks{' of ' + image_id if image_id else ''} "
                                 f"({_shapes_text(gold_shapes)}) broadcast to {shape}: too large "
                                 "to vote on", side=REFERENCE_SIDE)
    return shape


def check_image_shapes(pred_shape: tuple[int, ...] | None, gold_shapes: Sequence[tuple[int, ...]],
                       image_id: str = "") -> tuple[int, ...]:
    """Raise :class:`ShapeMismatchError` where the official numpy operations fail on masks of
    these shapes (no pixel needed: TIFF headers suffice); return the majority vote's shape.

    ``side="reference"`` when the annotators' masks cannot be added up, or differ in size (from
    one another or from their sum, as (1, 6) and (6, 1) add up to (6, 6)) so that only a
    single-pixel prediction could be compared with all of them;
    ``side="prediction"`` otherwise. ``pred_shape=None`` (a missing prediction, scored as empty)
    checks the vote alone.
    """
    if not gold_shapes:
        raise ValueError(f"{image_id}: no annotator mask")
    shape = vote_shape(gold_shapes, image_id)
    if pred_shape is None:
        return shape
    gold_sizes = [math.prod(s) for s in gold_shapes]
    pred_size = math.prod(pred_shape)
    if all(sizes_broadcast(pred_size, size) for size in [*gold_sizes, math.prod(shape)]):
        return shape
    sizes = {size for size in gold_sizes if size != 1}
    if len(sizes | {math.prod(shape)}) > 1:
        where = f" of {image_id}" if image_id else ""
        what = "differ in size" if len(sizes) > 1 else f"add up to {shape}, another size than theirs"
        raise ShapeMismatchError(f"the annotator masks{where} {what}: {_shapes_text(gold_shapes)}",
                                 side=REFERENCE_SIDE)
    raise ShapeMismatchError(f"prediction {tuple(pred_shape)} vs reference "
                             f"{tuple(gold_shapes[0])}")  # side: the prediction (the default)


class Workspace:
    """Scratch buffers reused from image to image (one per thread): no allocation per image.

    Fresh multi-megabyte arrays cost page faults; reusing flat buffers keeps the scorer close to
    the speed of merely reading the files.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def buffer(self, name: str, size: int, dtype: type) -> np.ndarray:
        """A flat array of ``size`` items (contents undefined)."""
        current = self._buffers.get(name)
        if current is None or current.size < size:
            current = np.empty(max(size, 1), dtype=dtype)
            self._buffers[name] = current
        return current[:size]


def flat_uint8(mask: np.ndarray) -> np.ndarray:
    """The official uint8 cast of a mask, flattened (a view when no cast is needed)."""
    return as_uint8(np.asarray(mask)).reshape(-1)


def majority_vote(gold_masks: Sequence[np.ndarray], workspace: Workspace | None = None) -> np.ndarray:
    """Pixels where the annotators' uint8 values sum to at least ceil(n/2), flattened.

    For 0/1 masks: 2 annotators -> union, 3 -> at least 2, 4 -> at least 2. The sum is taken
    over the uint8-cast raw values in uint8 arithmetic, exactly as the official scorer does, over
    the annotators' shapes broadcast together (:func:`vote_shape`): masks that cannot be added
    up raise :class:`ShapeMismatchError` (``side="reference"``), as the official sum crashes.
    The result may be a reused buffer of ``workspace``: copy it to keep it.
    """
    if not gold_masks:
        raise ValueError("majority vote of no annotator")
    shapes = [tuple(np.shape(m)) for m in gold_masks]
    workspace = workspace or Workspace()
    threshold = majority_threshold(len(gold_masks))
    if any(shape != shapes[0] for shape in shapes):  # rare: broadcast in the masks' own shapes
        votes = np.zeros(vote_shape(shapes), np.uint8)
        for mask in gold_masks:
            np.add(votes, as_uint8(np.asarray(mask)), out=votes)
        return np.greater_equal(votes, threshold).reshape(-1)
    raws = [flat_uint8(m) for m in gold_masks]
    counts = workspace.buffer("votes", raws[0].size, np.uint8)
    np.copyto(counts, raws[0])
    for raw in raws[1:]:
        np.add(counts, raw, out=counts)
    return np.greater_equal(counts, threshold,
                            out=workspace.buffer("majority", raws[0].size, np.bool_))
