"""Benchmark ``magic predict seg``: photos per second end to end, and the model against its limit.

One run, the full-size random-weight CLIPSeg (the ``CIDAS/clipseg-rd64-refined`` architecture,
built offline: no hub needed), synthetic consumer-size JPEGs (``bench_seg_train``'s generator):

* ``decode``: the floor of the command: every JPEG decoded and resized to 352x352 on all cores
  (:func:`baselines.seg.images.decode_resized`, the code the command runs), nothing else;
* ``end to end``: :func:`baselines.seg.predict_run.predict_seg` on a run folder holding the random
  model, from JPEGs to validated TIFF masks and ``submission.zip``, timed as one call;
* ``model``: the frozen vision encoder + decoder alone on 352x352 inputs already on the device
  (:func:`baselines.seg.inference.batch_logits`, the command's forward), in the runtime's
  precision (bf16 on a GPU that has it, fp32 on the CPU), at ``--model-batch``;
* ``limit``: the model's FLOPs per photo (counted by ``torch.utils.flop_counter``) against the
  device's dense bf16 peak: measured with a large bf16 matmul, and the datasheet figure when the
  card is known. The issue's compass: about 8,700 photos/s of model compute on one H100; goal on a
  GPU: the model at 3,000 photos/s or more, the whole command bound by JPEG decoding.

    python benchmarks/bench_seg_predict.py                 # a GPU: 2000 photos of 1536x2048
    python benchmarks/bench_seg_predict.py --photos 24 --device cpu --model-batch 4 \\
        --model-repeat 2                                    # the CPU check, a few minutes

The photos are written to a temporary folder (removed at the end), or with ``--data-dir DIR``
made there once and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from baselines.seg.model import ENCODE_BATCH  # noqa: E402
from bench_seg_train import make_split  # noqa: E402
from harness import data_folder  # noqa: E402

# Dense bf16 tensor-core peaks from NVIDIA's datasheets (no sparsity), FLOP/s.
NOMINAL_BF16 = (("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12),
                ("L40S", 362e12), ("L4", 121e12))


def dataset(folder: Path, args: argparse.Namespace) -> Path:
    """``test.json`` + ``images_test/`` of ``--photos`` synthetic JPEGs under ``folder``, made
    once and reused."""
    h, w = args.size
    root = folder / f"{args.photos}-{h}x{w}"
    if not (root / "done.json").is_file():
        started = time.perf_counter()
        make_split(root, "test", args.photos, (h, w), 7, 0)
        (root / "done.json").write_text(json.dumps({"seconds": time.perf_counter() - started}))
        print(f"made {args.photos} photos of {h}x{w} in {time.perf_counter() - started:.1f}s "
              f"under {root}", flush=True)
    return root


def make_run(folder: Path, config: str) -> Path:
    """A run folder as ``run-baseline seg`` leaves it, holding the untrained random model."""
    from baselines.common import METRICS_FILE
    from baselines.seg.model import load_clipseg
    from baselines.seg.prompts import DEFAULT_PROMPT
    from baselines.seg.runs import save_run_model
    from baselines.seg.tiny import save_random_model

    source = save_random_model(folder / "source", size="rd64-refined" if config == "full"
                               else "tiny", seed=0)
    model, processor = load_clipseg(str(source))
    fingerprint = save_run_model(model, processor, folder)
    (folder / METRICS_FILE).write_text(json.dumps({
        "baseline": "seg", "threshold": 0.5, "options": {"prompt": DEFAULT_PROMPT},
        "model_fingerprint": fingerprint, "note": "benchmark: random weights, never trained"}))
    return folder


def decode_floor(root: Path, workers: int) -> float:
    """Seconds to decode and resize every photo once on the decode pool's ``workers`` threads."""
    from baselines.seg.data import load_samples
    from baselines.seg.images import Preprocessing, decode_resized
    from baselines.seg.tiny import build_image_processor
    from magic_submit.photos import decode_pool

    prep = Preprocessing.from_processor(build_image_processor())
    paths = [s.image_path for s in load_samples(root, "test", need_masks=False)]
    started = time.perf_counter()
    for _ in decode_pool(lambda p: decode_resized(p, prep), paths, workers=workers):
        pass
    return time.perf_counter() - started


def model_rate(run: Path, runtime, batch: int, repeat: int) -> dict:
    """The command's forward (vision encoder + decoder) on device-resident 352x352 batches."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from baselines.seg.inference import batch_logits
    from baselines.seg.runs import load_run_model, read_seg_run

    model, processor = load_run_model(read_seg_run(run))
    model.to(runtime.device)
    pixels = torch.randn((batch, 3, 352, 352), device=runtime.device)
    conditional = torch.randn((batch, model.config.projection_dim), device=runtime.device)
    with FlopCounterMode(display=False) as counter:
        batch_logits(model, pixels[:1], conditional[:1], runtime)
    flops = counter.get_total_flops()
    batch_logits(model, pixels, conditional, runtime)  # warm-up
    _sync(runtime.device)
    started = time.perf_counter()
    for _ in range(repeat):
        batch_logits(model, pixels, conditional, runtime)
    _sync(runtime.device)
    seconds = (time.perf_counter() - started) / repeat
    return {"flops_per_photo": flops, "photos_per_s": batch / seconds, "batch": batch,
            "precision": runtime.precision}


def matmul_peak(device) -> float | None:
    """Measured dense bf16 FLOP/s of one large matmul (None on the CPU)."""
    import torch

    if device.type != "cuda":
        return None
    a = torch.randn((8192, 8192), device=device, dtype=torch.bfloat16)
    b = torch.randn((8192, 8192), device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    _sync(device)
    started = time.perf_counter()
    for _ in range(20):
        a @ b
    _sync(device)
    return 20 * 2 * 8192 ** 3 / (time.perf_counter() - started)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=2000, help="photos to predict end to end")
    parser.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")),
                        default=(1536, 2048), help="photo HEIGHTxWIDTH")
    parser.add_argument("--batch-size", type=int, default=ENCODE_BATCH,
                        help="the command's --batch-size")
    parser.add_argument("--model-batch", type=int, default=256, help="batch of the model rate")
    parser.add_argument("--model-repeat", type=int, default=10, help="timed model batches")
    parser.add_argument("--config", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the photos here (made "
                        "once, reused); default: a temporary folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    with data_folder(args.data_dir, "bench-seg-predict-") as folder:
        results = measure(dataset(folder, args), args)
    summarize(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


def measure(root: Path, args: argparse.Namespace) -> dict:
    """Every figure of the benchmark on the photos under ``root``."""
    import torch

    from baselines.runtime import session
    from baselines.seg.predict_run import PredictSegOptions, predict_seg
    from magic_submit.photos import default_workers

    workers = default_workers()

    results: dict = {"photos": args.photos, "size": list(args.size), "config": args.config,
                     "cpu_cores": os.cpu_count(), "workers": workers}
    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(Path(tmp) / "run", args.config)
        with session(args.device, 0, distributed=False) as runtime:
            device = runtime.device
            results["device"] = (torch.cuda.get_device_name(device) if device.type == "cuda"
                                 else "cpu")
            print(f"device {results['device']}, {workers} decoding threads, {args.config} model",
                  flush=True)
            results["model"] = model_rate(run, runtime, args.model_batch, args.model_repeat)
            results["matmul_bf16_flops"] = matmul_peak(device)
        results["decode_s"] = decode_floor(root, workers)
        started = time.perf_counter()
        record = predict_seg(PredictSegOptions(data=root, output=Path(tmp) / "out",
                                               members=(run,), run_only=True, split="test",
                                               batch_size=args.batch_size, device=args.device,
                                               workers=workers)).record
        results["end_to_end_s"] = time.perf_counter() - started
        results["prediction_loop_s"] = record["timings"]["predict_s"]
    return results


def summarize(results: dict) -> None:
    n, model = results["photos"], results["model"]
    decode_rate, e2e_rate = n / results["decode_s"], n / results["end_to_end_s"]
    loop_rate = n / results["prediction_loop_s"]
    print(f"\nend to end (JPEG {results['size'][0]}x{results['size'][1]} -> TIFF + zip, model "
          f"loading and validation included): {n} photos in {results['end_to_end_s']:.1f}s = "
          f"{e2e_rate:.2f} photos/s; the prediction loop alone {loop_rate:.2f} photos/s")
    print(f"model ({model['precision']}, batch {model['batch']}): {model['photos_per_s']:.2f} "
          f"photos/s; {model['flops_per_photo'] / 1e9:.1f} GFLOP per photo (vision encoder + "
          f"decoder); the prediction loop reaches {loop_rate / model['photos_per_s']:.0%} of it")
    print(f"decode floor (decode + resize only, {results['workers']} threads): "
          f"{decode_rate:.1f} photos/s; the prediction loop reaches {loop_rate / decode_rate:.0%} "
          "of it")
    if results["device"] == "cpu":
        print("no GPU: the bf16 figures against the compute limit need a CUDA device")
        return
    nominal = next((peak for name, peak in NOMINAL_BF16 if name in results["device"]), None)
    for label, peak in (("measured bf16 matmul", results["matmul_bf16_flops"]),
                        ("datasheet bf16", nominal)):
        if peak:
            limit = peak / model["flops_per_photo"]
            print(f"compute limit ({label} {peak / 1e12:.0f} TFLOP/s): {limit:.0f} photos/s; the "
                  f"model reaches {model['photos_per_s'] / limit:.0%} of it")
    print(f"goal: model >= 3000 photos/s: {'yes' if model['photos_per_s'] >= 3000 else 'no'}")


if __name__ == "__main__":
    main()
