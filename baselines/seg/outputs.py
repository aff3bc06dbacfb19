"""Probability maps to files: the masks of a submission, the saved probabilities, the zip.

Every segmentation prediction (``run-baseline seg``, ``magic predict seg``, an ensemble) ends
here: one probability map per photo at its stored size goes to :class:`PredictionWriter`, which
thresholds it (:func:`baselines.seg.predict.binary_mask`) into ``IMG_..._mask_sys.tiff`` and,
when asked, quantises it into a probability file; :func:`finish_submission` then adds the empty
CVQA part and packs the validated ``submission.zip``.

Saved probabilities are uint8, ``round(255 * p)``, as a PNG or a zlib-compressed TIFF named
``IMG_..._prob.png`` / ``.tiff``, next to ``probabilities.json`` (split, threshold, sources, image
ids), so that maps of several runs can be averaged later. A map read back is ``value / 255``:
within 1/510 of the original.

>>> import torch
>>> quantize(torch.tensor([0.0, 0.3, 0.5, 0.502, 1.0])).tolist()
[0, 76, 128, 128, 255]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from baselines.common import SUBMISSION_DIR
from baselines.seg.predict import binary_mask
from magic_submit.challenge import CVQA_SUBMISSION_FILE
from magic_submit.errors import MagicError
from magic_submit.jsonio import dumps_strict, read_json, write_atomic
from magic_submit.masks import write_mask
from magic_submit.naming import mask_file_name, probability_file_name
from magic_submit.photos import default_workers, open_image

PROBABILITY_FORMATS: tuple[str, ...] = ("png", "tiff")
PROBABILITY_MANIFEST = "probabilities.json"
SUBMISSION_ZIP = "submission.zip"
LEVELS = 255  # uint8 quantisation of probabilities


def quantize(probabilities: Any) -> np.ndarray:
    """uint8 ``round(255 * p)`` of a torch probability map, computed where the map lives."""
    import torch

    return torch.round(probabilities.float() * LEVELS).to(torch.uint8).cpu().numpy()


def write_probability(path: Path, levels: np.ndarray) -> None:
    """A uint8 map as an 8-bit grey PNG or a zlib-compressed TIFF (by ``path``'s suffix)."""
    if path.suffix == ".png":
        from PIL import Image

        Image.fromarray(levels, mode="L").save(path, compress_level=1)
    else:
        import tifffile

        tifffile.imwrite(path, levels, compression="zlib", photometric="minisblack")


def read_probability(path: Path) -> np.ndarray:
    """A saved map back as float32 probabilities (``value / 255``), or a :class:`MagicError`."""
    if path.suffix == ".png":
        with open_image(path) as image:
            levels = np.asarray(image)
    else:
        from magic_submit.masks import read_mask

        levels = read_mask(path)
    if levels.dtype != np.uint8 or levels.ndim != 2:
        raise MagicError(f"not a probability map written by --save-probabilities (dtype "
                         f"{levels.dtype}, {levels.ndim} dimensions)", file=path,
                         hint="save the maps again with magic predict seg --save-probabilities")
    return levels.astype(np.float32) / LEVELS


class PredictionWriter:
    """Writes each photo's mask (and its probability file) on a thread pool as maps arrive.

    Use as a context manager; :meth:`add` takes a ``[h, w]`` probability map (torch, any
    device). At most a few writes wait at a time, so memory stays flat over any number of photos.
    """

    def __init__(self, masks_dir: Path, threshold: float, *, probabilities_dir: Path | None = None,
                 probability_format: str = "png", workers: int | None = None) -> None:
        if probability_format not in PROBABILITY_FORMATS:
            raise ValueError(f"probability format must be one of {PROBABILITY_FORMATS}")
        self.masks_dir, self.threshold = Path(masks_dir), threshold
        self.probabilities_dir, self.format = probabilities_dir, probability_format
        self.workers = workers or default_workers()
        self.image_ids: list[str] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    def __enter__(self) -> "PredictionWriter":
        self.masks_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.masks_dir.glob("*.tiff"):
            stale.unlink()  # masks of an earlier prediction must not mix with these
        if self.probabilities_dir is not None:
            self.probabilities_dir.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=self.workers)
        return self

    def add(self, image_id: str, probabilities: Any) -> None:
        assert self._pool is not None, "use PredictionWriter as a context manager"
        self.image_ids.append(image_id)
        self._wait(keep=2 * self.workers)
        mask = binary_mask(probabilities, self.threshold)
        self._pending.append(self._pool.submit(write_mask, self.masks_dir / mask_file_name(image_id),
                                               mask))
        if self.probabilities_dir is not None:
            path = self.probabilities_dir / probability_file_name(image_id, self.format)
            self._pending.append(self._pool.submit(write_probability, path, quantize(probabilities)))

    def _wait(self, keep: int) -> None:
        while len(self._pending) > keep:
            self._pending.pop(0).result()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        assert self._pool is not None
        if exc_type is not None:  # the prediction failed: its error is the one to report
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        try:
            self._wait(keep=0)
        finally:
            self._pool.shutdown(wait=True)

    def write_manifest(self, details: dict[str, Any]) -> Path | None:
        """``probabilities.json``: the format, the threshold, the image ids and ``details``."""
        if self.probabilities_dir is None:
            return None
        path = self.probabilities_dir / PROBABILITY_MANIFEST
        write_atomic(path, dumps_strict({"format": self.format, "encoding": "uint8 round(255 * p)",
                                         "threshold": self.threshold, **details,
                                         "image_ids": self.image_ids}))
        return path


def read_manifest(folder: Path) -> dict[str, Any]:
    """``probabilities.json`` of a folder written by :class:`PredictionWriter`."""
    data = read_json(folder / PROBABILITY_MANIFEST, what="probability manifest")
    if not isinstance(data, dict) or data.get("format") not in PROBABILITY_FORMATS \
            or not isinstance(data.get("threshold"), (int, float)):
        raise MagicError("not a manifest written by --save-probabilities",
                         file=folder / PROBABILITY_MANIFEST)
    return data


def finish_submission(folder: Path, queries: Path, images_dir: Path, output_zip: Path) -> Any:
    """Add the empty CVQA part to ``folder`` (segmentation only: the platform scores it 0), then
    validate ``folder/masks_preds`` against the split's photos and write the zip (nothing written
    if invalid). Returns :func:`magic_submit.packing.pack_submission`'s result."""
    from magic_submit.challenge import MASKS_PRED_DIR
    from magic_submit.packing import pack_submission

    write_atomic(folder / CVQA_SUBMISSION_FILE, "[]\n")
    return pack_submission(queries, images_dir, masks_dir=folder / MASKS_PRED_DIR,
                           output=output_zip)


def write_prediction(output: Path, samples: Sequence[Any], maps: Iterable[Any], threshold: float, *,
                     queries: Path, images_dir: Path, probabilities_dir: Path | None = None,
                     probability_format: str = "png", workers: int | None = None,
                     on_image: Callable[[], None] | None = None,
                     manifest: dict[str, Any] | None = None) -> tuple[PredictionWriter, Any]:
    """The one ending of every prediction: each sample's map (same order) thresholded into
    ``output/submission/masks_preds/`` (and quantised into ``probabilities_dir``), then the
    validated ``output/submission.zip``. Returns the writer (its ``image_ids``) and the pack result.
    """
    from magic_submit.challenge import MASKS_PRED_DIR

    folder = Path(output) / SUBMISSION_DIR
    writer = PredictionWriter(folder / MASKS_PRED_DIR, threshold,
                              probabilities_dir=probabilities_dir,
                              probability_format=probability_format, workers=workers)
    with writer:
        for sample, probabilities in zip(samples, maps, strict=True):
            writer.add(sample.image_id, probabilities)
            if on_image is not None:
                on_image()
    writer.write_manifest(manifest or {})
    return writer, finish_submission(folder, queries, images_dir, Path(output) / SUBMISSION_ZIP)
