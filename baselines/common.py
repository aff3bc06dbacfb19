"""Names shared by the segmentation and the CVQA baselines (no torch, no transformers here)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

TINY_RANDOM = "tiny-random"  # --model / --model-text / --model-image: a small model built offline
METRICS_FILE = "metrics.json"  # OUTPUT/metrics.json: options, figures, timings
SUBMISSION_DIR = "submission"  # OUTPUT/submission/: the files a participant uploads


def selection_record(split: str, chosen: Sequence[str]) -> dict[str, object]:
    """``metrics.json``'s word on figures measured on the split that ``chosen`` was picked on.

    >>> selection_record("valid", ["best_epoch"])["note"]
    "best_epoch chosen on 'valid', whose figures these are: optimistic; score a split not used for choosing for a fair estimate"
    """
    return {"split": split, "chosen_on_it": list(chosen), "optimistic": True,
            "note": f"{' and '.join(chosen)} chosen on '{split}', whose figures these are: "
                    "optimistic; score a split not used for choosing for a fair estimate"}


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
                         hint="pass --resume to continue that run, --overwrite to replace it, "
                         "or another --output")
    if overwrite:
        for name in products:
            path = output / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    output.mkdir(parents=True, exist_ok=True)
