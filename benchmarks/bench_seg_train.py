"""Benchmark CLIPSeg training: the paper's loop against ``magic run-baseline seg``'s cached loop.

One run, same data, same random full-size CLIPSeg (the ``CIDAS/clipseg-rd64-refined``
architecture, built offline: no hub needed):

* ``paper``: a DataLoader (``--loader-workers`` processes) decodes every JPEG and resizes it with
  the CLIPSeg processor every epoch, then the full model's forward and backward in fp16 with a
  gradient scaler (the encoders frozen, as in the paper). Validation after each epoch decodes the
  valid photos again. It runs ``--paper-epochs``; its ``--epochs`` wall time is extrapolated from
  the steady per-epoch time (said in the output).
* ``cached``: the baseline's own code: each photo decoded once (JPEG DCT scaling, threads),
  frozen encoders run once, the decoder trained on the cached activations (bf16 where the GPU
  has it), validation with the official scorer's code after every epoch.

Both start from the same weights and validate with :func:`baselines.seg.predict.score_thresholds`
at threshold 0.5. The synthetic task is learnable (coloured blobs on skin-like noise).
It prints images/s, wall times, the ratio and both validation Dice (micro and mean-of-max).
Goal (issue 4): the cached loop's ``--epochs`` epochs, caching included, within 60 s on one H100,
15x the paper's loop, with the same validation Dice.

    python benchmarks/bench_seg_train.py                       # H100: 2474 + 157 photos 1536x2048
    python benchmarks/bench_seg_train.py --images 40 --valid-images 8 --epochs 2 --paper-epochs 2 \\
        --size 480x640 --config tiny --device cpu --loader-workers 2     # a CPU check, ~1 min

The photos are written to a temporary folder (removed at the end), or with ``--data-dir DIR``
made there once and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import data_folder  # noqa: E402
from magic_submit.masks import write_mask  # noqa: E402
from magic_submit.naming import mask_file_name  # noqa: E402


# --- the synthetic data set, in the challenge layout -----------------------------------------------
def make_photo(job: tuple[int, int, int, int, str]) -> None:
    """One consumer-size JPEG with 1-3 coloured lesions and 3 annotators' outlines."""
    from PIL import Image, ImageDraw, ImageFilter

    index, h, w, seed, folder = job
    rng = np.random.default_rng(seed * 100_003 + index)
    root = Path(folder)
    mask_image = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask_image)
    for _ in range(int(rng.integers(1, 4))):
        ry, rx = rng.uniform(0.06, 0.2) * h, rng.uniform(0.06, 0.2) * w
        cy, cx = rng.uniform(ry, h - ry), rng.uniform(rx, w - rx)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    mask = np.asarray(mask_image) > 0
    tone = np.array([230, 180, 150], np.float32) * rng.uniform(0.55, 1.05)
    lesion = tone * np.array(rng.choice([(0.75, 0.45, 0.45), (0.55, 0.4, 0.35), (0.85, 0.6, 0.75)]),
                             np.float32)
    low = rng.normal(0, 10, (max(2, h // 64), max(2, w // 64), 3)).astype(np.float32)
    shade = np.asarray(Image.fromarray(np.clip(low + 128, 0, 255).astype(np.uint8)).resize(
        (w, h), Image.BILINEAR), np.float32) - 128
    alpha = np.asarray(mask_image.filter(ImageFilter.BoxBlur(4)), np.float32)[..., None] / 255
    photo = tone * (1 - alpha) + lesion * alpha + shade + rng.normal(0, 4, (h, w, 1))
    name = f"IMG_ENC{index // 3:05d}_{index % 3 + 1:05d}"
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(root / "images" / f"{name}.jpg",
                                                                 quality=90)
    for k, (dy, dx) in enumerate([(0, 0), (h // 100, 0), (0, -(w // 100))]):
        write_mask(root / "masks" / mask_file_name(name, f"ann{k}"), np.roll(mask, (dy, dx), (0, 1)))


def make_split(root: Path, split: str, n: int, size: tuple[int, int], seed: int, offset: int) -> None:
    """``{split}.json``, ``images_{split}/`` and ``dermavqa-segmentations/{split}/`` of n photos."""
    images, masks = root / f"images_{split}", root / "dermavqa-segmentations" / split
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    staging = root / f"_stage_{split}"
    (staging / "images").mkdir(parents=True, exist_ok=True)
    (staging / "masks").mkdir(parents=True, exist_ok=True)
    jobs = [(offset + i, *size, seed, str(staging)) for i in range(n)]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        list(pool.map(make_photo, jobs, chunksize=4))
    for path in (staging / "images").iterdir():
        path.replace(images / path.name)
    for path in (staging / "masks").iterdir():
        path.replace(masks / path.name)
    names = sorted(p.name for p in images.iterdir())
    encounters: dict[str, list[str]] = {}
    for name in names:
        encounters.setdefault(name.split("_")[1], []).append(name)
    records = [{"encounter_id": enc, "image_ids": files, "query_title_en": "Red patch on my skin",
                "query_content_en": "It is itchy and has grown over the last weeks.",
                "responses": [{"content_en": "Looks like eczema; apply a mild steroid cream."}]}
               for enc, files in encounters.items()]
    (root / f"{split}.json").write_text(json.dumps(records), encoding="utf-8")


def dataset(folder: Path, args: argparse.Namespace) -> Path:
    """The synthetic set for these options under ``folder``, made once and reused."""
    h, w = args.size
    root = folder / f"{args.images}+{args.valid_images}-{h}x{w}"
    marker = root / "done.json"
    if marker.is_file():
        return root
    started = time.perf_counter()
    make_split(root, "train", args.images, (h, w), 0, 0)
    make_split(root, "valid", args.valid_images, (h, w), 0, 3 * 10_000)
    marker.write_text(json.dumps({"seconds": time.perf_counter() - started}), encoding="utf-8")
    print(f"made {args.images} + {args.valid_images} photos of {h}x{w} in "
          f"{time.perf_counter() - started:.1f}s under {root}", flush=True)
    return root


# --- the paper's loop ----------------------------------------------------------------------------
class PaperDataset:
    """Per item: full JPEG decode, the processor's resize and normalisation, masks merged (OR)."""

    def __init__(self, samples: list, processor: object, with_labels: bool) -> None:
        self.samples, self.processor, self.with_labels = samples, processor, with_labels

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        import torch
        from PIL import Image

        from baselines.seg.data import merge_annotators, read_annotator_masks
        from baselines.seg.prompts import build_prompt
        from magic_submit.photos import read_photo

        sample = self.samples[index]
        image = read_photo(sample.image_path).image  # a full decode, as the paper's loop does
        encoded = self.processor(text=[build_prompt(sample.record)], images=[image],
                                 padding="max_length", truncation=True, max_length=77,
                                 return_tensors="pt")
        item = {k: v[0] for k, v in encoded.items()}
        if self.with_labels:
            target = merge_annotators(read_annotator_masks(sample), "or")
            label = Image.fromarray(target.astype(np.uint8) * 255).resize((352, 352), Image.BILINEAR)
            item["labels"] = torch.from_numpy(np.asarray(label, np.float32) / 255)
        return item


def paper_loop(model, processor, train_samples, valid_gold, args, device) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from baselines.runtime import train_step
    from baselines.seg.predict import score_thresholds

    def loader(samples, labels, shuffle):
        return DataLoader(PaperDataset(samples, processor, labels), batch_size=args.batch_size,
                          shuffle=shuffle, num_workers=args.loader_workers,
                          pin_memory=device.type == "cuda",
                          persistent_workers=args.loader_workers > 0,
                          generator=torch.Generator().manual_seed(0))

    train_loader = loader(train_samples, True, True)
    valid_loader = loader(valid_gold.samples, False, False)
    params = [p for p in model.decoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr)
    fp16 = device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=fp16)
    epochs = []
    for epoch in range(args.paper_epochs):
        tick = time.perf_counter()
        model.decoder.train()
        for batch in train_loader:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            labels = batch.pop("labels")
            with torch.autocast(device.type, dtype=torch.float16, enabled=fp16):
                logits = model(**batch).logits
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels)
            train_step(loss, optimizer, scaler, params, 1.0)
        _sync(device)
        train_s = time.perf_counter() - tick
        model.decoder.eval()
        chunks = []
        with torch.no_grad():
            for batch in valid_loader:
                batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
                with torch.autocast(device.type, dtype=torch.float16, enabled=fp16):
                    chunks.append(model(**batch).logits.float())
        scores = score_thresholds(valid_gold, torch.cat(chunks), [0.5])[0]
        epochs.append({"epoch": epoch + 1, "train_s": train_s,
                       "total_s": time.perf_counter() - tick, "loss": loss.item(),
                       "dice": scores["dice"], "dice_meanofmax": scores["dice_meanofmax"]})
        print(f"  paper epoch {epoch + 1}: {len(train_samples) / train_s:.0f} img/s training, "
              f"{epochs[-1]['total_s']:.1f}s with validation, dice {scores['dice']:.4f}", flush=True)
    return {"epochs": epochs}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- the cached loop (the baseline's own code) ---------------------------------------------------
def cached_loop(model, processor, train_samples, valid_samples, args, runtime, out: Path) -> dict:
    from baselines.seg.features import build_features
    from baselines.seg.train import TrainSettings, train_decoder

    started = time.perf_counter()
    train = build_features(model, processor, train_samples, runtime, prompt_mode="query+responses",
                           target="or", shard=True)
    valid = build_features(model, processor, valid_samples, runtime,
                           prompt_mode="query+responses", keep_masks=True)
    cache_s = time.perf_counter() - started
    print(f"  cached: {len(train_samples) + len(valid_samples)} photos decoded and encoded once in "
          f"{cache_s:.1f}s", flush=True)

    def report(record: dict) -> None:
        print(f"  cached epoch {record['epoch']}: {record['seconds']:.2f}s with validation, "
              f"dice {record['valid']['dice']:.4f}", flush=True)

    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             patience=args.epochs + 1)
    outcome = train_decoder(model, train, valid, settings, runtime, out, on_epoch=report)
    _sync(runtime.device)
    return {"cache_s": cache_s, "train_s": outcome.seconds,
            "total_s": time.perf_counter() - started, "valid_features": valid,
            "epochs": [{"epoch": r["epoch"], "seconds": r["seconds"], "loss": r["train_loss"],
                        "dice": r["valid"]["dice"], "dice_meanofmax": r["valid"]["dice_meanofmax"]}
                       for r in outcome.history]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2474, help="training photos")
    parser.add_argument("--valid-images", type=int, default=157, help="validation photos")
    parser.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")),
                        default=(1536, 2048), help="photo HEIGHTxWIDTH")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the cached loop")
    parser.add_argument("--paper-epochs", type=int, default=3, help="epochs of the paper's loop "
                        "(its --epochs time is extrapolated)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=9e-4)
    parser.add_argument("--loader-workers", type=int, default=8)
    parser.add_argument("--config", choices=("full", "tiny"), default="full",
                        help="full: the rd64-refined architecture; tiny: for CPU checks")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the photos here (made "
                        "once, reused); default: a temporary folder")
    parser.add_argument("--skip-paper", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    with data_folder(args.data_dir, "bench-seg-train-") as folder:
        results = measure(dataset(folder, args), args)
    summarize(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


def measure(root: Path, args: argparse.Namespace) -> dict:
    """Both loops on the synthetic set under ``root``: their figures."""
    import tempfile

    import torch

    from baselines.seg.data import load_samples, read_annotator_masks
    from baselines.seg.model import freeze_encoders, load_clipseg
    from baselines.runtime import setup, teardown
    from baselines.seg.tiny import save_random_model

    runtime = setup(args.device, 0)
    device = runtime.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}, {os.cpu_count()} CPU cores, cached loop in {runtime.precision}", flush=True)
    train_samples = load_samples(root, "train", need_masks=True)
    valid_samples = load_samples(root, "valid", need_masks=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_random_model(Path(tmp) / "model", size="rd64-refined" if args.config == "full"
                                   else "tiny", seed=0)
        initial = load_clipseg(str(folder))
        results: dict = {"device": name, "cpu_cores": os.cpu_count(), "train_images": len(train_samples),
                         "valid_images": len(valid_samples), "size": list(args.size),
                         "config": args.config, "epochs": args.epochs}
        model, processor = initial
        freeze_encoders(model)
        start_state = {k: v.clone() for k, v in model.decoder.state_dict().items()}
        model.to(device)
        print("cached loop (magic run-baseline seg):", flush=True)
        cached = cached_loop(model, processor, train_samples, valid_samples, args, runtime,
                             Path(tmp) / "ckpt")
        gold = cached.pop("valid_features")
        results["cached"] = cached
        if not args.skip_paper:
            # The paper's loop as it was run: torch's default (non-deterministic) kernels.
            torch.use_deterministic_algorithms(False)
            model.decoder.load_state_dict(start_state)
            gold_view = SimpleNamespace(samples=valid_samples, image_ids=gold.image_ids,
                                        sizes=gold.sizes, masks=[read_annotator_masks(s)
                                                                 for s in valid_samples])
            print("paper's loop:", flush=True)
            results["paper"] = paper_loop(model, processor, train_samples, gold_view, args, device)
    teardown(runtime)
    return results


def summarize(results: dict, args: argparse.Namespace) -> None:
    n, epochs = results["train_images"], args.epochs
    cached = results["cached"]
    print(f"\ncached loop: {epochs} epochs of {n} photos in {cached['total_s']:.1f}s end to end "
          f"(decode+encode once {cached['cache_s']:.1f}s, training with per-epoch validation "
          f"{cached['train_s']:.1f}s) = {epochs * n / cached['total_s']:.0f} img/s; "
          f"decoder steps {epochs * n / cached['train_s']:.0f} img/s with validation")
    last = cached["epochs"][-1]
    print(f"  valid after epoch {last['epoch']}: dice {last['dice']:.4f}, dice_meanofmax "
          f"{last['dice_meanofmax']:.4f}")
    paper = results.get("paper")
    if not paper:
        return
    rows = paper["epochs"]
    steady = rows[1:] or rows  # the first epoch also starts the loader workers
    per_epoch = sum(r["total_s"] for r in steady) / len(steady)
    projected = rows[0]["total_s"] + per_epoch * (epochs - 1)
    measured = sum(r["total_s"] for r in rows)
    train_rate = n / (sum(r["train_s"] for r in steady) / len(steady))
    print(f"paper's loop: {len(rows)} epochs measured in {measured:.1f}s "
          f"({train_rate:.0f} img/s training, {per_epoch:.1f}s per epoch with validation); "
          f"{epochs} epochs {'measured' if len(rows) >= epochs else 'projected'}: {projected:.0f}s")
    k = len(rows)
    same = cached["epochs"][min(k, len(cached["epochs"])) - 1]
    print(f"  valid after epoch {k}: paper dice {rows[-1]['dice']:.4f} / dice_meanofmax "
          f"{rows[-1]['dice_meanofmax']:.4f}; cached dice {same['dice']:.4f} / dice_meanofmax "
          f"{same['dice_meanofmax']:.4f}")
    ratio = projected / cached["total_s"]
    print(f"speed-up, {epochs} epochs end to end: {ratio:.1f}x (goal: 15x; cached loop within "
          f"60s: {'yes' if cached['total_s'] <= 60 else 'no'})")
    results["summary"] = {"paper_projected_s": projected, "cached_total_s": cached["total_s"],
                          "ratio": ratio, "paper_train_img_per_s": train_rate}


if __name__ == "__main__":
    main()
