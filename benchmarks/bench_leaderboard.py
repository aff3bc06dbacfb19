"""Benchmark ``magic leaderboard``: the bootstrap must cost little next to scoring once.

Uses the test-sized set of ``bench_score.py`` (314 images in 100 encounters+, zlib TIFFs, made in a
temporary folder, or once in --data DIR) as a platform reference, with synthetic gold CVQA answers, and ``--submissions``
submissions (the same masks, different CVQA answers). It measures, in this process:

* ``score``: ``score_submission`` of every submission (the per-image work, done once each);
* ``bootstrap``: :func:`rank_contenders` with ``--bootstrap`` resamples (all metrics, all pairs);
* ``naive``: the same bootstrap done the plain way (rebuild each resample's image list and call
  ``SegmentationAggregate.compute()``), timed on a few resamples and scaled up;

then the whole CLI (``magic leaderboard --json``, validation included) in a fresh process.
Target (issue 6): the bootstrap takes seconds, i.e. bootstrap / score well below 1.

    python benchmarks/bench_leaderboard.py
    python benchmarks/bench_leaderboard.py --submissions 8 --bootstrap 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE), str(REPO / "tests")]

from bench_score import make_dataset  # noqa: E402
from harness import data_folder  # noqa: E402
from builders import cvqa_records, write_json  # noqa: E402

from evaluation.bootstrap import resample_counts  # noqa: E402
from evaluation.segmentation import SegmentationAggregate  # noqa: E402
from magic_submit.naming import encounter_of_image  # noqa: E402
from magic_submit.reporting.leaderboard import (  # noqa: E402
    evaluate_submission, rank_contenders,
)
from magic_submit.reporting.reference import open_reference_context  # noqa: E402


def link(target: Path, name: Path) -> None:
    if not name.exists():
        name.symlink_to(target, target_is_directory=True)


def make_leaderboard_data(root: Path, n_submissions: int, seed: int) -> tuple[Path, list[Path]]:
    ref_masks, pred_masks = make_dataset(root / "score" / "314-zlib", 314, "zlib", 0)
    encounters = sorted({encounter_of_image(p.name.split("_mask_")[0])
                         for p in ref_masks.glob("*.tiff")})
    rng = np.random.default_rng(seed)
    reference = root / "leaderboard" / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    link(ref_masks.resolve(), reference / "masks_refs")
    write_json(reference / "data_cvqa_ref.json", cvqa_records(rng, encounters))
    submissions = []
    for k in range(n_submissions):
        folder = root / "leaderboard" / f"team{k}"
        folder.mkdir(exist_ok=True)
        link(pred_masks.resolve(), folder / "masks_preds")
        write_json(folder / "data_cvqa_sys.json", cvqa_records(rng, encounters))
        submissions.append(folder)
    return reference, submissions


def naive_seconds_per_resample(images, encounters: list[str], counts: np.ndarray) -> float:
    by_enc: dict[str, list] = {e: [] for e in encounters}
    for r in images:
        by_enc[encounter_of_image(r.image_id)].append(r)
    start = time.perf_counter()
    for row in counts:
        drawn = [r for e, n in zip(encounters, row) for _ in range(int(n)) for r in by_enc[e]]
        SegmentationAggregate(drawn).compute()
    return (time.perf_counter() - start) / len(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=4)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="keep the synthetic data in this "
                        "folder (made once, reused); default: a temporary folder, removed at the end")
    args = parser.parse_args()
    with data_folder(args.data, "bench-leaderboard-") as root:
        run(args, root)


def run(args: argparse.Namespace, root: Path) -> None:
    reference, submissions = make_leaderboard_data(root, args.submissions, args.seed)
    ref = open_reference_context(reference)
    start = time.perf_counter()
    # No checks given: scoring only, the time the bootstrap is compared with.
    contenders = [evaluate_submission(p, p.name, ref) for p in submissions]
    score_s = time.perf_counter() - start
    assert all(c.valid for c in contenders), [c.problems for c in contenders]
    start = time.perf_counter()
    board = rank_contenders(contenders, ref, n_resamples=args.bootstrap, seed=args.seed)
    boot_s = time.perf_counter() - start
    images = contenders[0].report.segmentation.images
    naive = naive_seconds_per_resample(images, board.encounters,
                                       resample_counts(len(board.encounters), 5, args.seed))
    naive_s = naive * args.bootstrap * len(contenders)  # segmentation part alone, scaled up
    print(f"{len(contenders)} submissions, {len(images)} images, {len(board.encounters)} "
          f"encounters, {args.bootstrap} resamples")
    print(f"score (once per submission): {score_s:8.2f} s")
    print(f"bootstrap (vectorised):      {boot_s:8.2f} s   x score: {boot_s / score_s:.3f}")
    print(f"bootstrap (naive, est.):     {naive_s:8.2f} s   naive / vectorised: "
          f"{naive_s / boot_s:.0f}x")
    cmd = [sys.executable, "-m", "magic_submit", "leaderboard", *map(str, submissions),
           "--reference", str(reference), "--bootstrap", str(args.bootstrap), "--json", "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    cli_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    ranked = json.loads(done.stdout)["rankings"]["dice_meanofmax"]
    print(f"CLI magic leaderboard (validation + scoring + bootstrap): {cli_s:.2f} s; "
          f"dice_meanofmax CI of {ranked[0]['submission']}: "
          f"[{ranked[0]['ci_low']:.4f}, {ranked[0]['ci_high']:.4f}]")
    verdict = "PASS" if boot_s / score_s < 0.5 else "FAIL"
    print(f"target bootstrap / score < 0.5: {verdict}")


if __name__ == "__main__":
    main()
