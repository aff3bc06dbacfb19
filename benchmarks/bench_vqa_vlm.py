"""Benchmark ``--method vlm`` (batched generation against a one-request-at-a-time loop) and
``--method api`` (``--backend api``: magic's own cost per request against the server's latency).

One run, one model: the architecture of ``Qwen/Qwen2.5-VL-7B-Instruct`` (its config values typed
in :func:`baselines.vqa.vlm.tiny.qwen25_vl_7b_config`, random weights: the same compute as the
real model, nothing downloaded), bf16 on a GPU that has it. The data: a synthetic test-like split
of ``--encounters`` encounters with ``--photos`` consumer-size JPEGs each and the sample split's
query texts, asked with the baseline's own prompts (``--votes`` requests per encounter, options
shuffled). Every reply is exactly ``--max-new-tokens`` long in both loops (random weights never
stop by themselves; ``min_new_tokens`` makes sure of it), so the two do the same work.

* ``batched``: :class:`baselines.vqa.vlm.backend_hf.HfBackend` as the baseline runs it,
  ``--batch-size`` requests per ``generate`` call (left padding), over the whole split.
* ``single``: the same backend one request per call, over the first ``--single-encounters``
  encounters; its whole-split time is extrapolated per encounter (said in the output).

It prints encounters per minute, the whole-split time, peak GPU memory and the ratio. Goal
(issue 9): the 100-encounter test split, 3 photos, 3 votes, under 5 minutes on one H100 and at
least 4x the single loop.

``--backend api`` starts a chat-completions server on 127.0.0.1 (``tests/vlm_server.py``) that
answers every request after a fixed ``--server-delay`` and sends ``--api-requests`` requests of
the same synthetic split through :class:`baselines.vqa.vlm.backend_api.ApiBackend`, side by side
in one run: text only and with the photos one at a time (magic's overhead per request: the wall
time per request minus the server's delay: building the message, encoding the photos, the HTTP
client, parsing the reply), and with the photos ``--concurrency`` at a time (against the ideal
of ``requests x delay / concurrency``). No GPU, no model.

    python benchmarks/bench_vqa_vlm.py                                   # GPU, full size
    python benchmarks/bench_vqa_vlm.py --size tiny --device cpu --encounters 8 --photos 2 \\
        --photo-size 480x640 --single-encounters 2 --max-new-tokens 16   # a CPU check, ~1 min
    python benchmarks/bench_vqa_vlm.py --backend api --encounters 20     # the API's overhead
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from baselines.vqa.data import family_options  # noqa: E402
from baselines.vqa.vlm.options import VlmOptions  # noqa: E402
from baselines.vqa.vlm.run import Subject, first_requests  # noqa: E402
from magic_submit.challenge import DEFINITIONS_FILE  # noqa: E402
from magic_submit.dataset import Encounter, load_encounters  # noqa: E402
from magic_submit.definitions import load_definitions  # noqa: E402

REAL_MAX_PIXELS = 12845056  # Qwen2.5-VL's processor default


def synthetic_split(folder: Path, args: argparse.Namespace) -> list[Subject]:
    """``--encounters`` encounters, ``--photos`` noisy JPEGs each, sample query texts."""
    from PIL import Image

    height, width = args.photo_size
    rng = np.random.default_rng(args.seed)
    records = load_encounters(REPO / "sample_data" / "test.json")
    subjects = []
    for n in range(args.encounters):
        enc = f"ENC{20000 + n:05d}"
        photos = []
        for k in range(args.photos):
            small = rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
            path = folder / f"IMG_{enc}_{k + 1:05d}.jpg"
            Image.fromarray(small).resize((width, height)).save(path, quality=90)
            photos.append(path)
        record = dict(records[n % len(records)].record, encounter_id=enc)
        subjects.append(Subject(Encounter(enc, tuple(p.name for p in photos), record),
                                tuple(photos)))
    return subjects


def timed_answers(backend: Any, requests: list, device: Any) -> tuple[float, float, int]:
    """Seconds, peak GPU memory (GiB; 0 on the CPU) and prompt tokens of answering ``requests``."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    replies = [reply for _, reply in backend.answer(requests)]
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
    assert all(r.completion_tokens == backend.max_new_tokens for r in replies), "uneven work"
    return seconds, peak, sum(r.prompt_tokens for r in replies)


def api_overhead(args: argparse.Namespace) -> dict[str, Any]:
    """``--backend api``: the rows of the module doc, and the server's delay."""
    sys.path.insert(0, str(REPO / "tests"))
    from vlm_server import Answer, chat_server

    from baselines.vqa.vlm.backend_api import ApiBackend
    from baselines.vqa.vlm.parsing import parse_reply
    from baselines.vqa.vlm.prompt import shown_options

    families = family_options(load_definitions(REPO / "sample_data" / DEFINITIONS_FILE))
    options = {p: shown_options(f) for p, f in families.items()}
    opts = VlmOptions(backend="api", votes=args.votes, image_size=args.image_size)
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder, \
            chat_server(lambda n, seen: Answer(delay_s=args.server_delay)) as (url, _):
        subjects = synthetic_split(Path(folder), args)
        text_only = [Subject(s.encounter, ()) for s in subjects]
        for name, chosen, concurrency in (
                ("text, 1 in flight", text_only, 1), ("photos, 1 in flight", subjects, 1),
                (f"text, {args.concurrency} in flight", text_only, args.concurrency),
                (f"photos, {args.concurrency} in flight", subjects, args.concurrency)):
            requests = first_requests(chosen, families, opts, seed=args.seed,
                                      with_responses=False)[: args.api_requests]
            with ApiBackend(url, "served", concurrency=concurrency,
                            image_size=args.image_size) as backend:
                started = time.perf_counter()
                for request, reply in backend.answer(requests):
                    assert reply.failure is None, reply.failure
                    parse_reply(reply.text, request.orders, options)
                seconds = time.perf_counter() - started
            ideal = len(requests) * args.server_delay / concurrency
            rows[name] = {"requests": len(requests), "concurrency": concurrency,
                          "photos_per_request": len(requests[0].photos), "seconds": seconds,
                          "ideal_s": ideal, "per_request_s": seconds / len(requests),
                          "overhead_per_request_s": (seconds - ideal) / len(requests)
                          if concurrency == 1 else None}
    return {"server_delay_s": args.server_delay, "rows": rows}


def print_api(summary: dict[str, Any], args: argparse.Namespace) -> None:
    delay = summary["server_delay_s"]
    print(f"api against a local server answering after {delay * 1000:.0f} ms; photos "
          f"{args.photo_size[1]}x{args.photo_size[0]} sent at {args.image_size} px")
    print(f"{'requests':<22} {'n':>4} {'photos':>6} {'seconds':>8} {'ideal s':>8} "
          f"{'/ ideal':>8} {'ms/request':>10} {'overhead ms':>11}")
    for name, r in summary["rows"].items():
        overhead = r["overhead_per_request_s"]
        print(f"{name:<22} {r['requests']:>4} {r['photos_per_request']:>6} {r['seconds']:>8.2f} "
              f"{r['ideal_s']:>8.2f} {r['seconds'] / r['ideal_s']:>7.2f}x "
              f"{r['per_request_s'] * 1000:>10.1f} "
              f"{'' if overhead is None else f'{overhead * 1000:.1f}':>11}")
    print("ideal: requests x the server's delay / in flight; overhead (one in flight): magic's own "
          "time per request beside the server's (message, photos, HTTP, parsing)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("vlm", "api"), default="vlm")
    parser.add_argument("--size", choices=("7b", "tiny"), default="7b")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--encounters", type=int, default=100)
    parser.add_argument("--photos", type=int, default=3, help="photos per encounter")
    parser.add_argument("--photo-size", type=lambda s: tuple(int(v) for v in s.split("x")),
                        default=(2048, 1536), help="HxW of the synthetic photos")
    parser.add_argument("--image-size", type=int, default=768, help="longer side sent")
    parser.add_argument("--votes", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=128,
                        help="reply length (a JSON answer to 9 families is about 100 tokens)")
    parser.add_argument("--single-encounters", type=int, default=10,
                        help="encounters timed one request at a time (then extrapolated)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--server-delay", type=float, default=0.2,
                        help="api: the local server's own latency, seconds")
    parser.add_argument("--api-requests", type=int, default=30, help="api: requests per row")
    parser.add_argument("--concurrency", type=int, default=8, help="api: requests in flight")
    args = parser.parse_args(argv)
    if args.backend == "api":
        summary = api_overhead(args)
        print_api(summary, args)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return

    import torch

    from baselines.runtime import pick_amp_dtype, pick_device
    from baselines.vqa.vlm.backend_hf import HfBackend
    from baselines.vqa.vlm.tiny import TINY_MAX_PIXELS, build_random_model

    device = pick_device(args.device)
    dtype = pick_amp_dtype(device) or torch.float32
    families = family_options(load_definitions(REPO / "sample_data" / DEFINITIONS_FILE))
    opts = VlmOptions(votes=args.votes, image_size=args.image_size)
    with tempfile.TemporaryDirectory(prefix="bench-vlm-") as folder:
        subjects = synthetic_split(Path(folder), args)
        requests = first_requests(subjects, families, opts, seed=args.seed, with_responses=False)
        started = time.perf_counter()
        model, processor = build_random_model(
            args.size, seed=args.seed, dtype=dtype, device=device,
            max_pixels=REAL_MAX_PIXELS if args.size == "7b" else TINY_MAX_PIXELS)
        model.eval()
        model.generation_config.min_new_tokens = args.max_new_tokens
        build_s = time.perf_counter() - started
        settings = dict(name=f"random {args.size}", max_new_tokens=args.max_new_tokens,
                        image_size=args.image_size, seed=args.seed)
        batched = HfBackend(model, processor, batch_size=args.batch_size, **settings)
        single = HfBackend(model, processor, batch_size=1, **settings)
        list(batched.answer(requests[: min(2, len(requests))]))  # warm-up: kernels, allocator
        n_single = min(args.single_encounters, len(subjects)) * args.votes
        results = {}
        for name, backend, chosen in (("batched", batched, requests),
                                      ("single", single, requests[:n_single])):
            seconds, peak, prompt_tokens = timed_answers(backend, chosen, device)
            encounters = len(chosen) / args.votes
            results[name] = {"requests": len(chosen), "encounters": encounters,
                             "seconds": seconds, "peak_gpu_gib": peak,
                             "prompt_tokens_per_request": prompt_tokens / len(chosen),
                             "encounters_per_minute": 60 * encounters / seconds,
                             "whole_split_s": seconds * len(subjects) / encounters}
    summary = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "size": args.size, "precision": str(dtype).removeprefix("torch."),
               "parameters_b": sum(p.numel() for p in model.parameters()) / 1e9,
               "build_s": build_s, "settings": {k: (list(v) if isinstance(v, tuple) else v)
                                                for k, v in vars(args).items() if k != "json"},
               "results": results,
               "speedup": results["batched"]["encounters_per_minute"]
               / results["single"]["encounters_per_minute"]}
    print(f"{summary['device']}, Qwen2.5-VL {args.size} random weights "
          f"({summary['parameters_b'] * 1000:.1f} M parameters, {summary['precision']}), "
          f"{args.encounters} encounters x {args.photos} photos, {args.votes} votes, replies of "
          f"{args.max_new_tokens} tokens")
    print(f"{'loop':<8} {'requests':>8} {'seconds':>9} {'enc/min':>9} {'split s':>9} "
          f"{'prompt tok':>10} {'peak GiB':>9}")
    for name, r in results.items():
        print(f"{name:<8} {r['requests']:>8} {r['seconds']:>9.1f} {r['encounters_per_minute']:>9.1f} "
              f"{r['whole_split_s']:>9.1f} {r['prompt_tokens_per_request']:>10.0f} "
              f"{r['peak_gpu_gib']:>9.2f}")
    print(f"batched / single: {summary['speedup']:.2f}x encounters per minute; 'single' timed on "
          f"{results['single']['encounters']:.0f} encounters, its 'split s' extrapolated")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
