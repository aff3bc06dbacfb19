"""File-name patterns: image ids, mask names and the official scorer's way of reading them.

>>> image_id_from_file("IMG_ENC00852_00001.jpg")
'IMG_ENC00852_00001'
>>> mask_file_name("IMG_ENC00852_00001")
'IMG_ENC00852_00001_mask_sys.tiff'
>>> parse_mask_file_name("IMG_ENC00852_00001_mask_ann2.tiff")
('IMG_ENC00852_00001', 'ann2')
>>> parse_mask_file_name("IMG_ENC00852_00001_mask_mask_sys.tiff")  # the classic slip
('IMG_ENC00852_00001', 'mask_sys')
>>> encounter_of_image("IMG_ENC00852_00001")
'ENC00852'
>>> probability_file_name("IMG_ENC00852_00001", "png")
'IMG_ENC00852_00001_prob.png'
"""

from __future__ import annotations

from pathlib import PurePath

from evaluation.facts import DEFAULT_SUFFIX, IMAGE_ID_PATTERN, encounter_of_image

__all__ = [
    "IMAGE_EXTENSIONS", "IMAGE_ID_PATTERN", "MASK_EXTENSION", "MASK_SEPARATOR",
    "PROBABILITY_SUFFIX", "TIFF_EXTENSIONS", "encounter_of_image", "image_id_from_file",
    "is_scanned_mask_name", "mask_file_name", "parse_mask_file_name", "probability_file_name",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png")
MASK_SEPARATOR = "_mask_"
MASK_EXTENSION = ".tiff"
PROBABILITY_SUFFIX = "_prob"  # IMG_..._prob.png: never read by the scorer (not *_mask_*.tiff)
TIFF_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff")  # what a TIFF may be called (lower-case)


def image_id_from_file(file_name: str) -> str:
    """The image id of an ``image_ids`` entry: the file name without its extension."""
    name = PurePath(file_name).name
    stem, dot, _ext = name.rpartition(".")
    return stem if dot else name


def mask_file_name(image_id: str, labeler: str = DEFAULT_SUFFIX) -> str:
    """The name the scorer expects for ``image_id``'s mask by ``labeler`` (``sys``, ``ann0``...)."""
    return f"{image_id}{MASK_SEPARATOR}{labeler}{MASK_EXTENSION}"


def probability_file_name(image_id: str, extension: str) -> str:
    """The saved probability map of ``image_id`` (``magic predict seg --save-probabilities``)."""
    return f"{image_id}{PROBABILITY_SUFFIX}.{extension}"


def is_scanned_mask_name(file_name: str) -> bool:
    """Whether the scorer's ``glob('*.tiff')`` sees this file (case-sensitive, no hidden files)."""
    return file_name.endswith(MASK_EXTENSION) and not file_name.startswith(".")


def parse_mask_file_name(file_name: str) -> tuple[str, str]:
    """(image id, labeler) exactly as the official scorer reads a ``*.tiff`` name.

    The name is split at every ``_mask_``; the image id is the first piece, the labeler the last
    piece with every ``.tiff`` removed. A name without ``_mask_`` yields the whole name as the
    image id and the name minus ``.tiff`` as the labeler, as in the official code.
    """
    pieces = file_name.split(MASK_SEPARATOR)
    return pieces[0], pieces[-1].replace(MASK_EXTENSION, "")
