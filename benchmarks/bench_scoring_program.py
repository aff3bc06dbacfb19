"""Benchmark the exported scoring program against ``magic score`` on a test-sized upload.

Makes the data of ``bench_score.py`` (default: 314 images, masks 480 to 2048 px a side, 3
annotators each, one prediction each) plus gold and system CVQA files for its encounters, in the
platform layout (``masks_refs/``, ``data_cvqa_ref.json``; ``masks_preds/``, ``data_cvqa_sys.json``),
exports the bundle, and runs side by side, each in a fresh process:

* ``floor``: only ``tifffile.imread`` on every reference and prediction file;
* ``magic``: ``magic score --json`` (the figures alone);
* ``program``: the bundle's command at its default ``--detail summary`` (walk the upload, check
  it against the reference and against itself, score, write scores.json and the page);
* ``full``: the same with ``--detail full`` (one check, and the gallery of the worst images).

It prints wall time (median of ``--repeat`` runs), peak resident memory and ratios to the floor,
and checks that the program's scores.json is ``magic score --output``'s file.

    python benchmarks/bench_scoring_program.py            # data in a temporary folder (--data DIR: kept)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_score import FLOOR_SCRIPT, make_dataset  # noqa: E402
from harness import compare, data_folder  # noqa: E402

from magic_submit.challenge import PARENTS  # noqa: E402
from magic_submit.scoring_program.bundle import export_bundle  # noqa: E402
from magic_submit.scoring_program.platform_run import ENTRY_SCRIPT  # noqa: E402


def add_cvqa(root: Path, seed: int) -> None:
    """Gold answers for every encounter of the masks and a system file that agrees ~60%."""
    rng = np.random.default_rng(seed)
    encounters = sorted({p.name.split("_")[1] for p in (root / "masks_refs").glob("*.tiff")})
    gold, system = [], []
    for encounter in encounters:
        truth, guess = {"encounter_id": encounter}, {"encounter_id": encounter}
        for parent in PARENTS:
            answer = [int(rng.integers(0, parent.n_options))]
            other = answer if rng.random() < 0.6 else [int(rng.integers(0, parent.n_options))]
            truth.update(zip(parent.qids, parent.padded(answer)))
            guess.update(zip(parent.qids, parent.padded(other)))
        gold.append(truth)
        system.append(guess)
    (root / "data_cvqa_ref.json").write_text(json.dumps(gold))
    (root / "data_cvqa_sys.json").write_text(json.dumps(system))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="keep the synthetic data in this folder (made once, reused); default: a temporary folder, removed at the end")
    parser.add_argument("--images", type=int, default=314)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with data_folder(args.data, "bench-program-") as root:
        run(args, root)


def run(args: argparse.Namespace, root: Path) -> None:
    data = root / f"{args.images}-none"
    ref, pred = make_dataset(data, args.images, None, args.seed)
    add_cvqa(data, args.seed)
    size_mb = sum(f.stat().st_size for f in [*ref.glob("*.tiff"), *pred.glob("*.tiff")]) / 2**20
    print(f"data: {args.images} images, {size_mb:.0f} MB of TIFFs; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-program-") as work:
        work = Path(work)
        with zipfile.ZipFile(export_bundle(work / "program.zip").path) as archive:
            archive.extractall(work / "program")
        out, magic_out = work / "output", work / "magic-output"
        program = [sys.executable, str(work / "program" / ENTRY_SCRIPT), str(ref), str(pred),
                   str(data / "data_cvqa_ref.json"), str(data / "data_cvqa_sys.json"), str(out)]
        magic = [sys.executable, "-m", "magic_submit", "score", str(data), "--reference",
                 str(data), "--json", "--quiet"]
        runs = compare({"floor": [sys.executable, "-c", FLOOR_SCRIPT, str(ref), str(pred)],
                        "magic": magic, "full": [*program, "--detail", "full"],
                        "program": program}, args.repeat)
        runs.print_table()
        subprocess.run([*magic[:-2], "--output", str(magic_out), "--quiet"], check=True,
                       capture_output=True)
        same = (out / "scores.json").read_bytes() == (magic_out / "scores.json").read_bytes()
        page = (out / "detailed_results.html").stat().st_size
        print(f"scores.json equals magic score --output's: {same}; "
              f"detailed_results.html: {page / 1e6:.2f} MB")
        print(f"program / magic score: {runs.median('program') / runs.median('magic'):.2f}x; "
              f"summary / full detail: {runs.median('program') / runs.median('full'):.2f}x")


if __name__ == "__main__":
    main()
