"""The scorer's I/O: find mask files the official way, read each once on a thread pool, score.

Pure metric code lives in :mod:`evaluation.segmentation` and :mod:`evaluation.cvqa`; this module
only reads files and turns the official scorer's crashes into :class:`MagicError` messages that
list every culprit at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.cvqa import CvqaResult, score_cvqa
from evaluation.segmentation import (
    EMPTY_IS_ONE_SUFFIX, FLOAT_SEG_KEYS, PREDICTION_SIDE, REFERENCE_SIDE, ImageResult,
    SegmentationAggregate, ShapeMismatchError, Workspace, score_image,
)
from magic_submit.challenge import ANNOTATORS, DEFAULT_SUFFIX, DEFAULT_WORKERS
from magic_submit.errors import MagicError, MissingPredictionsError
from magic_submit.jsonio import read_json
from magic_submit.masks import MaskFileError, read_mask
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

    def duplicate_names(self, labeler: str | None = None) -> list[str]:
        """``"a.tiff / b.tiff"`` for each duplicate pair (of one labeler, or of all)."""
        labelers = [labeler] if labeler is not None else list(self.duplicates)
        return [f"{a.name} / {b.name}" for lab in labelers for a, b in self.duplicates.get(lab, [])]


def index_masks(folder: str | Path) -> IndexedMasks:
    """Every ``*.tiff`` directly in ``folder`` (not in subfolders), keyed like the official scorer."""
    folder = Path(folder)
    by_labeler: MaskIndex = {}
    duplicates: dict[str, list[tuple[Path, Path]]] = {}
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_file() and is_scanned_mask_name(e.name))
    for name in names:
        image_id, labeler = parse_mask_file_name(name)
        files = by_labeler.setdefault(labeler, {})
        if image_id in files:  # e.g. X_mask_sys.tiff and X_mask_sys.tiff.tiff: glob order decides
            duplicates.setdefault(labeler, []).append((files[image_id], folder / name))
        files[image_id] = folder / name
    return IndexedMasks(folder, by_labeler, duplicates)


@dataclass
class SegmentationReport:
    """Figures (official keys + ``_empty_is_one`` keys) with the per-image results behind them."""

    scores: dict[str, float | int]
    images: list[ImageResult]
    notes: list[str] = field(default_factory=list)

    @property
    def nan_images(self) -> list[str]:
        """Images whose official figure is NaN (prediction and an annotator mask both empty)."""
        return [r.image_id for r in self.images if r.has_nan]


def _zero_segmentation(n_images: int) -> dict[str, float | int]:
    scores: dict[str, float | int] = {k: 0.0 for k in FLOAT_SEG_KEYS}
    scores["number_segmentation_instances"] = n_images
    scores.update({k + EMPTY_IS_ONE_SUFFIX: 0.0 for k in FLOAT_SEG_KEYS})
    return scores


def score_segmentation(
    pred_dir: str | Path,
    ref_dir: str | Path,
    *,
    suffix: str = DEFAULT_SUFFIX,
    allow_missing: bool = False,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[], None] | None = None,
) -> SegmentationReport:
    """Score every reference image; raise :class:`MagicError` where the official scorer crashes.

    ``on_start(n)`` is called once with the number of images about to be read, ``on_image()``
    after each (progress bars).
    """
    ref = index_masks(ref_dir)
    pred = index_masks(pred_dir)
    if ref.duplicates:
        raise MagicError("reference masks with two files for one image and annotator",
                         file=ref.folder, ids=ref.duplicate_names())
    image_ids = sorted(ref.image_ids)
    if not image_ids:
        raise MagicError("no reference mask (*.tiff) found", file=ref.folder,
                         hint="pass the folder holding IMG_..._mask_annK.tiff")
    gold_of = {i: {a: ref.by_labeler[a][i] for a in ANNOTATORS if i in ref.by_labeler.get(a, {})}
               for i in image_ids}
    unlabelled = [i for i, golds in gold_of.items() if not golds]
    if unlabelled:
        raise MagicError("reference images without any ann0..ann3 mask (the official scorer crashes)",
                         file=ref.folder, ids=unlabelled)
    notes: list[str] = []
    preds = pred.by_labeler.get(suffix, {})
    if not pred.by_labeler:
        notes.append(f"{pred.folder} holds no *.tiff mask: the platform scores segmentation 0.0")
        return SegmentationReport(_zero_segmentation(len(image_ids)), [], notes)
    if pred.duplicates.get(suffix):
        raise MagicError("two prediction files map to the same image", file=pred.folder,
                         ids=pred.duplicate_names(suffix),
                         hint=f"keep exactly one IMG_..._mask_{suffix}.tiff per image")
    missing = [i for i in image_ids if i not in preds]
    if missing and not allow_missing:
        other = sorted(set(pred.by_labeler) - {suffix})
        hint = "write one mask per reference image, or pass --allow-missing to score them as empty"
        if other:
            hint += f"; files with other suffixes were found: {', '.join(other)} (see --suffix)"
        raise MissingPredictionsError(
            f"{len(missing)} of {len(image_ids)} reference images have no *_mask_{suffix}.tiff "
            "(the official scorer crashes)", file=pred.folder, ids=missing, hint=hint)
    if missing:
        notes.append(f"--allow-missing: {len(missing)} image(s) without a prediction scored as empty")
    extra = sorted(set(preds) - set(image_ids))
    if extra:
        notes.append(f"{len(extra)} prediction file(s) for images outside the reference were ignored")

    local = threading.local()

    def score_one(image_id: str) -> ImageResult | _Failure:
        if not hasattr(local, "workspace"):
            local.workspace = Workspace()
        try:
            golds = {a: read_mask(path) for a, path in gold_of[image_id].items()}
        except MaskFileError as exc:
            return _Failure(REFERENCE_SIDE, exc)
        pred_path = preds.get(image_id)
        try:
            pred_mask = read_mask(pred_path) if pred_path is not None else None
        except MaskFileError as exc:
            return _Failure(PREDICTION_SIDE, exc)
        try:
            return score_image(image_id, pred_mask, golds, local.workspace)
        except ShapeMismatchError as exc:
            if exc.side == REFERENCE_SIDE:
                files = ", ".join(p.name for p in gold_of[image_id].values())
                return _Failure(REFERENCE_SIDE, MagicError(f"{exc} ({files})", file=ref.folder))
            return _Failure(PREDICTION_SIDE, MagicError(
                f"prediction and reference sizes differ: {exc}", file=pred_path))

    if on_start is not None:
        on_start(len(image_ids))
    results: list[ImageResult] = []
    failures: list[_Failure] = []
    with ThreadPoolExecutor(max_workers=workers or DEFAULT_WORKERS) as pool:
        for outcome in pool.map(score_one, image_ids):
            if isinstance(outcome, _Failure):
                failures.append(outcome)
            else:
                results.append(outcome)
            if on_image is not None:
                on_image()
    if failures:
        raise _failures_error(failures)
    for r in results:
        if r.pred_shape is not None and r.pred_shape != r.shape:
            notes.append(f"{r.image_id}: prediction shape {r.pred_shape} differs from the reference "
                         f"{r.shape} with the same pixel count; scored flattened, as officially")
    return SegmentationReport(SegmentationAggregate(results).compute(), results, notes)


@dataclass(frozen=True)
class _Failure:
    """An image the official scorer would crash on, and which side's file is at fault."""

    side: str  # PREDICTION_SIDE or REFERENCE_SIDE
    error: MagicError


_FIX_BY_SIDE = {
    PREDICTION_SIDE: "write 2-D masks of each image's exact size with tifffile (magic pack checks "
                     "them)",
    REFERENCE_SIDE: "the reference masks are damaged or inconsistent: check the organisers' "
                    "masks_refs/ (or the dataset's dermavqa-segmentations/ folder)",
}


def _failures_error(failures: list[_Failure]) -> MagicError:
    """One error listing every image that cannot be scored, each line naming its file."""
    sides = [s for s in (REFERENCE_SIDE, PREDICTION_SIDE) if any(f.side == s for f in failures)]
    lines = "\n  ".join(f"[{f.side}] {f.error.render(with_hint=False)}" for f in failures[:50])
    more = f"\n  (+{len(failures) - 50} more)" if len(failures) > 50 else ""
    # The ids are in the lines already: the error carries none, so they are not printed twice.
    return MagicError(f"{len(failures)} image(s) cannot be scored (the official scorer crashes):"
                      f"\n  {lines}{more}", code="mask-unscorable",
                      hint="; ".join(_FIX_BY_SIDE[side] for side in sides))


@dataclass
class CvqaReport:
    scores: dict[str, float | int]
    result: CvqaResult
    notes: list[str] = field(default_factory=list)


def _records(data: object, path: Path) -> list[Mapping]:
    if not isinstance(data, list):
        raise MagicError(f"holds a {type(data).__name__}, not a list of encounter records",
                         file=path, hint="write a JSON list with one object per encounter")
    return data


def score_cvqa_files(pred_file: str | Path, ref_file: str | Path, *,
                     allow_missing: bool = False) -> CvqaReport:
    """Official CVQA figures of a submission file against a gold file."""
    pred_file, ref_file = Path(pred_file), Path(ref_file)
    gold = _records(read_json(ref_file, what="gold CVQA file"), ref_file)
    system = _records(read_json(pred_file, what="submission CVQA file"), pred_file)
    result = score_cvqa(gold, system, allow_missing=allow_missing, gold_source=str(ref_file),
                        system_source=str(pred_file))
    notes: list[str] = []
    if not system:
        notes.append(f"{pred_file.name} is an empty list: the platform scores CVQA 0.0")
    elif result.missing:
        notes.append(f"--allow-missing: {len(result.missing)} encounter(s)/parent(s) without an "
                     "answer scored as wrong")
    return CvqaReport(result.scores, result, notes)
