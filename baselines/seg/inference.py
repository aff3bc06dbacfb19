"""Photos to logits with a loaded CLIPSeg, streamed: decode ahead on threads, encode, decode.

Prediction needs no cache: the photos of a split go through in batches, decoded up to two
batches ahead on the decode pool (:func:`baselines.seg.images.decoded_batches`), so memory
stays flat over any number of photos. The numbers are those of the training cache: the prompts
of the split are encoded at once (:func:`~baselines.seg.features.encode_split_prompts`), the
vision encoder runs through the cache's own forward
(:func:`~baselines.seg.model.vision_features`) on the same batches of
:data:`~baselines.seg.model.ENCODE_BATCH`, and the decoder through
:func:`~baselines.seg.model.decoder_logits`; so on one device ``run-baseline``'s cached logits and
these are the same numbers.

``tta="hflip"`` also runs the mirrored photo and averages its mirrored logits with the photo's:
``L(x) = (f(x) + flip(f(flip(x)))) / 2``, so ``L(flip(x)) = flip(L(x))`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from baselines.runtime import Runtime
from baselines.seg.data import SegSample
from baselines.seg.features import encode_split_prompts
from baselines.seg.images import Preprocessing, decoded_batches
from baselines.seg.model import ENCODE_BATCH, decoder_logits, vision_features

TTA_CHOICES: tuple[str, ...] = ("none", "hflip")


def _mirror(tensor: Any) -> Any:
    return tensor.flip(-1)


def batch_logits(model: Any, pixels: Any, conditional: Any, runtime: Runtime, *,
                 tta: str = "none") -> Any:
    """float32 logits ``[n, 352, 352]`` of normalised pixels ``[n, 3, 352, 352]``."""
    if tta not in TTA_CHOICES:
        raise ValueError(f"tta must be one of {TTA_CHOICES}")

    def forward(values: Any) -> Any:
        return decoder_logits(model.decoder, vision_features(model, values, runtime), conditional,
                              runtime)

    logits = forward(pixels)
    if tta == "hflip":
        logits = (logits + _mirror(forward(_mirror(pixels)))) / 2
    return logits


def iter_logits(model: Any, processor: Any, samples: Sequence[SegSample], runtime: Runtime, *,
                prompt_mode: str, tta: str = "none", batch_size: int = ENCODE_BATCH,
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
    paths = [s.image_path for s in samples]
    for pixels, sizes in decoded_batches(paths, prep, batch_size, workers=workers):
        values = prep.normalize(torch.from_numpy(pixels).to(runtime.device))
        logits = batch_logits(model, values, conditional[start:start + len(sizes)], runtime,
                              tta=tta)
        start += len(sizes)
        for size, row in zip(sizes, logits):
            yield size, row
            if on_image is not None:
                on_image()
