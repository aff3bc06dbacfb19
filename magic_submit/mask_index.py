"""Mask files of a folder as the official scorer finds them: ``glob('{folder}/*.tiff')``.

The official ``read_maskfns`` keys every matched name by labeler (the piece after the last
``_mask_``, ``.tiff`` removed) and image id (the piece before the first ``_mask_``); when two
names give one (labeler, image), whichever the listing returns last wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from magic_submit.naming import is_scanned_mask_name, parse_mask_file_name

MaskIndex = dict[str, dict[str, Path]]  # labeler -> image id -> file


@dataclass
class IndexedMasks:
    """Mask files of one folder as the official ``read_maskfns`` sees them."""

    folder: Path
    by_labeler: MaskIndex
    # labeler -> pairs of files read as the same image (the official glob order picks one)
    duplicates: dict[str, list[tuple[Path, Path]]] = field(default_factory=dict)

    @property
    def image_ids(self) -> set[str]:
        return {image_id for files in self.by_labeler.values() for image_id in files}


def index_masks(folder: str | Path) -> IndexedMasks:
    """Every ``*.tiff`` directly in ``folder`` (not in subfolders), keyed like the official scorer.

    Like ``glob``, every kind of entry counts (a folder, a FIFO or a broken link named
    ``*.tiff`` included: reading it is what fails, see :func:`magic_submit.masks.open_mask`).
    A ``folder`` that is not a folder (absent, a file, unreadable) holds nothing, as ``glob``
    finds nothing there.
    """
    folder = Path(folder)
    by_labeler: MaskIndex = {}
    duplicates: dict[str, list[tuple[Path, Path]]] = {}
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if is_scanned_mask_name(e.name))
    except OSError:  # glob ignores a folder it cannot list, too
        names = []
    for name in names:
        image_id, labeler = parse_mask_file_name(name)
        files = by_labeler.setdefault(labeler, {})
        if image_id in files:  # e.g. X_mask_sys.tiff and X_mask_sys.tiff.tiff: glob order decides
            duplicates.setdefault(labeler, []).append((files[image_id], folder / name))
        files[image_id] = folder / name
    return IndexedMasks(folder, by_labeler, duplicates)
