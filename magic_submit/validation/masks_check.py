"""Checks of a submission's ``masks_preds/``: names as the scorer matches them, then each mask's content.

Names are matched with the scorer's own reading
(:func:`magic_submit.mask_index.index_masks`); a file it
will not match is traced to the split image it was meant for (:mod:`.mask_names`), so the problem
names the image and the expected name instead of only "image missing". Each mask the scorer will
read is then read once (:func:`magic_submit.masks.read_mask`, which refuses a header claiming an
absurd size before decoding) on a pool of threads, like the scorer, and classified
(:mod:`.mask_content`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from magic_submit.archive import is_system_file
from magic_submit.challenge import DEFAULT_WORKERS, MASKS_PRED_DIR
from magic_submit.masks import MaskFileError, read_mask
from magic_submit.naming import (
    TIFF_EXTENSIONS, is_scanned_mask_name, mask_file_name, parse_mask_file_name,
)
from magic_submit.mask_index import index_masks
from magic_submit.validation.mask_content import (
    MODEL_INPUT_SIDES, MaskFacts, content_problems, mask_facts,
)
from magic_submit.validation.mask_names import extension, intended_image_id, name_problem
from magic_submit.validation.problems import Problem
from magic_submit.validation.targets import SplitTargets


@dataclass
class MasksOutcome:
    problems: list[Problem] = field(default_factory=list)
    files: int = 0  # files found under masks_preds/ (system files aside)
    matched: int = 0  # split images with a file the scorer will read
    checked: int = 0  # masks whose content was read


@dataclass(frozen=True)
class _Candidate:
    """A file meant for a split image that the scorer will not match."""

    path: Path
    rel: str
    code: str
    message: str


def inspect_mask(path: Path) -> MaskFacts | MaskFileError:
    """Read one mask as the scorer does and classify it; a file that cannot be read is an error."""
    try:
        return mask_facts(read_mask(path))
    except MaskFileError as exc:
        return exc


def _rel(masks_dir: Path, path: Path) -> str:
    return f"{MASKS_PRED_DIR}/{path.relative_to(masks_dir).as_posix()}"


def _walk(masks_dir: Path) -> Iterable[tuple[Path, Path]]:
    """(relative folder, file) for every file under ``masks_dir``, sorted."""
    for dirpath, dirnames, filenames in os.walk(masks_dir):
        dirnames.sort()
        folder = Path(dirpath).relative_to(masks_dir)
        for name in sorted(filenames):
            yield folder, Path(dirpath) / name


@dataclass
class _Inventory:
    """The files of ``masks_preds/`` the scorer will not match, by the split image they were meant for."""

    candidates: dict[str, list[_Candidate]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    any_tiff: bool = False  # does the scorer's glob('*.tiff') find anything at all?


def _inventory(masks_dir: Path, known: dict[str, str], suffix: str) -> _Inventory:
    found = _Inventory()
    for folder, path in _walk(masks_dir):
        name, rel = path.name, _rel(masks_dir, path)
        if is_system_file(name) or any(is_system_file(part) for part in folder.parts):
            found.problems.append(Problem.of("system-file-ignored", "ignored", file=rel))
            continue
        found.files += 1
        if folder == Path("."):
            if is_scanned_mask_name(name):
                found.any_tiff = True
                image_id, labeler = parse_mask_file_name(name)
                if labeler == suffix and image_id in known:
                    continue  # read by the scorer (two files for one image are reported apart)
            intended, code, message = name_problem(name, known, suffix)
        else:
            intended = intended_image_id(name, known)
            code = "mask-nested-folder" if intended else "file-ignored"
            message = (f"in the subfolder '{folder.as_posix()}/': the scorer reads only files "
                       f"directly in {MASKS_PRED_DIR}/")
        if intended in known:
            found.candidates.setdefault(intended, []).append(_Candidate(path, rel, code, message))
        else:
            found.problems.append(Problem.of(code, message, file=rel, image_id=intended))
    return found


def check_masks(masks_dir: Path | None, root: Path, targets: SplitTargets,
                sizes: dict[str, tuple[int, int]], suffix: str, *,
                orientations: dict[str, int] | None = None,
                look_for_misplaced: bool = True) -> MasksOutcome:
    """Every problem of the segmentation part of a submission rooted at ``root``.

    Without ``masks_dir``, masks put elsewhere are looked for (``look_for_misplaced``) unless
    the caller has reported why there is no folder already. ``orientations``: the photos' EXIF
    orientations (other than 1), named in the hint of a mask with height and width swapped.
    """
    if masks_dir is None:
        return MasksOutcome(problems=misplaced_masks(root, targets) if look_for_misplaced else [])
    known = targets.encounter_of
    index = index_masks(masks_dir)
    scored = {i: p for i, p in index.by_labeler.get(suffix, {}).items() if i in known}
    found = _inventory(masks_dir, known, suffix)
    candidates = found.candidates
    outcome = MasksOutcome(problems=found.problems, files=found.files, matched=len(scored))
    for first, second in index.duplicates.get(suffix, []):
        image_id = parse_mask_file_name(first.name)[0]
        if image_id in known:
            outcome.problems.append(Problem.of(
                "mask-duplicate", f"{first.name} / {second.name}: the scorer reads one of them, "
                "whichever it lists last",
                file=MASKS_PRED_DIR, image_id=image_id, encounter_id=known[image_id]))
    for image_id, items in candidates.items():
        for item in items:
            if image_id in scored:  # harmless: the right file is there too
                outcome.problems.append(Problem.of(
                    "file-ignored", f"ignored: the scorer reads {scored[image_id].name} for this image",
                    file=item.rel, image_id=image_id, encounter_id=known[image_id]))
            else:
                outcome.problems.append(Problem.of(item.code, item.message, file=item.rel,
                                                   image_id=image_id, encounter_id=known[image_id]))
    if not found.any_tiff and not candidates:
        # The platform scores a folder without any *.tiff as 0.0 (no crash): a skipped subtask.
        outcome.problems.append(Problem.of("segmentation-absent", f"{MASKS_PRED_DIR}/ holds no mask "
                                           "of the split", file=f"{MASKS_PRED_DIR}/"))
    else:
        outcome.problems.extend(
            Problem.of("mask-missing", f"no {mask_file_name(image_id, suffix)} for the image "
                       f"{targets.image_file[image_id]}",
                       file=f"{MASKS_PRED_DIR}/", image_id=image_id, encounter_id=known[image_id])
            for image_id in targets.image_ids if image_id not in scored and image_id not in candidates)
    outcome.problems.extend(_content(masks_dir, scored, candidates, targets, sizes,
                                     orientations or {}, outcome))
    return outcome


def _content(masks_dir: Path, scored: dict[str, Path], candidates: dict[str, list[_Candidate]],
             targets: SplitTargets, sizes: dict[str, tuple[int, int]],
             orientations: dict[str, int], outcome: MasksOutcome) -> list[Problem]:
    """Read the scored masks, and one TIFF meant for each unmatched image, on two threads."""
    jobs: list[tuple[str, Path, bool]] = [(i, p, True) for i, p in scored.items()]
    for image_id, items in candidates.items():
        tiff = next((c.path for c in items if extension(c.path.name).lower() in TIFF_EXTENSIONS
                     and c.path.is_file()), None)  # never open a FIFO or a device
        if image_id not in scored and tiff is not None:
            jobs.append((image_id, tiff, False))
    problems: list[Problem] = []
    scored_empty: list[bool] = []
    scored_shapes: set[tuple[int, ...]] = set()
    with ThreadPoolExecutor(max_workers=DEFAULT_WORKERS) as pool:
        for (image_id, path, is_scored), facts in zip(jobs, pool.map(inspect_mask,
                                                                    [j[1] for j in jobs])):
            where = {"file": _rel(masks_dir, path), "image_id": image_id,
                     "encounter_id": targets.encounter_of[image_id]}
            if isinstance(facts, MaskFileError):
                problems.append(Problem.of(facts.code, facts.message, **where))
                continue
            problems.extend(content_problems(facts, sizes.get(image_id),
                                             orientation=orientations.get(image_id, 1), **where))
            if is_scored:
                scored_empty.append(facts.empty)
                scored_shapes.add(facts.shape)
    outcome.checked = len(jobs)
    if not sizes:  # no image sizes to compare with: a mask at the model's size would pass unseen
        problems.extend(_one_square_size(scored_shapes, len(scored_empty)))
    if scored_empty and all(scored_empty):
        problems.append(Problem.of("masks-all-empty", f"all {len(scored_empty)} masks read hold no "
                                   "foreground pixel", file=f"{MASKS_PRED_DIR}/"))
    return problems


def _one_square_size(shapes: set[tuple[int, ...]], count: int) -> list[Problem]:
    """Every mask of one square size (352x352): the model's input size, not the photos'."""
    if len(shapes) != 1:
        return []
    shape = next(iter(shapes))
    if len(shape) != 2 or shape[0] != shape[1] or (count < 2 and shape[0] not in MODEL_INPUT_SIDES):
        return []
    side = shape[0]
    typical = " (a common network input size)" if side in MODEL_INPUT_SIDES else ""
    return [Problem.of("masks-one-square-size", f"all {count} masks are {side}x{side}{typical}; "
                       "photos differ in size, and the scorer needs each photo's own size",
                       file=f"{MASKS_PRED_DIR}/")]


def misplaced_masks(root: Path, targets: SplitTargets) -> list[Problem]:
    """No ``masks_preds/``: masks put elsewhere are an error, no masks at all a skipped subtask."""
    counts: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(is_system_file(p) for p in path.relative_to(root).parts):
            continue
        if extension(path.name).lower() in TIFF_EXTENSIONS or intended_image_id(path.name,
                                                                          targets.encounter_of):
            folder = path.parent.relative_to(root).as_posix()
            counts[folder] = counts.get(folder, 0) + 1
    if not counts:
        return [Problem.of("segmentation-absent", f"no {MASKS_PRED_DIR}/ folder",
                           file=f"{MASKS_PRED_DIR}/")]
    return [Problem.of("masks-folder-misplaced",
                       f"{n} mask file(s) in '{folder}/' (the platform reads only {MASKS_PRED_DIR}/)",
                       file=f"{folder}/") for folder, n in counts.items()]
