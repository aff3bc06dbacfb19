"""A photo with each annotator's outline and the prediction's drawn over it, downscaled.

Outlines are the morphological boundary of each mask (the pixels of the mask that touch the
background, 4-neighbourhood), computed in numpy at display size and thickened by one pixel.

>>> ring = boundary(np.pad(np.ones((3, 3), bool), 1))
>>> ring.astype(int)[1:4, 1:4].tolist()
[[1, 1, 1], [1, 0, 1], [1, 1, 1]]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from evaluation.segmentation import foreground
from magic_submit.photos import read_photo

Colour = tuple[int, int, int]
ANNOTATOR_COLOURS: dict[str, Colour] = {
    "ann0": (0, 114, 178),    # blue
    "ann1": (0, 158, 115),    # green
    "ann2": (240, 228, 66),   # yellow
    "ann3": (204, 121, 167),  # pink
}
PREDICTION_COLOUR: Colour = (213, 0, 0)  # red
BACKGROUND_GREY: Colour = (150, 150, 150)  # no photo: masks are drawn on grey
GALLERY_MAX_SIDE = 384


def hex_colour(colour: Colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def display_size(height: int, width: int, max_side: int = GALLERY_MAX_SIDE) -> tuple[int, int]:
    """(height, width) scaled so the longer side is at most ``max_side`` (never enlarged)."""
    scale = min(1.0, max_side / max(height, width, 1))
    return max(1, round(height * scale)), max(1, round(width * scale))


def boundary(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels with a background 4-neighbour (the image border counts as background)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"boundary of a {mask.ndim}-D mask")
    padded = np.pad(mask, 1, constant_values=False)
    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    return mask & ~interior


def dilate(mask: np.ndarray) -> np.ndarray:
    """One step of 4-neighbour dilation (thickens a 1-pixel outline)."""
    padded = np.pad(mask, 1, constant_values=False)
    return (padded[1:-1, 1:-1] | padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2]
            | padded[1:-1, 2:])


def downscale_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Official foreground of ``mask`` resized to (height, width): a pixel is kept when at least
    half of the area it covers is foreground."""
    fg = foreground(np.asarray(mask))
    if fg.ndim != 2:
        raise ValueError(f"a mask must be 2-D, not of shape {fg.shape}")
    height, width = size
    if fg.shape == (height, width):
        return fg
    image = Image.fromarray(fg.astype(np.uint8) * 255)
    return np.asarray(image.resize((width, height), Image.Resampling.BOX)) >= 128


def load_photo(path: Path | None, size: tuple[int, int]) -> Image.Image:
    """The photo as RGB at (height, width); a grey canvas when there is no photo.

    A photo that cannot be read raises :class:`~magic_submit.errors.MagicError` naming it.
    """
    height, width = size
    if path is None:
        return Image.new("RGB", (width, height), BACKGROUND_GREY)
    # the stored grid, as the masks; JPEGs decoded at a reduced scale, any mode as 8-bit RGB
    photo = read_photo(path, at_least=(width, height)).image
    return photo.resize((width, height), Image.Resampling.LANCZOS)


def render_overlay(photo: Path | None, annotator_masks: Mapping[str, np.ndarray],
                   prediction: np.ndarray | None, max_side: int = GALLERY_MAX_SIDE, *,
                   outline_annotators: bool = True) -> Image.Image:
    """Photo (or grey) with the annotators' outlines, then the prediction's on top.

    ``outline_annotators=False`` draws the prediction alone (the annotator masks still give the
    size): a page shown to participants must not reveal a hidden reference.
    """
    if not annotator_masks:
        raise ValueError("no annotator mask to draw")
    height, width = np.shape(next(iter(annotator_masks.values())))[:2]
    size = display_size(height, width, max_side)
    canvas = np.array(load_photo(photo, size))
    layers = [(ANNOTATOR_COLOURS.get(a, (255, 255, 255)), m) for a, m in annotator_masks.items()
              if outline_annotators]
    if prediction is not None and np.size(prediction) == height * width:
        layers.append((PREDICTION_COLOUR, np.reshape(prediction, (height, width))))
    for colour, mask in layers:
        edge = dilate(boundary(downscale_mask(mask, size)))
        canvas[edge] = colour
    return Image.fromarray(canvas)
