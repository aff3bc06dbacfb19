"""What the reports need to know about a reference besides its gold files: its split and photos.

The split (encounters and the image ids they cover) comes from the split's query file for a
dataset root, or is derived from the gold files themselves for the organisers' platform folder
(:func:`derive_split`, also used for a dataset root without a query file): the one place where
that derivation lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.facts import encounter_key
from magic_submit.challenge import ENCOUNTER_KEY
from magic_submit.dataset import DatasetLayout, Encounter, load_encounters
from magic_submit.jsonio import read_json
from magic_submit.naming import IMAGE_EXTENSIONS, encounter_of_image, image_id_from_file
from magic_submit.mask_index import index_masks
from magic_submit.submission import ReferenceFiles, open_reference


@dataclass
class ReferenceContext:
    """An opened reference: gold files, the split's encounters, and where photos/definitions are."""

    files: ReferenceFiles
    encounters: list[Encounter]
    images_dir: Path | None
    definitions_file: Path | None

    @property
    def encounter_ids(self) -> list[str]:
        return [e.encounter_id for e in self.encounters]


def derive_split(files: ReferenceFiles) -> list[Encounter]:
    """Encounters of a platform reference: the gold CVQA encounters and the masks' image ids.

    Image "files" are the bare image ids here (the platform folder does not name the photos);
    encounters are sorted by id.
    """
    images: dict[str, set[str]] = {}
    if files.masks_dir is not None:
        for image_id in index_masks(files.masks_dir).image_ids:
            images.setdefault(encounter_of_image(image_id), set()).add(image_id)
    if files.cvqa_file is not None:
        records = read_json(files.cvqa_file, what="gold CVQA file")
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict) and isinstance(record.get(ENCOUNTER_KEY), str):
                images.setdefault(encounter_key(record[ENCOUNTER_KEY]), set())
    return [Encounter(enc, tuple(sorted(ids))) for enc, ids in sorted(images.items())]


def open_reference_context(path: str | Path, split: str | None = None,
                           images_dir: str | Path | None = None) -> ReferenceContext:
    """Open a reference (platform folder, or dataset root + split) with its split and photo folder."""
    path = Path(path)
    files = open_reference(path, split)
    if files.is_platform:
        return ReferenceContext(files, derive_split(files),
                                Path(images_dir) if images_dir is not None else None, None)
    layout = DatasetLayout(path)
    assert split is not None  # open_reference refuses a dataset root without a split
    found_images = Path(images_dir) if images_dir is not None else layout.find_images(split)
    queries = layout.find_queries(split)
    # No query file beside the gold files: the split is what the gold files cover.
    encounters = load_encounters(queries) if queries is not None else derive_split(files)
    return ReferenceContext(files, encounters, found_images, layout.find_definitions())


def photo_paths(images_dir: Path | None, encounters: Sequence[Encounter]) -> dict[str, Path]:
    """Image id -> photo file, from each encounter's ``image_ids`` file names.

    A name with its extension is used as given; a bare id (platform reference) is matched
    against the folder's photos by id. Ids without a photo are left out.
    """
    if images_dir is None or not images_dir.is_dir():
        return {}
    listed = {image_id_from_file(p.name): p for p in images_dir.iterdir()
              if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()}
    found: dict[str, Path] = {}
    for encounter in encounters:
        for image_file, image_id in zip(encounter.image_files, encounter.image_ids):
            direct = images_dir / image_file
            if image_file != image_id and direct.is_file():
                found[image_id] = direct
            elif image_file == image_id and image_id in listed:
                found[image_id] = listed[image_id]
    return found
