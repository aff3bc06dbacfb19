"""Segmentation scoring of two mask folders: find the files the official way, read each once on a
thread pool, score with :mod:`evaluation.segmentation`.

The metric is pure code in :mod:`evaluation`; this module only reads files and turns the official
scorer's crashes (and hangs) into :class:`~magic_submit.errors.MagicError` messages that list
every culprit at once. Each image's TIFF headers are read first and their shapes checked against
one another (:func:`evaluation.pixels.check_image_shapes`): a prediction that cannot be scored
is never decoded.
"""

from __future__ import annotations

import filecmp
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.errors import PREDICTION_SIDE, REFERENCE_SIDE, ShapeMismatchError
from evaluation.facts import ANNOTATORS, DEFAULT_SUFFIX
from evaluation.pixels import check_image_shapes
from evaluation.segmentation import (
    ImageResult, SegmentationAggregate, Workspace, score_image, zero_segmentation_scores,
)
from magic_submit.challenge import DEFAULT_WORKERS
from magic_submit.errors import MagicError, MissingPredictionsError
from magic_submit.masks import MaskFileError, open_mask
from magic_submit.naming import parse_mask_file_name
from magic_submit.mask_index import IndexedMasks, index_masks
from magic_submit.validation.mask_content import MaskFacts, mask_facts


@dataclass
class SegmentationReport:
    """Figures (official keys + ``_empty_is_one`` keys) with the per-image results behind them.

    ``predictions`` holds what each prediction read contains (:class:`MaskFacts`), from which
    :mod:`magic_submit.scoring.slips` finds the masks ``magic validate-submission`` would refuse;
    ``identical_duplicates`` the pairs of identical files read as one prediction.
    """

    scores: dict[str, float | int]
    images: list[ImageResult]
    notes: list[str] = field(default_factory=list)
    predictions: dict[str, MaskFacts] = field(default_factory=dict)
    prediction_files: dict[str, Path] = field(default_factory=dict)
    identical_duplicates: list[str] = field(default_factory=list)  # "a.tiff / b.tiff" pairs

    @property
    def nan_images(self) -> list[str]:
        """Images whose official figure is NaN (prediction and an annotator mask both empty)."""
        return [r.image_id for r in self.images if r.has_nan]


def zero_report(reason: str | None) -> SegmentationReport:
    """The official figures of a submission without any ``*.tiff`` prediction (``reason``, a
    note, says why): 0.0 everywhere, ``number_segmentation_instances`` = 0."""
    return SegmentationReport(zero_segmentation_scores(), [], [reason] if reason else [])


def _duplicate_pairs(index: IndexedMasks, labeler: str,
                     image_ids: set[str]) -> tuple[list[str], list[str]]:
    """(differing, identical) pairs of files read as one reference image's ``labeler`` mask:
    for differing ones the official result depends on directory order."""
    differing, identical = [], []
    for first, second in index.duplicates.get(labeler, []):
        if parse_mask_file_name(first.name)[0] not in image_ids:
            continue  # an image outside the reference: never read
        pair = f"{first.name} / {second.name}"
        (identical if _same_content(first, second) else differing).append(pair)
    return differing, identical


def _same_content(first: Path, second: Path) -> bool:
    try:
        return first.is_file() and second.is_file() and filecmp.cmp(first, second, shallow=False)
    except OSError:
        return False


def _order_error(pairs: list[str], folder: Path, labeler: str) -> MagicError:
    return MagicError(f"{len(pairs)} image(s) have two different files read as their {labeler} mask: "
                      "the official scorer keeps whichever its directory listing (glob) returns "
                      "last, so its result depends on directory order; magic does not guess",
                      file=folder, ids=pairs, code="mask-duplicate",
                      hint=f"keep exactly one IMG_..._mask_{labeler}.tiff per image")


def score_segmentation(
    pred_dir: str | Path | None,
    ref_dir: str | Path,
    *,
    suffix: str = DEFAULT_SUFFIX,
    allow_missing: bool = False,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[], None] | None = None,
) -> SegmentationReport:
    """Score every reference image; raise :class:`MagicError` where the official scorer crashes,
    hangs or depends on directory order.

    A ``pred_dir`` that is None, or holds no ``*.tiff`` of any suffix, gives the official zeros
    (checked before anything else, as officially). ``on_start(n)`` is called once with the
    number of images about to be read, ``on_image()`` after each (progress bars). ``workers``:
    the threads reading masks (None or 0: :data:`DEFAULT_WORKERS`).
    """
    pred = index_masks(pred_dir) if pred_dir is not None else None
    if pred is None or not pred.image_ids:
        where = f"{pred.folder} holds no *.tiff mask" if pred else "no prediction folder"
        return zero_report(f"{where}: the official scorer scores segmentation 0.0 with "
                           "number_segmentation_instances = 0")
    ref = index_masks(ref_dir)
    image_ids = sorted(ref.image_ids)
    if not image_ids:
        raise MagicError("no reference mask (*.tiff) found (the official scorer crashes: "
                         "ZeroDivisionError)", file=ref.folder,
                         hint="pass the folder holding IMG_..._mask_annK.tiff")
    notes: list[str] = []
    for labeler in ANNOTATORS:
        differing, identical = _duplicate_pairs(ref, labeler, set(image_ids))
        if differing:
            raise _order_error(differing, ref.folder, labeler)
        notes.extend(f"reference {pair}: identical files read as one mask (the order does not "
                     "matter)" for pair in identical)
    gold_of = {i: {a: ref.by_labeler[a][i] for a in ANNOTATORS if i in ref.by_labeler.get(a, {})}
               for i in image_ids}
    unlabelled = [i for i, golds in gold_of.items() if not golds]
    if unlabelled:
        raise MagicError("reference images without any ann0..ann3 mask (the official scorer crashes)",
                         file=ref.folder, ids=unlabelled)
    preds = pred.by_labeler.get(suffix, {})
    differing, identical = _duplicate_pairs(pred, suffix, set(image_ids))
    if differing:
        raise _order_error(differing, pred.folder, suffix)
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
    reader = _ImageReader(gold_of, preds, ref.folder)
    if on_start is not None:
        on_start(len(image_ids))
    results: list[ImageResult] = []
    facts: dict[str, MaskFacts] = {}
    failures: list[_Failure] = []
    with ThreadPoolExecutor(max_workers=workers or DEFAULT_WORKERS) as pool:
        for outcome in pool.map(reader.score, image_ids):
            if isinstance(outcome, _Failure):
                failures.append(outcome)
            else:
                results.append(outcome[0])
                if outcome[1] is not None:
                    facts[outcome[0].image_id] = outcome[1]
            if on_image is not None:
                on_image()
    if failures:
        raise _failures_error(failures)
    return SegmentationReport(SegmentationAggregate(results).compute(), results, notes, facts,
                              {i: preds[i] for i in facts}, identical)


@dataclass(frozen=True)
class _Failure:
    """An image the official scorer would crash (or hang) on, and which side's file is at fault."""

    side: str  # PREDICTION_SIDE or REFERENCE_SIDE
    error: MagicError


class _ImageReader:
    """Reads and scores one image at a time, on any thread (one workspace per thread)."""

    def __init__(self, gold_of: dict[str, dict[str, Path]], preds: dict[str, Path],
                 ref_folder: Path) -> None:
        self.gold_of, self.preds, self.ref_folder = gold_of, preds, ref_folder
        self.local = threading.local()

    def score(self, image_id: str) -> tuple[ImageResult, MaskFacts | None] | _Failure:
        """Headers first (size guard, shapes checked together), then decode and score."""
        if not hasattr(self.local, "workspace"):
            self.local.workspace = Workspace()
        gold_paths, pred_path = self.gold_of[image_id], self.preds.get(image_id)
        with ExitStack() as stack:
            try:
                golds = {a: stack.enter_context(open_mask(p)) for a, p in gold_paths.items()}
            except MaskFileError as exc:
                return _Failure(REFERENCE_SIDE, exc)
            try:
                pred = stack.enter_context(open_mask(pred_path)) if pred_path is not None else None
            except MaskFileError as exc:
                return _Failure(PREDICTION_SIDE, exc)
            try:
                check_image_shapes(pred.shape if pred else None,
                                   [g.shape for g in golds.values()], image_id)
            except ShapeMismatchError as exc:
                return self._shape_failure(exc, image_id, pred_path)
            try:
                gold_arrays = {a: g.read() for a, g in golds.items()}
            except MaskFileError as exc:
                return _Failure(REFERENCE_SIDE, exc)
            try:
                pred_array = pred.read() if pred is not None else None
            except MaskFileError as exc:
                return _Failure(PREDICTION_SIDE, exc)
        try:
            result = score_image(image_id, pred_array, gold_arrays, self.local.workspace)
        except ShapeMismatchError as exc:  # decoded shapes disagree with the headers': rare
            return self._shape_failure(exc, image_id, pred_path)
        return result, (mask_facts(pred_array) if pred_array is not None else None)

    def _shape_failure(self, exc: ShapeMismatchError, image_id: str,
                       pred_path: Path | None) -> _Failure:
        if exc.side == REFERENCE_SIDE:
            files = ", ".join(p.name for p in self.gold_of[image_id].values())
            return _Failure(REFERENCE_SIDE, MagicError(f"{exc} ({files})", file=self.ref_folder))
        return _Failure(PREDICTION_SIDE, MagicError(
            f"prediction and reference sizes differ: {exc} (numpy cannot broadcast them)",
            file=pred_path))


_FIX_BY_SIDE = {
    PREDICTION_SIDE: "write 2-D masks of each image's exact size with tifffile (magic pack checks "
                     "them)",
    REFERENCE_SIDE: "the reference masks are damaged or inconsistent: check the organisers' "
                    "masks_refs/ (or the dataset's dermavqa-segmentations/ folder)",
}


def _failures_error(failures: list[_Failure]) -> MagicError:
    """One error listing every image that cannot be scored, each line naming its file."""
    sides = [s for s in (REFERENCE_SIDE, PREDICTION_SIDE) if any(f.side == s for f in failures)]
    lines = [f"[{f.side}] {f.error.render(with_hint=False)}" for f in failures]
    shown = "\n  ".join(lines[:50])
    more = f"\n  (+{len(failures) - 50} more)" if len(failures) > 50 else ""
    effect = ("the official scorer crashes or hangs at the first of them it reaches, as each line "
              "says" if any("hangs" in line for line in lines) else "the official scorer crashes")
    # The ids are in the lines already: the error carries none, so they are not printed twice.
    return MagicError(f"{len(failures)} image(s) cannot be scored ({effect}):\n  {shown}{more}",
                      code="mask-unscorable", hint="; ".join(_FIX_BY_SIDE[side] for side in sides))
