"""What a mask array holds, and the problems that makes for the official scorer (pure functions).

The scorer reads a mask with ``tifffile.imread``, casts it to ``uint8`` and counts a pixel as
foreground iff the result equals 1 (:func:`evaluation.segmentation.foreground`); shapes must
agree with the reference (the image's size). A correct mask is 2-D with values 0/1.

>>> import numpy as np
>>> facts = mask_facts(np.array([[0, 255], [255, 0]], dtype=np.uint8))
>>> facts.values, facts.nonzero, facts.scorer_foreground
('0/255', 2, 0)
>>> [p.code for p in content_problems(facts, (2, 3), file="m.tiff", image_id="IMG_A")]
['mask-size', 'mask-values-255']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.segmentation import foreground
from magic_submit.photos import BACK_TO_STORED, orientation_note
from magic_submit.validation.problems import Problem

BINARY, ZERO_255, PROBABILITY, OTHER = "0/1", "0/255", "probability", "other"
MODEL_INPUT_SIDES = (224, 256, 352, 384, 512)  # common network input sizes (CLIPSeg: 352)


@dataclass(frozen=True)
class MaskFacts:
    """Shape, dtype and value class of one mask; counts are filled only for non-0/1 masks."""

    shape: tuple[int, ...]
    dtype: str
    values: str
    empty: bool
    nonzero: int | None = None
    scorer_foreground: int | None = None
    examples: tuple = ()


def _examples(array: np.ndarray, limit: int = 6) -> tuple:
    uniq = np.unique(array)
    shown = uniq if uniq.size <= limit else np.concatenate([uniq[: limit - 1], uniq[-1:]])
    return tuple(v.item() for v in shown)


def mask_facts(array: np.ndarray) -> MaskFacts:
    """Classify a mask's values in as few passes as possible (one ``max`` for a uint8 0/1 mask)."""
    shape, dtype = tuple(array.shape), str(array.dtype)
    if array.size == 0:  # degenerate: no pixel at all; the shape check reports it
        return MaskFacts(shape, dtype, BINARY, True)
    kind = array.dtype.kind
    if kind == "b":
        return MaskFacts(shape, dtype, BINARY, not array.any())
    if kind in "uif":
        low = 0 if kind == "u" else array.min()
        high = array.max()
        if low >= 0 and high <= 1:  # NaN fails both comparisons and falls through
            if kind != "f" or np.all((array == 0) | (array == 1)):
                return MaskFacts(shape, dtype, BINARY, bool(high == 0))
            values = PROBABILITY
        else:
            values = OTHER
    else:  # complex, object...: nothing the scorer's uint8 cast makes sense of
        return MaskFacts(shape, dtype, OTHER, False, examples=(dtype,))
    examples = _examples(array)
    if values == OTHER and set(examples) <= {0, 255}:
        values = ZERO_255
    nonzero = int(np.count_nonzero(array))
    return MaskFacts(shape, dtype, values, nonzero == 0, nonzero,
                     int(np.count_nonzero(foreground(array))), examples)


def _plane(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The height x width of a 3-D array: (pages, h, w), or (h, w, channels) for 1, 3 or 4 channels."""
    if len(shape) == 3:
        return shape[:2] if shape[0] != 1 and shape[-1] in (1, 3, 4) else shape[1:]
    return shape


def _describe_not_2d(shape: tuple[int, ...]) -> str:
    if len(shape) == 3 and shape[-1] in (3, 4):
        return (f"shape {shape}: an RGB{'A' * (shape[-1] == 4)} image; the scorer compares it "
                "flattened, channels included")
    if len(shape) == 3:
        return f"shape {shape}: {shape[0]} pages; the scorer compares all pages flattened"
    return f"shape {shape}: a mask must be 2-D (height x width)"


# A transposed mask is not resized by ``magic pack --fix`` (it cannot know the axes were
# swapped rather than the size changed), so its fix names the repair itself.
TRANSPOSED_FIX = "transpose it before saving (mask.T): height first, then width"


def _size_message(shape: tuple[int, ...], expected: tuple[int, int],
                  orientation: int = 1) -> tuple[str, str | None]:
    """What is wrong with the mask's size, and a fix when the code's default does not apply.

    A swapped mask of a photo whose EXIF orientation turns it by 90 degrees was most likely
    drawn on the upright view: the fix then names the turn back to the stored grid.
    """
    h, w = shape
    message = f"mask is {h}x{w} (height x width), the image is {expected[0]}x{expected[1]}"
    if (w, h) == expected and orientation in BACK_TO_STORED:
        return (message + f": height and width are swapped; the photo has "
                f"{orientation_note(orientation)}, and masks follow its stored pixels, not "
                "that view"), (f"predict on the photo as stored (without "
                               f"ImageOps.exif_transpose), or turn the mask back: "
                               f"{BACK_TO_STORED[orientation]}")
    if (w, h) == expected:
        return message + ": height and width are swapped", TRANSPOSED_FIX
    if h == w and h in MODEL_INPUT_SIDES:
        return message + f": {h}x{w} is a model input size; resize the prediction back", None
    return message, None


def content_problems(facts: MaskFacts, expected: tuple[int, int] | None, *, file: str,
                     image_id: str | None, encounter_id: str | None = None,
                     orientation: int = 1) -> list[Problem]:
    """Every problem of one mask's content (shape, size, values, dtype); ``orientation``: the
    photo's EXIF orientation, for the hint of a swapped size."""
    where = {"file": file, "image_id": image_id, "encounter_id": encounter_id}
    problems: list[Problem] = []
    shape = facts.shape
    if 0 in shape:  # tifffile gives an empty array for a header without pixel data
        return [Problem.of("mask-unreadable", f"no pixel data (shape {shape}): truncated file?",
                           **where)]
    if len(shape) != 2:
        problems.append(Problem.of("mask-not-2d", _describe_not_2d(shape), **where))
    plane = _plane(shape)
    if expected is not None and len(plane) == 2 and plane != tuple(expected):
        message, fix = _size_message(plane, expected, orientation)
        problems.append(Problem.of("mask-size", message, hint=fix, **where))
    if facts.values != BINARY:
        seen = ("the scorer cannot cast them to uint8" if facts.nonzero is None else
                f"the scorer counts {facts.scorer_foreground} of its {facts.nonzero} non-zero "
                "pixels as foreground (uint8(value) == 1)")
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in facts.examples)
        code = {ZERO_255: "mask-values-255", PROBABILITY: "mask-values-probability"}.get(
            facts.values, "mask-values")
        problems.append(Problem.of(code, f"values {shown} ({facts.dtype}): {seen}", **where))
    elif facts.dtype not in ("uint8", "bool"):
        problems.append(Problem.of("mask-dtype", f"dtype {facts.dtype} holding 0/1", **where))
    return problems
