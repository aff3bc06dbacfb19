"""``magic predict seg`` end to end: a trained run (or several) to a validated submission.

Writes into ``output``: ``submission/masks_preds/`` (one ``IMG_..._mask_sys.tiff`` per photo of
the split, at its stored size), ``submission/data_cvqa_sys.json`` (``[]``), ``submission.zip``
(validated, as ``run-baseline`` packs it), with ``save_probabilities`` ``probabilities/`` (one
uint8 map per photo and ``probabilities.json``), and ``prediction.json`` (what was predicted,
from what, with which threshold, how fast). Everything is written into a temporary folder
beside ``output`` and moved into place at the end (:func:`baselines.common.staged_output`): a
failed prediction leaves nothing behind, and no input (a run, a member) may lie inside
``output``.

The photos come from the split's query file, which also gives each photo its encounter's prompt
and its official name; a folder of photos without one is refused (see :func:`locate_photos`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.common import PREDICTION_FILE, SUBMISSION_DIR, options_record, staged_output
from baselines.runtime import session
from baselines.seg.data import load_samples
from baselines.seg.inference import TTA_CHOICES
from baselines.seg.members import PROBABILITIES_DIR, average_maps, open_member
from baselines.seg.model import ENCODE_BATCH
from baselines.seg.outputs import PROBABILITY_FORMATS, SUBMISSION_ZIP, write_prediction
from magic_submit.challenge import MASKS_PRED_DIR
from magic_submit.dataset import DatasetLayout, locate_split, split_file, split_name
from magic_submit.errors import UsageError
from magic_submit.jsonio import dumps_strict, write_atomic
from magic_submit.naming import IMAGE_EXTENSIONS, image_id_from_file

PRODUCTS = (SUBMISSION_DIR, SUBMISSION_ZIP, PROBABILITIES_DIR, PREDICTION_FILE)


@dataclass(frozen=True)
class PredictSegOptions:
    """Every option of ``magic predict seg`` (``members``: ``--run``, then ``run_only``, or the
    ``--ensemble`` list)."""

    data: Path | None  # the dataset root; None when ``split`` is a query file's path
    output: Path
    members: tuple[Path, ...]
    run_only: bool = False
    split: str = "test"
    images: Path | None = None
    threshold: float | None = None
    tta: str = "none"
    save_probabilities: bool = False
    probability_format: str = "png"
    batch_size: int = ENCODE_BATCH
    device: str = "auto"
    workers: int | None = None
    overwrite: bool = False


@dataclass
class PredictSegResult:
    record: dict[str, Any]  # prediction.json
    submission_zip: Path
    masks_dir: Path


def _unlisted_photos(images_dir: Path, listed: set[str]) -> list[str]:
    """Photos in ``images_dir`` that the split does not list (they have no prompt)."""
    return sorted(p.name for p in images_dir.iterdir()
                  if p.suffix.lower() in IMAGE_EXTENSIONS and image_id_from_file(p.name) not in listed)


def locate_photos(opts: PredictSegOptions) -> tuple[DatasetLayout, Path, Path]:
    """(layout, query file, photo folder) of the split to predict.

    The query file is required even with ``--images``: it lists the photos, names their masks
    and gives the prompt of each (the run's model was trained on those texts).
    """
    if opts.images is not None and opts.data is None and split_file(opts.split) is None:
        raise UsageError("--images needs the split's query file: it lists the photos, names "
                         "their masks and gives each encounter's prompt", code="split-needs-root",
                         hint=f"add --split path/to/{opts.split}.json (or --data DIR with the "
                         "split's name)")
    layout, queries = locate_split(opts.split, opts.data)
    images_dir = Path(opts.images) if opts.images else layout.require_images(opts.split)
    return layout, queries, images_dir


def predict_seg(opts: PredictSegOptions, *, note: Callable[[str], None] = lambda text: None,
                on_start: Callable[[int], None] = lambda total: None,
                on_image: Callable[[], None] | None = None) -> PredictSegResult:
    """Predict every photo of ``opts.split`` with the members' mean map (see the module doc);
    ``on_start(n)`` hears the number of photos, ``on_image()`` each one written."""
    if not opts.members:
        raise ValueError("give at least one run or probability folder")
    if opts.tta not in TTA_CHOICES or opts.probability_format not in PROBABILITY_FORMATS:
        raise ValueError("unknown tta or probability format")
    started = time.perf_counter()
    output = Path(opts.output)
    layout, queries, images_dir = locate_photos(opts)
    with staged_output(output, PRODUCTS, overwrite=opts.overwrite,
                       inputs=[*opts.members, queries, images_dir]) as staging:
        record = _predict_into(staging, output, opts, layout, queries, images_dir, started,
                               note=note, on_start=on_start, on_image=on_image)
    return PredictSegResult(record, output / SUBMISSION_ZIP,
                            output / SUBMISSION_DIR / MASKS_PRED_DIR)


def _predict_into(staging: Path, output: Path, opts: PredictSegOptions, layout: DatasetLayout,
                  queries: Path, images_dir: Path, started: float, *, note: Callable[[str], None],
                  on_start: Callable[[int], None],
                  on_image: Callable[[], None] | None) -> dict[str, Any]:
    """Write the prediction into ``staging``; return ``prediction.json``'s record, whose paths
    name ``output`` (where the files will be)."""
    samples = load_samples(layout.root, opts.split, need_masks=False, images_dir=images_dir)
    name = split_name(opts.split)
    on_start(len(samples))
    notes: list[str] = []
    if opts.images is not None:
        extra = _unlisted_photos(images_dir, {s.image_id for s in samples})
        if extra:
            notes.append(f"{len(extra)} photo(s) in {images_dir} are not listed by "
                         f"'{name}' (no prompt): not predicted: {', '.join(extra[:10])}")
    with session(opts.device, 0, distributed=False) as runtime:
        members = [open_member(path, runtime, run_only=opts.run_only, tta=opts.tta,
                               batch_size=opts.batch_size, workers=opts.workers)
                   for path in opts.members]
        thresholds = [m.threshold for m in members]
        threshold = opts.threshold if opts.threshold is not None else sum(thresholds) / len(thresholds)
        if opts.threshold is None and len(set(thresholds)) > 1:
            notes.append(f"the members' thresholds differ ({', '.join(map(str, thresholds))}): "
                         f"their mean {threshold:g} is used; --threshold sets another")
        for line in notes:
            note(line)
        tick = time.perf_counter()
        write_prediction(
            staging, samples, average_maps(members, samples), threshold,
            queries=queries, images_dir=images_dir,
            probabilities_dir=staging / PROBABILITIES_DIR if opts.save_probabilities else None,
            probability_format=opts.probability_format, workers=opts.workers, on_image=on_image,
            manifest={"split": name, "sources": [m.describe() for m in members]})
        seconds = time.perf_counter() - tick
        sources = [m.describe() for m in members]
        device, precision = str(runtime.device), runtime.precision
    options = options_record(opts)
    options["members"] = [str(p) for p in options.pop("members")]  # as text, last
    record = {
        "command": "predict seg", "split": name, "queries": str(queries), "images": str(images_dir),
        "members": sources, "threshold": threshold, "tta": opts.tta, "n_predicted": len(samples),
        "submission": str(output / SUBMISSION_ZIP), "submission_valid": True,
        "probabilities": str(output / PROBABILITIES_DIR) if opts.save_probabilities else None,
        "device": device, "precision": precision, "notes": notes,
        "timings": {"predict_s": seconds, "total_s": time.perf_counter() - started,
                    "photos_per_s": len(samples) / seconds if seconds else None},
        "options": options,
    }
    write_atomic(staging / PREDICTION_FILE, dumps_strict(record))
    return record
