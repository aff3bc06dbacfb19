"""Benchmark ``magic validate-submission`` against the floor of reading every TIFF once with tifffile.

Makes a test-sized submission (default: 100 encounters, 314 images with masks 480 to 2048 px a
side, JPEG images of the same sizes, a full CVQA file), then runs, side by side in one run and each
in a fresh process:

* ``floor``: a loop that only calls ``tifffile.imread`` on every mask of ``masks_preds/``;
* ``folder``: ``magic validate-submission FOLDER --split --images --json`` (image sizes from headers);
* ``zip``: the same on the zip of that folder (safe extraction included).

It prints wall time (median of ``--repeat`` runs), peak resident memory and ratios to the floor.
Target (issue 3): a test-sized submission validates in a few seconds.

    python benchmarks/bench_validate.py                 # data in a temporary folder (--data DIR: kept)
    python benchmarks/bench_validate.py --compression zlib
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from bench_score import lesion  # noqa: E402
from harness import compare, data_folder, timed  # noqa: E402

from magic_submit.challenge import PARENTS  # noqa: E402

FLOOR_SCRIPT = """
import sys, tifffile
from pathlib import Path
files = sorted(Path(sys.argv[1]).glob("*.tiff"))
for f in files:
    tifffile.imread(f)
print(len(files))
"""

# Both in one warm process: the cost of the checks alone, without interpreter start-up.
IN_PROCESS_SCRIPT = """
import json, sys, time, tifffile
from pathlib import Path
from magic_submit.validation import validate_submission
sub, split, images = map(Path, sys.argv[1:4])
t = time.perf_counter()
for f in sorted((sub / "masks_preds").glob("*.tiff")):
    tifffile.imread(f)
floor = time.perf_counter() - t
t = time.perf_counter()
report = validate_submission(sub, split, images_dir=images)
print(json.dumps({"floor": floor, "validate": time.perf_counter() - t, "valid": report.valid}))
"""


def answers(rng: np.random.Generator) -> dict[str, int]:
    out: dict[str, int] = {}
    for parent in PARENTS:
        n_real = int(rng.integers(1, min(3, parent.slots) + 1))
        values = [int(v) for v in rng.integers(0, parent.nm_index, size=n_real)]
        out.update(zip(parent.qids, parent.padded(values)))
    return out


def make_submission(root: Path, n_encounters: int, n_images: int, compression: str | None,
                    seed: int) -> Path:
    """root/{test.json, images_test/, submission/, submission.zip}; reused when the spec matches."""
    marker = root / "done.json"
    spec = {"encounters": n_encounters, "images": n_images, "compression": compression, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return root
    rng = np.random.default_rng(seed)
    images, sub = root / "images_test", root / "submission"
    masks = sub / "masks_preds"
    for folder in (images, masks):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
    per_encounter = [n_images // n_encounters + (i < n_images % n_encounters)
                     for i in range(n_encounters)]
    queries, records = [], []
    for i, count in enumerate(per_encounter):
        enc = f"ENC{908 + i:05d}"
        files = [f"IMG_{enc}_{k + 1:05d}.jpg" for k in range(count)]
        queries.append({"encounter_id": enc, "image_ids": files})
        records.append({"encounter_id": enc, **answers(rng)})
        for name in files:
            h, w = int(rng.integers(480, 2049)), int(rng.integers(480, 2049))
            Image.new("RGB", (w, h), (200, 150, 130)).save(images / name, quality=50)
            tifffile.imwrite(masks / f"{name[:-4]}_mask_sys.tiff", lesion(rng, (h, w)),
                             compression=compression)
    (root / "test.json").write_text(json.dumps(queries))
    (sub / "data_cvqa_sys.json").write_text(json.dumps(records))
    with zipfile.ZipFile(root / "submission.zip", "w") as archive:
        archive.write(sub / "data_cvqa_sys.json", "data_cvqa_sys.json", zipfile.ZIP_DEFLATED)
        for path in sorted(masks.iterdir()):
            archive.write(path, f"masks_preds/{path.name}",
                          zipfile.ZIP_STORED if compression else zipfile.ZIP_DEFLATED)
    marker.write_text(json.dumps(spec))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="keep the synthetic data in this folder (made once, reused); default: a temporary folder, removed at the end")
    parser.add_argument("--encounters", type=int, default=100)
    parser.add_argument("--images", type=int, default=314)
    parser.add_argument("--compression", choices=["none", "zlib"], default="none")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with data_folder(args.data, "bench-validate-") as root:
        run(args, root)


def run(args: argparse.Namespace, data: Path) -> None:
    compression = None if args.compression == "none" else args.compression
    t0 = time.perf_counter()
    root = make_submission(data / f"{args.images}-{args.compression}", args.encounters,
                           args.images, compression, args.seed)
    masks = root / "submission" / "masks_preds"
    size_mb = sum(f.stat().st_size for f in masks.iterdir()) / 2**20
    print(f"data: {args.encounters} encounters, {args.images} masks, {size_mb:.0f} MB of TIFFs, "
          f"compression={args.compression} (ready in {time.perf_counter() - t0:.1f} s); "
          f"cores: {os.cpu_count()}")
    validate = [sys.executable, "-m", "magic_submit", "validate-submission", "--split",
                str(root / "test.json"), "--images", str(root / "images_test"), "--json"]
    commands = {"floor": [sys.executable, "-c", FLOOR_SCRIPT, str(masks)],
                "folder": validate + [str(root / "submission")],
                "zip": validate + [str(root / "submission.zip")]}
    runs = compare(commands, args.repeat)
    runs.print_table()
    inner = [json.loads(timed([sys.executable, "-c", IN_PROCESS_SCRIPT, str(root / "submission"),
                               str(root / "test.json"), str(root / "images_test")])[2])
             for _ in range(args.repeat)]
    floor_in = statistics.median(r["floor"] for r in inner)
    validate_in = statistics.median(r["validate"] for r in inner)
    print(f"in one process (no start-up): read every TIFF {floor_in:.2f} s, validate_submission "
          f"{validate_in:.2f} s, ratio {validate_in / floor_in:.2f}")
    for name in ("folder", "zip"):
        report = json.loads(runs.outputs[name])
        summary = report["summary"]
        print(f"{name}: valid={report['valid']} masks_checked={summary['masks_checked']} "
              f"encounters answered={summary['cvqa_encounters_answered']} "
              f"in-process seconds={summary['seconds']}")


if __name__ == "__main__":
    main()
