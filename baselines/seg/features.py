"""The cache the decoder trains on: each image decoded once, each encoder run once.

For every sample of a split: the photo is decoded and resized once (:mod:`baselines.seg.images`),
its annotator masks read and merged into the training target once, then the frozen vision encoder
runs once per image and the text encoder once per distinct prompt. The decoder then trains for
all epochs on these activations, held on the device in the autocast dtype (what the decoder's
first layers would cast them to anyway).

Under torchrun each rank decodes and encodes its share of the images (rows r, r+N, ...), then
the shares are exchanged so that every rank holds the whole cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from baselines.seg.data import SegSample, check_mask_size, merge_annotators, read_annotator_masks
from baselines.seg.images import Preprocessing, decode_resized, resize_target
from baselines.seg.model import ENCODE_BATCH, encode_prompts, text_max_length, vision_features
from baselines.seg.prompts import build_prompt, tokenize_prompts
from baselines.runtime import Runtime, gather_rows
from magic_submit.photos import decode_pool


@dataclass
class Prepared:
    """One sample after the CPU work: model-size pixels, stored size, target, raw masks."""

    pixels: np.ndarray
    size: tuple[int, int]
    target: np.ndarray | None = None
    masks: dict[str, np.ndarray] | None = None


def prepare_sample(sample: SegSample, prep: Preprocessing, *, target: str | None,
                   keep_masks: bool) -> Prepared:
    """Decode the image; with ``target`` merge and shrink the masks; with ``keep_masks`` keep them."""
    pixels, size = decode_resized(sample.image_path, prep)
    prepared = Prepared(pixels.transpose(2, 0, 1), size)
    if target is None and not keep_masks:
        return prepared
    masks = read_annotator_masks(sample)
    check_mask_size(sample, masks, size)
    if target is not None:  # check_mask_size has made sure the masks share the image's shape
        prepared.target = resize_target(merge_annotators(masks, target), prep)
    if keep_masks:
        prepared.masks = masks
    return prepared


def iter_prepared(samples: Sequence[SegSample], prep: Preprocessing, *, target: str | None,
                  keep_masks: bool, workers: int | None, ahead: int) -> Iterator[Prepared]:
    """:func:`prepare_sample` over ``samples`` on the decode pool, yielded in order."""
    return decode_pool(lambda s: prepare_sample(s, prep, target=target, keep_masks=keep_masks),
                       samples, workers=workers, ahead=ahead)


@dataclass
class SplitFeatures:
    """Everything the decoder needs for a split, on the device, in sample order."""

    samples: list[SegSample]
    sizes: list[tuple[int, int]]
    activations: list[Any]
    conditional: Any
    targets: Any = None
    masks: list[dict[str, np.ndarray]] | None = None
    prompts_truncated: int = 0
    n_prompts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def image_ids(self) -> list[str]:
        return [s.image_id for s in self.samples]

    def batch(self, indices: Any) -> tuple[list[Any], Any]:
        """(activations, conditional embeddings) of the rows ``indices`` (a long tensor)."""
        return [a[indices] for a in self.activations], self.conditional[indices]


def encode_split_prompts(model: Any, tokenizer: Any, samples: Sequence[SegSample], runtime: Runtime,
                         prompt_mode: str) -> tuple[Any, int, int]:
    """(conditional embedding per sample, prompts cut at 77 tokens, distinct prompts)."""
    import torch

    prompt_of = {s.encounter_id: build_prompt(s.record, prompt_mode) for s in samples}
    encounters = list(prompt_of)
    tokens = tokenize_prompts(tokenizer, [prompt_of[e] for e in encounters],
                              text_max_length(model, tokenizer))
    chunks = []
    for start in range(0, len(encounters), 256):
        ids = tokens.input_ids[start:start + 256].to(runtime.device)
        mask = tokens.attention_mask[start:start + 256].to(runtime.device)
        with runtime.autocast():
            chunks.append(encode_prompts(model, ids, mask).to(runtime.storage_dtype))
    per_encounter = torch.cat(chunks)
    row = {e: i for i, e in enumerate(encounters)}
    index = torch.tensor([row[s.encounter_id] for s in samples], device=runtime.device)
    return per_encounter[index], tokens.n_truncated, len(encounters)


def build_features(model: Any, processor: Any, samples: Sequence[SegSample], runtime: Runtime, *,
                   prompt_mode: str, target: str | None = None, keep_masks: bool = False,
                   shard: bool = False, workers: int | None = None, batch_size: int = ENCODE_BATCH,
                   on_image: Callable[[], None] | None = None) -> SplitFeatures:
    """Decode, merge targets and encode ``samples`` once (see the module doc).

    ``shard``: under torchrun, encode this rank's share and exchange (training split only).
    """
    import torch

    prep = Preprocessing.from_processor(processor)
    started = time.perf_counter()
    conditional, n_cut, n_prompts = encode_split_prompts(model, processor.tokenizer, samples,
                                                         runtime, prompt_mode)
    rank, world = (runtime.rank, runtime.world_size) if shard else (0, 1)
    mine = list(samples)[rank::world]
    activations: list[Any] = []
    targets = torch.empty((len(mine), prep.height, prep.width), dtype=torch.uint8,
                          device=runtime.device) if target else None
    sizes: list[tuple[int, int]] = []
    masks: list[dict[str, np.ndarray]] = []
    pending: list[Prepared] = []
    decode_wait = 0.0

    def flush() -> None:
        pixels = torch.from_numpy(np.stack([p.pixels for p in pending])).to(runtime.device)
        hidden = vision_features(model, prep.normalize(pixels), runtime)
        if not activations:
            activations.extend(torch.empty((len(mine), *h.shape[1:]), dtype=runtime.storage_dtype,
                                           device=runtime.device) for h in hidden)
        start = len(sizes) - len(pending)
        for store, h in zip(activations, hidden):
            store[start:start + len(pending)] = h
        if targets is not None:
            batch = np.stack([p.target for p in pending])
            targets[start:start + len(pending)] = torch.from_numpy(batch).to(runtime.device)
        pending.clear()

    stream = iter_prepared(mine, prep, target=target, keep_masks=keep_masks, workers=workers,
                           ahead=2 * batch_size)
    while True:
        tick = time.perf_counter()
        item = next(stream, None)
        decode_wait += time.perf_counter() - tick
        if item is None:
            break
        sizes.append(item.size)
        if keep_masks:
            masks.append(item.masks)
        pending.append(item)
        if on_image is not None:
            on_image()
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    if shard and runtime.distributed:
        activations = [gather_rows(runtime, a, len(samples)) for a in activations]
        targets = gather_rows(runtime, targets, len(samples)) if targets is not None else None
        sizes = [tuple(s) for s in gather_rows(runtime, torch.tensor(sizes, device=runtime.device),
                                               len(samples)).tolist()]
    if runtime.device.type == "cuda":
        torch.cuda.synchronize(runtime.device)
    total = time.perf_counter() - started
    return SplitFeatures(list(samples), sizes, activations, conditional, targets,
                         masks if keep_masks else None, n_cut, n_prompts,
                         {"total": total, "waiting_for_decode": decode_wait})
