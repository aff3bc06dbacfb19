"""What a submission must cover: the split's encounters and images, and their sizes.

These are the validator's *inputs* besides the submission; a problem with them (an unreadable
split file, a missing image folder) raises :class:`MagicError`, since nothing can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from magic_submit import challenge as ch
from magic_submit.dataset import Encounter, load_encounters
from magic_submit.errors import MagicError
from magic_submit.masks import mask_shape
from magic_submit.photos import photo_header
from magic_submit.validation.problems import Problem


@dataclass(frozen=True)
class SplitTargets:
    """The encounters and image ids a submission must cover, in split order."""

    encounters: tuple[Encounter, ...]
    source: str
    split_name: str | None = None
    encounter_of: dict[str, str] = field(default_factory=dict)  # image id -> encounter id
    image_file: dict[str, str] = field(default_factory=dict)  # image id -> file name

    @classmethod
    def build(cls, encounters: Sequence[Encounter], source: str,
              split_name: str | None = None) -> SplitTargets:
        encounter_of: dict[str, str] = {}
        image_file: dict[str, str] = {}
        for enc in encounters:
            for file_name, image_id in zip(enc.image_files, enc.image_ids):
                encounter_of[image_id] = enc.encounter_id
                image_file[image_id] = file_name
        return cls(tuple(encounters), source, split_name, encounter_of, image_file)

    @property
    def image_ids(self) -> list[str]:
        return list(self.image_file)

    @property
    def encounter_ids(self) -> list[str]:
        return [enc.encounter_id for enc in self.encounters]


def load_targets(split: str | Path | Sequence[Encounter]) -> SplitTargets:
    """The split's query file (or a bare ``[{encounter_id, image_ids}]``), or encounters already loaded."""
    if isinstance(split, (str, Path)):
        path = Path(split)
        name = path.name.removesuffix(".json")
        encounters = load_encounters(path)
        if encounters and not any("image_ids" in e.record for e in encounters):
            raise MagicError("no record of the split file has 'image_ids'", file=path,
                             code="split-no-images",
                             hint="pass the split's query file (test.json), not its answers")
        return SplitTargets.build(encounters, str(path), name if name in ch.SPLITS else None)
    encounters = list(split)
    if not all(isinstance(e, Encounter) for e in encounters):
        raise MagicError("split must be a query file or a list of Encounter objects",
                         hint="pass the split's test.json")
    return SplitTargets.build(encounters, "encounters given")


@dataclass
class ExpectedSizes:
    """(height, width) per image id where known, where the sizes came from, and the EXIF
    orientation of the photos that have one other than 1 (read from the photos only)."""

    sizes: dict[str, tuple[int, int]]
    source: str | None
    problems: list[Problem] = field(default_factory=list)
    orientations: dict[str, int] = field(default_factory=dict)


def sizes_from_images(targets: SplitTargets, images_dir: Path) -> ExpectedSizes:
    """Sizes (the stored grid) and EXIF orientations from the image headers; an image that
    cannot be read leaves its mask size unchecked."""
    if not images_dir.is_dir():
        raise MagicError("image folder not found", file=images_dir, code="images-missing",
                         hint="pass the split's image folder, e.g. images_test/")
    result = ExpectedSizes({}, str(images_dir))
    for image_id, file_name in targets.image_file.items():
        try:
            result.sizes[image_id], orientation = photo_header(images_dir / file_name)
            if orientation != 1:
                result.orientations[image_id] = orientation
        except MagicError as exc:
            result.problems.append(Problem.of(
                "size-unchecked", f"{file_name}: {exc.message}", image_id=image_id,
                encounter_id=targets.encounter_of[image_id]))
    if targets.image_file and not result.sizes:
        raise MagicError("none of the split's images is in this folder", file=images_dir,
                         code="images-missing", hint="pass the image folder of the same split")
    return result


def reference_masks_dir(reference: Path, split_name: str | None) -> Path:
    """A platform folder (``masks_refs/``), a folder of ``*.tiff`` masks, or a dataset root + split."""
    from magic_submit.submission import open_reference

    if reference.is_dir() and any(reference.glob("*.tiff")):
        return reference
    ref = open_reference(reference, split_name)
    if ref.masks_dir is None:
        raise MagicError("the reference holds no masks", file=reference, code="reference-missing",
                         hint="pass masks_refs/ or the dataset's masks folder")
    return ref.masks_dir


def sizes_from_reference(targets: SplitTargets, reference: Path) -> ExpectedSizes:
    """Sizes from the reference masks' TIFF headers (the first annotator found per image)."""
    from magic_submit.mask_index import index_masks

    folder = reference_masks_dir(reference, targets.split_name)
    index = index_masks(folder)
    result = ExpectedSizes({}, str(folder))
    for image_id in targets.image_ids:
        path = next((index.by_labeler[a][image_id] for a in ch.ANNOTATORS
                     if image_id in index.by_labeler.get(a, {})), None)
        shape: tuple[int, ...] = ()
        if path is not None:
            try:
                shape = mask_shape(path)
            except MagicError:  # an unreadable header leaves the size unknown
                shape = ()
        if len(shape) == 2:
            result.sizes[image_id] = (int(shape[0]), int(shape[1]))
        else:
            why = "no reference mask" if path is None else f"unreadable reference mask {path.name}"
            result.problems.append(Problem.of("size-unchecked", why, image_id=image_id,
                                              encounter_id=targets.encounter_of[image_id]))
    return result


def expected_sizes(targets: SplitTargets, *, images_dir: Path | None,
                   reference: Path | None) -> ExpectedSizes:
    if images_dir is not None and reference is not None:
        raise MagicError("give either an image folder or a reference, not both",
                         code="usage", hint="use --images for participants, --reference for organisers")
    if images_dir is not None:
        return sizes_from_images(targets, Path(images_dir))
    if reference is not None:
        return sizes_from_reference(targets, Path(reference))
    return ExpectedSizes({}, None, [Problem.of("sizes-not-checked", "no image folder given: mask "
                                               "sizes were not compared with the images")])
