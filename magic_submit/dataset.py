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
from magic_submit.errors import MagicError, UsageError
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


def split_file(split: str) -> Path | None:
    """The query file a ``--split`` value names when it is a path (it ends in ``.json``).

    Every command takes ``--split`` the same way: a split name looked up under the dataset
    root, or the path of a split's query file, whose other files (``images_{name}/``,
    ``dermavqa-segmentations/{name}/``, ``{name}_cvqa.json``) are looked up beside it.

    >>> split_file("test") is None, split_file("data/test.json").name
    (True, 'test.json')
    """
    return Path(split).expanduser() if split.lower().endswith(".json") else None


def split_name(split: str) -> str:
    """The split's name: the value itself, or the query file's stem (``data/test.json`` -> test)."""
    file = split_file(split)
    return file.stem if file is not None else split


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

    def _require(self, found: Path | None, candidates: Sequence[Path], what: str,
                 split: str) -> Path:
        if found is None:
            tried = ", ".join(str(c) for c in candidates)
            raise MagicError(f"no {what} found (looked for {tried})", file=self.root,
                             code="split-not-found", hint=self.split_hint(split))
        return found

    def split_hint(self, split: str) -> str:
        """What to do when a split's file is missing: the splits that are here, or where to point."""
        found = self.splits_found()
        if split_file(split) is None and found:
            return (f"splits found in {self.root}: {', '.join(found)} (or pass the path of a "
                    "split's query file, e.g. data/test.json)")
        return ("point --data/--reference at the dataset root (the folder holding "
                f"{ch.queries_file(split_name(split))}), or pass the query file's path as --split")

    def splits_found(self) -> list[str]:
        """Names of the splits this root holds any file of (query file, images, masks, gold)."""
        if not self.root.is_dir():
            return []
        names: set[str] = set()
        for path in self.root.iterdir():
            if path.is_file() and path.suffix == ".json" and path.name != ch.DEFINITIONS_FILE:
                names.add(path.stem.removesuffix("_cvqa"))
            elif path.is_dir() and path.name.startswith("images_"):
                names.add(path.name.removeprefix("images_"))
            elif path.is_dir() and (path / ch.queries_file(path.name)).is_file():
                names.add(path.name)
        masks_root = self.root / ch.SEGMENTATIONS_DIR
        if masks_root.is_dir():
            names.update(p.name for p in masks_root.iterdir() if p.is_dir())
        return sorted(names)

    def queries_candidates(self, split: str) -> list[Path]:
        file = split_file(split)
        if file is not None:  # a query file's path: the split's other files lie beside it
            return [file]
        name = ch.queries_file(split)
        return [self.root / name, self.root / split / name]

    def images_candidates(self, split: str) -> list[Path]:
        file = split_file(split)
        if file is not None:
            return [file.parent / ch.images_dir_name(file.stem), file.parent / "images"]
        name = ch.images_dir_name(split)
        return [self.root / name, self.root / split / name, self.root / split / "images"]

    def masks_candidates(self, split: str) -> list[Path]:
        file = split_file(split)
        if file is not None:
            return [file.parent / ch.SEGMENTATIONS_DIR / file.stem, file.parent / "masks"]
        return [self.root / ch.SEGMENTATIONS_DIR / split,
                self.root / split / ch.SEGMENTATIONS_DIR / split,
                self.root / split / "masks"]

    def cvqa_candidates(self, split: str) -> list[Path]:
        file = split_file(split)
        if file is not None:
            return [file.parent / ch.cvqa_gold_file(file.stem)]
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
                             f"query file for split '{split_name(split)}'", split)

    def require_images(self, split: str) -> Path:
        return self._require(self.find_images(split), self.images_candidates(split),
                             f"image folder for split '{split_name(split)}'", split)

    def require_masks(self, split: str) -> Path:
        return self._require(self.find_masks(split), self.masks_candidates(split),
                             f"mask folder for split '{split_name(split)}'", split)

    def require_cvqa(self, split: str) -> Path:
        return self._require(self.find_cvqa(split), self.cvqa_candidates(split),
                             f"CVQA gold file for split '{split_name(split)}'", split)

    def encounters(self, split: str) -> list[Encounter]:
        return load_encounters(self.require_queries(split))


def locate_split(split: str, root: str | Path | None) -> tuple[DatasetLayout, Path]:
    """The layout and the query file of a ``--split`` value: a name under ``root``, or a path.

    A name without a root is a usage error; a path needs no root (its folder is used).
    """
    file = split_file(split)
    if root is None and file is not None:
        root = file.parent
    if root is None:
        raise UsageError(f"--split {split} is a split name: give the dataset root with --data, "
                         f"or the split's query file (e.g. data/{ch.queries_file(split)})",
                         code="split-needs-root")
    layout = DatasetLayout(Path(root))
    return layout, layout.require_queries(split)
