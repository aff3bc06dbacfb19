"""Benchmark ``magic score`` against the floor of reading every TIFF once with tifffile.

Makes a test-sized set (default: 314 images, masks 480 to 2048 px a side, 3 annotators each, one
prediction each), then runs, side by side in one run and each in a fresh process:

* ``floor``: a loop that only calls ``tifffile.imread`` on every reference and prediction file;
* ``magic``: ``magic score --json`` on the same files (both cores);
* ``plain`` (``--with-plain``): the plain, official-style implementation in tests/reference_impl.py.

It prints wall time (median of ``--repeat`` runs), peak resident memory, and ratios to the floor.
Targets (issue 2): magic / floor <= 2.5 and magic peak < 400 MB.

    python benchmarks/bench_score.py                 # data in a temporary folder (--data DIR: kept)
    python benchmarks/bench_score.py --compression zlib --with-plain
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import tifffile

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from harness import compare, data_folder  # noqa: E402

FLOOR_SCRIPT = """
import sys, tifffile
from pathlib import Path
files = sorted(Path(sys.argv[1]).glob("*.tiff")) + sorted(Path(sys.argv[2]).glob("*.tiff"))
for f in files:
    tifffile.imread(f)
print(len(files))
"""

PLAIN_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[3])
from reference_impl import score_segmentation_folders
print(score_segmentation_folders(sys.argv[1], sys.argv[2]))
"""


def lesion(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """An irregular blob (radial harmonics) covering a few to 30 percent of the image."""
    h, w = shape
    yy, xx = np.ogrid[0:h, 0:w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    angle = np.arctan2(yy - cy, xx - cx)
    radius = np.hypot((yy - cy) / h, (xx - cx) / w)
    edge = rng.uniform(0.12, 0.3) * (1 + sum(rng.uniform(-0.15, 0.15) * np.cos(k * angle + rng.uniform(0, 6))
                                             for k in range(2, 6)))
    return (radius <= edge).astype(np.uint8)


def make_dataset(root: Path, n_images: int, compression: str | None, seed: int) -> tuple[Path, Path]:
    ref, pred = root / "masks_refs", root / "masks_preds"
    marker = root / "done.json"
    spec = {"n_images": n_images, "compression": compression, "seed": seed}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return ref, pred
    for folder in (ref, pred):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.tiff"):
            old.unlink()
    rng = np.random.default_rng(seed)
    for i in range(n_images):
        image_id = f"IMG_ENC{908 + i // 3:05d}_{i % 3 + 1:05d}"
        shape = (int(rng.integers(480, 2049)), int(rng.integers(480, 2049)))
        truth = lesion(rng, shape)
        for ann in rng.choice(["ann0", "ann1", "ann2", "ann3"], size=3, replace=False):
            shifted = np.roll(truth, tuple(rng.integers(-15, 16, size=2)), axis=(0, 1))
            tifffile.imwrite(ref / f"{image_id}_mask_{ann}.tiff", shifted, compression=compression)
        guess = np.roll(truth, tuple(rng.integers(-40, 41, size=2)), axis=(0, 1))
        tifffile.imwrite(pred / f"{image_id}_mask_sys.tiff", guess, compression=compression)
    marker.write_text(json.dumps(spec))
    return ref, pred


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="keep the synthetic data in this folder (made once, reused); default: a temporary folder, removed at the end")
    parser.add_argument("--images", type=int, default=314)
    parser.add_argument("--compression", choices=["none", "zlib"], default="none")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-plain", action="store_true", help="also time the plain implementation")
    args = parser.parse_args()
    with data_folder(args.data, "bench-score-") as root:
        run(args, root)


def run(args: argparse.Namespace, root: Path) -> None:
    compression = None if args.compression == "none" else args.compression
    data = root / f"{args.images}-{args.compression}"
    t0 = time.perf_counter()
    ref, pred = make_dataset(data, args.images, compression, args.seed)
    n_files = len(list(ref.glob("*.tiff"))) + len(list(pred.glob("*.tiff")))
    size_mb = sum(f.stat().st_size for f in [*ref.glob("*.tiff"), *pred.glob("*.tiff")]) / 2**20
    print(f"data: {n_files} TIFFs, {size_mb:.0f} MB on disk, compression={args.compression} "
          f"(ready in {time.perf_counter() - t0:.1f} s); cores: {os.cpu_count()}")

    magic = [sys.executable, "-m", "magic_submit", "score", str(data), "--reference", str(data),
             "--json", "--quiet"]
    commands = {"floor": [sys.executable, "-c", FLOOR_SCRIPT, str(ref), str(pred)], "magic": magic}
    if args.with_plain:
        commands["plain"] = [sys.executable, "-c", PLAIN_SCRIPT, str(ref), str(pred), str(REPO / "tests")]
    runs = compare(commands, args.repeat)
    runs.print_table()
    scores = json.loads(runs.outputs["magic"])
    print("magic dice_meanofmax:", scores["dice_meanofmax"], " micro dice:", scores["dice"])
    ratio = runs.median("magic") / runs.median("floor")
    verdict = "PASS" if ratio <= 2.5 and runs.peaks["magic"] < 400 else "FAIL"
    print(f"target magic/floor <= 2.5 and peak < 400 MB: {verdict} ({ratio:.2f}x, "
          f"{runs.peaks['magic']:.0f} MB)")


if __name__ == "__main__":
    main()
