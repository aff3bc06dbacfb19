"""``pack_submission``: build the upload from a team's predictions, validated, written atomically.

Masks are named from the split's ``image_ids`` (never from positions) and written as 2-D 0/1
uint8 TIFFs (:func:`magic_submit.masks.write_mask`); ``data_cvqa_sys.json`` and ``masks_preds/``
go to the zip root. The zip is validated with :func:`~magic_submit.validation.validate_submission`
before it replaces ``output``: a failure leaves no file behind.

With ``fix=True`` what can be repaired without guessing is repaired, and said: 0/255 and
probability masks (foreground = value > 0.5), PNG and ``.tif`` inputs, masks of another size
(nearest-neighbour resize to the image's size; a transposed mask is refused), identical RGB
channels or single pages, unpadded multi-slot families (padded with NM) and integral floats.
Without it those are errors. Bool masks need no repair: they are written as uint8 0/1.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from magic_submit.archive import is_system_file
from magic_submit.challenge import (
    CVQA_SUBMISSION_FILE, DEFAULT_SUFFIX, DEFAULT_WORKERS, ENCOUNTER_KEY, MASKS_PRED_DIR,
    MULTI_SLOT_PARENTS, QID_TO_PARENT, QIDS,
)
from magic_submit.dataset import Encounter
from magic_submit.errors import MagicError
from magic_submit.masks import MaskFileError, open_image, read_mask, write_mask
from magic_submit.naming import MASK_EXTENSION, image_id_from_file, mask_file_name
from magic_submit.validation import (
    Problem, ValidationChecks, ValidationReport, prepare_checks, validate_submission,
)
from magic_submit.validation.cvqa_check import check_records, read_cvqa
from magic_submit.validation.mask_content import (
    BINARY, PROBABILITY, ZERO_255, content_problems, mask_facts,
)
from magic_submit.validation.mask_names import extension, intended_image_id
from magic_submit.validation.problems import ERROR
from magic_submit.validation.targets import SplitTargets

PROBABILITY_THRESHOLD = 0.5
FIXABLE_EXTENSIONS = (".tif", ".png")  # read only with fix=True (compared lower-case)


class PackError(MagicError):
    """The packed submission would not be scored as intended; nothing was written."""

    def __init__(self, report: ValidationReport, fixes: list[str]) -> None:
        super().__init__(f"the submission would not be scored as intended: {len(report.errors)} "
                         "error(s)", code="pack-invalid",
                         ids=[f"{p.code} {p.where()}: {p.message}" for p in report.errors],
                         hint="repair the predictions, or pass fix=True (--fix) where it can")
        self.report = report
        self.fixes = fixes


@dataclass
class PackResult:
    output: Path
    report: ValidationReport
    fixes: list[str] = field(default_factory=list)


def _fix_dimensions(array: np.ndarray) -> np.ndarray | None:
    """A 2-D view of a 3-D mask when no information is lost (one page, identical channels)."""
    squeezed = np.squeeze(array)
    if squeezed.ndim == 2:
        return squeezed
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        channels = array[..., :3]
        if np.array_equal(channels[..., 0], channels[..., 1]) and np.array_equal(
                channels[..., 0], channels[..., 2]):
            return channels[..., 0]
    return None


def _resize_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(mask.astype(np.uint8))
    return np.asarray(image.resize((size[1], size[0]), Image.NEAREST))


def prepare_mask(array: np.ndarray, expected: tuple[int, int] | None, *, fix: bool, label: str,
                 image_id: str) -> tuple[np.ndarray | None, list[Problem], list[str]]:
    """(a 2-D 0/1 uint8 mask or None, problems left, fixes made) for one predicted mask."""
    array = np.asarray(array)
    where = {"file": label, "image_id": image_id}
    problems = [p for p in content_problems(mask_facts(array), expected, **where) if p.severity != "note"]
    if not problems:
        return array.astype(np.uint8), [], []
    if not fix:
        return None, problems, []
    fixes: list[str] = []
    if array.ndim != 2:
        flat = _fix_dimensions(array)
        if flat is None:
            return None, problems, []
        fixes.append(f"{image_id}: shape {array.shape} reduced to {flat.shape}")
        array = flat
    facts = mask_facts(array)
    if facts.values == ZERO_255:
        array = array != 0
        fixes.append(f"{image_id}: values 0/255 mapped to 0/1")
    elif facts.values == PROBABILITY:
        array = array > PROBABILITY_THRESHOLD
        fixes.append(f"{image_id}: probabilities thresholded at {PROBABILITY_THRESHOLD}")
    if (expected is not None and array.ndim == 2 and array.shape != tuple(expected)
            and mask_facts(array).values == BINARY and array.shape[::-1] != tuple(expected)):
        fixes.append(f"{image_id}: resized {array.shape[0]}x{array.shape[1]} to "
                     f"{expected[0]}x{expected[1]} (nearest neighbour)")
        array = _resize_nearest(array, expected)
    left = [p for p in content_problems(mask_facts(array), expected, **where) if p.severity == ERROR]
    return (None, left, fixes) if left else (array.astype(np.uint8), [], fixes)


def _load_input(path: Path) -> np.ndarray:
    if extension(path.name).lower() == ".png":
        try:
            with open_image(path) as image:
                return np.asarray(image)
        except MagicError as exc:  # reported as the mask input it is
            raise MaskFileError(f"not a readable PNG ({exc.message})", file=path,
                                code="mask-unreadable") from None
    return read_mask(path)


def find_mask_inputs(masks_dir: Path, targets: SplitTargets,
                     fix: bool) -> tuple[dict[str, Path], list[Problem]]:
    """The input file of each split image in a predictions folder, matched by image id."""
    if not masks_dir.is_dir():
        raise MagicError("masks folder not found", file=masks_dir, hint="pass the folder of masks")
    found: dict[str, list[Path]] = {}
    problems: list[Problem] = []
    for path in sorted(p for p in masks_dir.iterdir() if p.is_file() and not is_system_file(p.name)):
        image_id = intended_image_id(path.name, targets.encounter_of)
        ext = extension(path.name).lower()
        if image_id is None or ext not in (MASK_EXTENSION, *FIXABLE_EXTENSIONS):
            problems.append(Problem.of("file-ignored", "not a mask of a split image: not packed",
                                       file=str(path)))
        elif ext != MASK_EXTENSION and not fix:
            problems.append(Problem.of("mask-extension", f"'{ext}' input is converted only with "
                                       "--fix", file=str(path), image_id=image_id,
                                       hint="pass --fix to convert it to a 0/1 TIFF"))
            found.setdefault(image_id, [])
        else:
            found.setdefault(image_id, []).append(path)
    for image_id, paths in found.items():
        if len(paths) > 1:
            problems.append(Problem.of("pack-ambiguous-mask", " / ".join(p.name for p in paths),
                                       file=str(masks_dir), image_id=image_id))
    return {i: ps[0] for i, ps in found.items() if len(ps) == 1}, problems


def _pad_record(record: dict) -> tuple[dict, list[str]]:
    """Integral floats to ints; partly written multi-slot families compacted and padded with NM."""
    fixes: list[str] = []
    enc = record.get(ENCOUNTER_KEY)
    out = dict(record)
    for key, value in record.items():
        if isinstance(value, float) and value.is_integer() and key in QID_TO_PARENT:
            out[key] = int(value)
            fixes.append(f"{enc} {key}: {value} written as {int(value)}")
    for parent in MULTI_SLOT_PARENTS:
        present = [out[q] for q in parent.qids if q in out]
        if 0 < len(present) < parent.slots:
            out.update(zip(parent.qids, parent.padded(present)))
            fixes.append(f"{enc} {parent.id}: {parent.slots - len(present)} slot(s) padded with "
                         f"NM ({parent.nm_index})")
    if not fixes:
        return record, []
    ordered = {ENCOUNTER_KEY: enc} if ENCOUNTER_KEY in out else {}
    ordered.update({q: out[q] for q in QIDS if q in out})
    ordered.update({k: v for k, v in out.items() if k not in ordered})
    return ordered, fixes


def prepare_cvqa(cvqa: str | Path | Sequence[Any] | None, targets: SplitTargets, *,
                 fix: bool) -> tuple[list | None, list[Problem], list[str]]:
    """(records to write or None, problems, fixes). No answers at all: ``[]`` (CVQA skipped)."""
    if cvqa is None:
        return [], [], []
    label = str(cvqa) if isinstance(cvqa, (str, Path)) else "cvqa records"
    if isinstance(cvqa, (str, Path)):
        if not Path(cvqa).is_file():
            raise MagicError("CVQA file not found", file=cvqa, hint="pass the JSON list of answers")
        records, problems = read_cvqa(Path(cvqa), rel=label)
        if records is None:
            return None, problems, []
    else:  # numpy scalars from a model become plain Python values (not a repair: same value)
        records = [{k: v.item() if isinstance(v, np.generic) else v for k, v in r.items()}
                   if isinstance(r, Mapping) else copy.deepcopy(r) for r in cvqa]
    fixes: list[str] = []
    if fix:
        for index, record in enumerate(records):
            if isinstance(record, dict):
                records[index], done = _pad_record(record)
                fixes.extend(done)
    problems, _ = check_records(records, targets, rel=label)
    if not fix:  # an unpadded family scores lower: packing refuses it unless told to pad
        problems = [_refused_unpadded(p) if p.code == "cvqa-unpadded" else p for p in problems]
    return records, problems, fixes


def _refused_unpadded(problem: Problem) -> Problem:
    """The validator's cvqa-unpadded warning as pack's own error, pack-unpadded."""
    return Problem.of("pack-unpadded", problem.message, file=problem.file,
                      encounter_id=problem.encounter_id, qid=problem.qid)


def _write_zip(stage: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w") as archive:
        archive.write(stage / CVQA_SUBMISSION_FILE, CVQA_SUBMISSION_FILE,
                      compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo(f"{MASKS_PRED_DIR}/"), b"")
        for path in sorted((stage / MASKS_PRED_DIR).iterdir()):
            # The TIFFs are zlib-compressed already: stored, not deflated twice.
            archive.write(path, f"{MASKS_PRED_DIR}/{path.name}", compress_type=zipfile.ZIP_STORED)


def _mask_sources(targets: SplitTargets, masks_dir: str | Path | None,
                  masks: Mapping[str, Any] | None, fix: bool) -> tuple[dict[str, Any], list[Problem]]:
    """Image id -> input file or array, with the problems of the inputs (missing, ambiguous...)."""
    if masks_dir is None and masks is None:
        return {}, []  # segmentation skipped: masks_preds/ stays empty
    sources: dict[str, Any] = {}
    problems: list[Problem] = []
    if masks_dir is not None:
        sources, problems = find_mask_inputs(Path(masks_dir), targets, fix)
    for key, array in (masks or {}).items():
        image_id = key if key in targets.encounter_of else image_id_from_file(str(key))
        if image_id in targets.encounter_of:
            sources[image_id] = array
        else:
            problems.append(Problem.of("file-ignored", f"{key} is not an image of the split",
                                       image_id=str(key)))
    reported = {p.image_id for p in problems}
    problems.extend(Problem.of("pack-no-input", f"no prediction for {image_id}", image_id=image_id,
                               encounter_id=targets.encounter_of[image_id])
                    for image_id in targets.image_ids
                    if image_id not in sources and image_id not in reported)
    return sources, problems


def _write_validated_zip(stage: Path, output: Path, checks: ValidationChecks, suffix: str,
                         problems: list[Problem], fixes: list[str]) -> ValidationReport:
    """Zip ``stage`` next to ``output``, validate it, and only then rename it into place."""
    # A sibling created with open(..., "x") (not mkstemp): the zip gets the usual umask permissions.
    part = output.parent / f".{output.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        part.open("xb").close()
    except OSError as exc:
        raise MagicError(f"cannot write the output ({exc.strerror})", file=output) from None
    try:
        _write_zip(stage, part)
        report = validate_submission(part, checks=checks, suffix=suffix)
        report = ValidationReport.from_problems(problems + report.problems,
                                                {**report.summary, "submission": str(output)})
        if not report.valid:
            raise PackError(report, fixes)
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return report


def pack_submission(
    split: str | Path | Sequence[Encounter],
    images_dir: str | Path,
    *,
    masks_dir: str | Path | None = None,
    masks: Mapping[str, np.ndarray] | None = None,
    cvqa: str | Path | Sequence[Any] | None = None,
    output: str | Path,
    fix: bool = False,
    suffix: str = DEFAULT_SUFFIX,
) -> PackResult:
    """Write a validated submission zip; raise :class:`PackError` (nothing written) when invalid.

    ``masks`` maps image ids (with or without extension) to arrays, ``masks_dir`` holds one file
    per image named after its id; without either, ``masks_preds/`` is empty (segmentation skipped).
    ``cvqa`` is a JSON file or the records themselves; None writes ``[]`` (CVQA skipped).
    """
    output = Path(output)
    if output.is_dir():
        raise MagicError("the output is a folder", file=output, hint="name the zip to write")
    checks = prepare_checks(split, images_dir=Path(images_dir))  # the image sizes, read once
    targets, sizes = checks.targets, checks.sizes
    sources, problems = _mask_sources(targets, masks_dir, masks, fix)
    records, cvqa_problems, fixes = prepare_cvqa(cvqa, targets, fix=fix)
    problems.extend(cvqa_problems)
    with tempfile.TemporaryDirectory(prefix="magic-pack-") as tmp:
        stage = Path(tmp)
        (stage / MASKS_PRED_DIR).mkdir()

        def write_one(image_id: str) -> tuple[list[Problem], list[str]]:
            source = sources[image_id]
            label = str(source) if isinstance(source, Path) else f"masks[{image_id!r}]"
            try:
                array = _load_input(source) if isinstance(source, Path) else source
            except MaskFileError as exc:
                return [Problem.of("mask-unreadable", exc.message, file=label, image_id=image_id)], []
            mask, found, done = prepare_mask(array, sizes.sizes.get(image_id), fix=fix, label=label,
                                             image_id=image_id)
            if isinstance(source, Path) and extension(source.name).lower() in FIXABLE_EXTENSIONS:
                done.insert(0, f"{image_id}: {source.name} converted to a TIFF")
            if mask is not None:
                write_mask(stage / MASKS_PRED_DIR / mask_file_name(image_id, suffix), mask)
            return found, done

        with ThreadPoolExecutor(max_workers=DEFAULT_WORKERS) as pool:
            for found, done in pool.map(write_one, [i for i in targets.image_ids if i in sources]):
                problems.extend(found)
                fixes.extend(done)
        if records is None or any(p.severity == ERROR for p in problems):
            raise PackError(ValidationReport.from_problems(problems + sizes.problems,
                                                           {"output": None}), fixes)
        try:
            text = json.dumps(records, indent=2, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:  # in-memory records holding non-JSON objects
            raise MagicError(f"the CVQA records cannot be written as JSON ({exc})",
                             hint="use str keys and int values") from None
        (stage / CVQA_SUBMISSION_FILE).write_text(text, encoding="utf-8")
        report = _write_validated_zip(stage, output, checks, suffix, problems, fixes)
    return PackResult(output, report, fixes)
