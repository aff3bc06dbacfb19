"""Names shared by the segmentation and the CVQA baselines (no torch, no transformers here)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

TINY_RANDOM = "tiny-random"  # --model / --model-text / --model-image: a small model built offline
METRICS_FILE = "metrics.json"  # OUTPUT/metrics.json: options, figures, timings
SUBMISSION_DIR = "submission"  # OUTPUT/submission/: the files a participant uploads
MODEL_DIR = "model"  # OUTPUT/model/: what the trained method needs to predict again
PREDICTION_FILE = "prediction.json"  # magic predict's OUTPUT/prediction.json: what it did


def selection_record(split: str, chosen: Sequence[str]) -> dict[str, object]:
    """``metrics.json``'s word on figures measured on the split that ``chosen`` was picked on.

    >>> selection_record("valid", ["best_epoch"])["note"]
    "best_epoch chosen on 'valid', whose figures these are: optimistic; score a split not used for choosing for a fair estimate"
    """
    return {"split": split, "chosen_on_it": list(chosen), "optimistic": True,
            "note": f"{' and '.join(chosen)} chosen on '{split}', whose figures these are: "
                    "optimistic; score a split not used for choosing for a fair estimate"}


def options_record(options: Any) -> dict[str, Any]:
    """A command's options (a dataclass) as ``metrics.json`` and ``prediction.json`` record them:
    every field in order, paths as text."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}


def run_kind(metrics: dict[str, Any]) -> str:
    """``"seg"`` or ``"vqa"``: which ``run-baseline`` wrote a ``metrics.json``."""
    return str(metrics.get("baseline") or ("vqa" if "method" in metrics else "seg"))


def read_run_metrics(folder: Path, baseline: str) -> dict[str, Any]:
    """``folder/metrics.json`` of a finished ``run-baseline {baseline}``, else a clear error."""
    from magic_submit.errors import MagicError
    from magic_submit.jsonio import read_json

    folder = Path(folder)
    hint = f"pass the --output folder of a finished 'magic run-baseline {baseline}'"
    if not folder.is_dir():
        raise MagicError("run folder not found", file=folder, hint=hint)
    path = folder / METRICS_FILE
    if not path.is_file():
        raise MagicError(f"incomplete run folder: no {METRICS_FILE} (the run did not finish)",
                         file=folder, hint=hint)
    metrics = read_json(path, what="run metrics")
    if not isinstance(metrics, dict):
        raise MagicError("not a run's metrics.json (not an object)", file=path, hint=hint)
    if run_kind(metrics) != baseline:
        raise MagicError(f"a run of 'magic run-baseline {run_kind(metrics)}', not of "
                         f"'run-baseline {baseline}'", file=folder,
                         hint=f"use 'magic predict {run_kind(metrics)}' for this run")
    return metrics


def prepare_output(output: Path, products: Sequence[str], *, resume: bool = False,
                   overwrite: bool = False, logs: Sequence[str] = ()) -> None:
    """Make ``output`` ready for a run, never losing an earlier one by accident.

    A folder that already holds files is refused unless ``resume`` (continue the run there) or
    ``overwrite`` (delete the ``products`` an earlier run wrote, then start afresh; other files
    are kept) is given: a trained model, its checkpoints and paid-for responses live there.
    A folder holding nothing but ``logs`` (a run that stopped at its input checks) is no run.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "run"
    >>> prepare_output(folder, ["metrics.json"])  # absent: created
    >>> _ = (folder / "metrics.json").write_text("{}")
    >>> prepare_output(folder, ["metrics.json"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    magic_submit.errors.MagicError: ... already holds files of an earlier run: metrics.json
      fix: pass --resume to continue that run, --overwrite to replace it, or another --output
    >>> prepare_output(folder, ["metrics.json"], overwrite=True)
    >>> sorted(p.name for p in folder.iterdir())
    []
    """
    check_output(output, resume=resume, overwrite=overwrite, logs=logs)
    if overwrite:
        for name in products:
            _remove(Path(output) / name)
    Path(output).mkdir(parents=True, exist_ok=True)


def check_output(output: Path, *, resume: bool = False, overwrite: bool = False,
                 logs: Sequence[str] = (), resumable: bool = True) -> None:
    """The refusals of :func:`prepare_output`, nothing touched; ``resumable``: the command has
    ``--resume`` (``magic predict`` has not, so its hint does not name it)."""
    from magic_submit.errors import MagicError

    output = Path(output)
    if output.exists() and not output.is_dir():
        raise MagicError("--output is a file, not a folder", file=output,
                         hint="pass a folder (it is created when absent)")
    if resume and overwrite:
        raise MagicError("--resume and --overwrite exclude each other", code="usage")
    entries = sorted(p.name for p in output.iterdir() if p.name not in logs) if output.is_dir() \
        else []
    if entries and not (resume or overwrite):
        raise MagicError("already holds files of an earlier run", file=output, ids=entries,
                         hint=("pass --resume to continue that run, --overwrite to replace it, "
                               "or another --output") if resumable else
                         "pass --overwrite to replace what an earlier prediction wrote there, "
                         "or another --output")


def refuse_inputs_inside(output: Path, inputs: Sequence[Path | None]) -> None:
    """An input (a run, an ensemble member, the photos, the query file) at or under ``output``
    is refused: replacing the output's products could delete it."""
    from magic_submit.errors import MagicError

    target = Path(output).resolve()
    inside = [str(p) for p in inputs if p is not None
              and (Path(p).resolve() == target or target in Path(p).resolve().parents)]
    if inside:
        raise MagicError("--output holds an input of this command: it would be replaced",
                         file=output, ids=inside,
                         hint="write the prediction to a folder that holds none of its inputs")


@contextlib.contextmanager
def staged_output(output: Path, products: Sequence[str], *, overwrite: bool,
                  inputs: Sequence[Path | None]) -> Iterator[Path]:
    """A temporary folder beside ``output`` to write a prediction into, moved into place when
    the block ends without error, removed when it fails: ``output`` never holds half a result.

    Checked before anything is touched: no input inside ``output``
    (:func:`refuse_inputs_inside`), and ``output`` empty or ``overwrite`` (then its ``products``
    are replaced at the end; other files stay). ``output`` becomes the folder itself when it was
    absent or empty (one rename), else each product is swapped in.
    """
    output = Path(output)
    refuse_inputs_inside(output, inputs)
    check_output(output, overwrite=overwrite, resumable=False)
    staging = output.parent / f".{output.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)  # beside output (one file system: renames), the usual mode
    try:
        yield staging
        _publish(staging, output, products)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, output: Path, products: Sequence[str]) -> None:
    """Move the staged products into ``output`` (see :func:`staged_output`)."""
    if not output.exists() or (output.is_dir() and not any(output.iterdir())):
        os.replace(staging, output)  # rename(2) replaces an empty folder
        return
    old = staging / ".replaced"
    old.mkdir()
    for name in products:  # what an earlier prediction wrote goes, even if not written again
        if (output / name).exists() or (output / name).is_symlink():
            os.replace(output / name, old / name)
    for name in products:
        if (staging / name).exists():
            os.replace(staging / name, output / name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
