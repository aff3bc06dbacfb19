"""The dataset as participants receive it: where each split's files are, and its encounters.

Two layouts are accepted:

* the challenge root: ``{split}.json``, ``{split}_cvqa.json``, ``images_{split}/``,
  ``dermavqa-segmentations/{split}/`` and the definitions file side by side;
* one folder per split: ``{split}/{split}.json``, ``{split}/images_{split}/`` (or ``{split}/images/``),
  ``{split}/{split}_cvqa.json``, masks in ``{split}/dermavqa-segmentations/{split}/`` or
  ``{split}/masks/``.

Image ids always come from each encounter's ``image_ids``, never from positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from magic_submit import challenge as ch
from magic_submit.errors import MagicError
from magic_submit.jsonio import read_json
from magic_submit.naming import image_id_from_file


@dataclass(frozen=True)
class Encounter:
    """One encounter of a split: its id, its image file names (with extension) and its record."""

    encounter_id: str
    image_files: tuple[str, ...]
    record: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def image_ids(self) -> tuple[str, ...]:
        """Image ids without extension, as masks are named."""
        return tuple(image_id_from_file(f) for f in self.image_files)


def parse_encounters(data: Any, *, source: str | Path) -> list[Encounter]:
    """Encounters from a loaded split file; only ``encounter_id`` and ``image_ids`` are required."""
    if not isinstance(data, list):
        raise MagicError(f"split file holds a {type(data).__name__}, not a list of encounters",
                         file=source, hint="pass the split's query file, e.g. test.json")
    encounters: list[Encounter] = []
    for index, record in enumerate(data):
        if not isinstance(record, dict) or not isinstance(record.get(ch.ENCOUNTER_KEY), str):
            raise MagicError(f"record {index} has no string 'encounter_id'", file=source)
        images = record.get("image_ids", [])
        if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
            raise MagicError(f"{record[ch.ENCOUNTER_KEY]}: 'image_ids' is not a list of file names",
                             file=source, ids=[record[ch.ENCOUNTER_KEY]])
        encounters.append(Encounter(record[ch.ENCOUNTER_KEY], tuple(images), record))
    return encounters


def load_encounters(path: str | Path) -> list[Encounter]:
    """Read a split's query file (``test.json``) or a bare list of ``{encounter_id, image_ids}``."""
    return parse_encounters(read_json(path, what="split file"), source=path)


@dataclass(frozen=True)
class DatasetLayout:
    """Finds a split's files under a dataset root in either accepted layout.

    ``find_*`` return None when absent; ``require_*`` raise a :class:`MagicError` that lists
    the places looked at.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def _first(self, candidates: Sequence[Path], want_dir: bool) -> Path | None:
        for path in candidates:
            if (path.is_dir() if want_dir else path.is_file()):
                return path
        return None

    def _require(self, found: Path | None, candidates: Sequence[Path], what: str) -> Path:
        if found is None:
            tried = ", ".join(str(c) for c in candidates)
            raise MagicError(f"no {what} found (looked for {tried})", file=self.root,
                             hint="point at the dataset root (the folder holding the split files)")
        return found

    def queries_candidates(self, split: str) -> list[Path]:
        name = ch.queries_file(split)
        return [self.root / name, self.root / split / name]

    def images_candidates(self, split: str) -> list[Path]:
        name = ch.images_dir_name(split)
        return [self.root / name, self.root / split / name, self.root / split / "images"]

    def masks_candidates(self, split: str) -> list[Path]:
        return [self.root / ch.SEGMENTATIONS_DIR / split,
                self.root / split / ch.SEGMENTATIONS_DIR / split,
                self.root / split / "masks"]

    def cvqa_candidates(self, split: str) -> list[Path]:
        name = ch.cvqa_gold_file(split)
        return [self.root / name, self.root / split / name]

    def definitions_candidates(self) -> list[Path]:
        return [self.root / ch.DEFINITIONS_FILE] + [self.root / s / ch.DEFINITIONS_FILE
                                                    for s in ch.SPLITS]

    def find_queries(self, split: str) -> Path | None:
        return self._first(self.queries_candidates(split), want_dir=False)

    def find_images(self, split: str) -> Path | None:
        return self._first(self.images_candidates(split), want_dir=True)

    def find_masks(self, split: str) -> Path | None:
        return self._first(self.masks_candidates(split), want_dir=True)

    def find_cvqa(self, split: str) -> Path | None:
        return self._first(self.cvqa_candidates(split), want_dir=False)

    def find_definitions(self) -> Path | None:
        return self._first(self.definitions_candidates(), want_dir=False)

    def require_queries(self, split: str) -> Path:
        return self._require(self.find_queries(split), self.queries_candidates(split),
                             f"query file for split '{split}'")

    def require_images(self, split: str) -> Path:
        return self._require(self.find_images(split), self.images_candidates(split),
                             f"image folder for split '{split}'")

    def require_masks(self, split: str) -> Path:
        return self._require(self.find_masks(split), self.masks_candidates(split),
                             f"mask folder for split '{split}'")

    def require_cvqa(self, split: str) -> Path:
        return self._require(self.find_cvqa(split), self.cvqa_candidates(split),
                             f"CVQA gold file for split '{split}'")

    def encounters(self, split: str) -> list[Encounter]:
        return load_encounters(self.require_queries(split))
