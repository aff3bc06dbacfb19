"""Where probability maps come from: a trained run, or a folder of saved probabilities.

``magic predict seg --run R`` predicts with one run; ``--ensemble A --ensemble B ...`` takes runs
and probability folders (written by ``--save-probabilities``) alike, and averages their maps
photo by photo before thresholding once. Each member yields one float32 map per photo, at the
photo's stored size, on the runtime's device; one run alone is an ensemble of one (the average
of one map is that map, and of a map with itself too, to the last bit).

A folder is recognised by what it holds: ``metrics.json`` + ``model/`` (a run),
``probabilities.json`` (a probability folder), or a ``probabilities/`` folder holding one (the
output folder of ``magic predict seg --save-probabilities``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from baselines.common import METRICS_FILE, MODEL_DIR
from baselines.runtime import Runtime
from baselines.seg.data import SegSample
from baselines.seg.inference import iter_logits
from baselines.seg.model import ENCODE_BATCH
from baselines.seg.outputs import PROBABILITY_MANIFEST, read_manifest, read_probability
from baselines.seg.predict import probabilities_at_size
from baselines.seg.runs import SegRun, load_run_model, read_seg_run
from magic_submit.errors import MagicError
from magic_submit.photos import image_size
from magic_submit.naming import probability_file_name

PROBABILITIES_DIR = "probabilities"  # OUT/probabilities/ of magic predict seg --save-probabilities


class Member(Protocol):
    """A source of probability maps."""

    path: Path | None
    threshold: float

    def describe(self) -> dict[str, Any]: ...

    def maps(self, samples: Sequence[SegSample]) -> Iterator[Any]: ...


@dataclass
class ModelMember:
    """A loaded model predicting every photo (streamed, optionally with ``hflip``): a trained
    run's (:meth:`from_run`), or the one ``run-baseline`` has just trained."""

    model: Any
    processor: Any
    prompt: str
    threshold: float
    runtime: Runtime
    tta: str = "none"
    batch_size: int = ENCODE_BATCH
    workers: int | None = None
    path: Path | None = None
    prompt_counts: tuple[int, int] | None = None  # (cut at 77 tokens, distinct), once predicted

    @classmethod
    def from_run(cls, run: SegRun, runtime: Runtime, **settings: Any) -> "ModelMember":
        model, processor = load_run_model(run)  # a wrong model fails here, before any work
        return cls(model.to(runtime.device), processor, run.prompt, run.threshold, runtime,
                   path=run.folder, **settings)

    def describe(self) -> dict[str, Any]:
        described = {"kind": "run", "path": str(self.path), "threshold": self.threshold,
                     "prompt": self.prompt, "tta": self.tta}
        if self.prompt_counts is not None:  # known once the photos have been predicted
            described["prompts_cut_at_77_tokens"] = list(self.prompt_counts)
        return described

    def maps(self, samples: Sequence[SegSample]) -> Iterator[Any]:
        for size, logits in iter_logits(self.model, self.processor, samples, self.runtime,
                                        prompt_mode=self.prompt, tta=self.tta,
                                        batch_size=self.batch_size, workers=self.workers,
                                        on_prompts=self._count_prompts):
            yield probabilities_at_size(logits, size)

    def _count_prompts(self, cut: int, distinct: int) -> None:
        self.prompt_counts = (cut, distinct)


def cached_maps(logits: Any, sizes: Sequence[tuple[int, int]]) -> Iterator[Any]:
    """Maps of logits already computed (``run-baseline``'s best epoch on the valid split)."""
    for row, size in enumerate(sizes):
        yield probabilities_at_size(logits[row], size)


@dataclass
class ProbabilityMember:
    """A folder of saved maps (uint8 ``round(255 p)``), read back as ``value / 255``."""

    path: Path
    runtime: Runtime

    def __post_init__(self) -> None:
        self.manifest = read_manifest(self.path)

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])

    def describe(self) -> dict[str, Any]:
        return {"kind": "probabilities", "path": str(self.path), "threshold": self.threshold,
                "split": self.manifest.get("split")}

    def file(self, sample: SegSample) -> Path:
        return self.path / probability_file_name(sample.image_id, self.manifest["format"])

    def check(self, samples: Sequence[SegSample]) -> None:
        """Every photo must have its map (checked before any prediction starts)."""
        missing = [s.image_id for s in samples if not self.file(s).is_file()]
        if missing:
            raise MagicError(f"{len(missing)} photo(s) of the split have no saved probability map",
                             file=self.path, ids=missing, hint="ensemble maps saved for the same "
                             "split (magic predict seg --save-probabilities --split ...)")

    def maps(self, samples: Sequence[SegSample]) -> Iterator[Any]:
        import torch

        for sample in samples:
            probabilities = read_probability(self.file(sample))
            size = image_size(sample.image_path)
            if probabilities.shape != size:
                raise MagicError(f"{sample.image_id}: saved map of {probabilities.shape} for a photo "
                                 f"of {size}", file=self.file(sample), ids=[sample.image_id],
                                 hint="maps are saved at each photo's stored size: is this the "
                                 "same split?")
            yield torch.from_numpy(probabilities).to(self.runtime.device)


def open_member(path: str | Path, runtime: Runtime, *, run_only: bool = False, tta: str = "none",
                batch_size: int = ENCODE_BATCH, workers: int | None = None) -> Member:
    """The member a folder holds (see the module doc), or a :class:`MagicError`; ``run_only``:
    the folder must be a run (``--run``)."""
    path = Path(path)
    if run_only or not path.exists() or any((path / n).exists() for n in (METRICS_FILE, MODEL_DIR)):
        return ModelMember.from_run(read_seg_run(path), runtime, tta=tta, batch_size=batch_size,
                                    workers=workers)
    for folder in (path, path / PROBABILITIES_DIR):
        if (folder / PROBABILITY_MANIFEST).is_file():
            return ProbabilityMember(folder, runtime)
    raise MagicError("neither a run folder (metrics.json + model/) nor a probability folder "
                     "(probabilities.json)", file=path,
                     hint="pass the --output of 'magic run-baseline seg', or of 'magic predict seg "
                     "--save-probabilities'")


def average_maps(members: Sequence[Member], samples: Sequence[SegSample]) -> Iterator[Any]:
    """The members' mean probability map per sample, in order (one member: its own maps)."""
    for member in members:
        if isinstance(member, ProbabilityMember):
            member.check(samples)
    streams = [member.maps(samples) for member in members]
    for maps in zip(*streams, strict=True):
        yield maps[0] if len(maps) == 1 else sum(maps[1:], maps[0]) / len(maps)
