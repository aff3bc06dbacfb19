"""Photos to logits with a loaded CLIPSeg, streamed: decode ahead on threads, encode, decode.

Prediction needs no cache: the photos of a split go through in batches, decoded a few batches
ahead on a thread pool (:func:`baselines.seg.images.decode_resized`, PIL releases the GIL), so
memory stays flat over any number of photos. The numbers are those of the training cache: the
prompts of the split are encoded at once (:func:`~baselines.seg.features.encode_split_prompts`),
the vision encoder runs on the same batches of 64, its activations are cast to the cache's
dtype, and the decoder runs through :func:`~baselines.seg.model.decoder_logits`; so on one device
``run-baseline``'s cached logits and these are the same numbers.

``tta="hflip"`` also runs the mirrored photo and averages its mirrored logits with the photo's:
``L(x) = (f(x) + flip(f(flip(x)))) / 2``, so ``L(flip(x)) = flip(L(x))`` exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from baselines.runtime import Runtime
from baselines.seg.data import SegSample
from baselines.seg.features import encode_split_prompts
from baselines.seg.images import Preprocessing, decode_resized, default_workers
from baselines.seg.model import decoder_logits, encode_images

TTA_CHOICES: tuple[str, ...] = ("none", "hflip")
DEFAULT_BATCH = 64  # the training cache's encoding batch: the same numbers


def _mirror(tensor: Any) -> Any:
    return tensor.flip(-1)


def batch_logits(model: Any, pixels: Any, conditional: Any, runtime: Runtime, *,
                 tta: str = "none") -> Any:
    """float32 logits ``[n, 352, 352]`` of normalised pixels ``[n, 3, 352, 352]``."""
    if tta not in TTA_CHOICES:
        raise ValueError(f"tta must be one of {TTA_CHOICES}")

    def forward(values: Any) -> Any:
        with runtime.autocast():
            hidden = [h.to(runtime.storage_dtype) for h in encode_images(model, values)]
        return decoder_logits(model.decoder, hidden, conditional, runtime)

    logits = forward(pixels)
    if tta == "hflip":
        logits = (logits + _mirror(forward(_mirror(pixels)))) / 2
    return logits


def _decoded_batches(samples: Sequence[SegSample], prep: Preprocessing, batch_size: int,
                     workers: int | None) -> Iterator[tuple[np.ndarray, list[tuple[int, int]]]]:
    """(``[b, 3, h, w]`` uint8 pixels, stored sizes) per batch, decoded two batches ahead."""
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        waiting: deque[list[Future]] = deque()
        starts = iter(range(0, len(samples), batch_size))

        def submit_next() -> None:
            start = next(starts, None)
            if start is not None:
                waiting.append([pool.submit(decode_resized, s.image_path, prep)
                                for s in samples[start:start + batch_size]])

        for _ in range(3):
            submit_next()
        while waiting:
            decoded = [future.result() for future in waiting.popleft()]
            submit_next()
            yield (np.stack([image.transpose(2, 0, 1) for image, _ in decoded]),
                   [size for _, size in decoded])


def iter_logits(model: Any, processor: Any, samples: Sequence[SegSample], runtime: Runtime, *,
                prompt_mode: str, tta: str = "none", batch_size: int = DEFAULT_BATCH,
                workers: int | None = None,
                on_prompts: Callable[[int, int], None] | None = None,
                on_image: Callable[[], None] | None = None) -> Iterator[tuple[tuple[int, int], Any]]:
    """(stored (height, width), float32 logits ``[352, 352]`` on the device) per sample, in order.

    ``model`` is in eval mode on ``runtime.device``; the prompts follow ``prompt_mode``;
    ``on_prompts(cut, distinct)`` hears how many of the distinct prompts were cut at 77 tokens.
    """
    import torch

    prep = Preprocessing.from_processor(processor)
    conditional, n_cut, n_prompts = encode_split_prompts(model, processor.tokenizer, samples,
                                                         runtime, prompt_mode)
    if on_prompts is not None:
        on_prompts(n_cut, n_prompts)
    start = 0
    for pixels, sizes in _decoded_batches(samples, prep, batch_size, workers):
        values = prep.normalize(torch.from_numpy(pixels).to(runtime.device))
        logits = batch_logits(model, values, conditional[start:start + len(sizes)], runtime,
                              tta=tta)
        start += len(sizes)
        for size, row in zip(sizes, logits):
            yield size, row
            if on_image is not None:
                on_image()
