"""``--method vlm``: a local vision-language model through transformers, batched generation.

The model loads with ``AutoModelForImageTextToText`` and its processor with ``AutoProcessor``
(both through :func:`baselines.hub.load_pretrained`); prompts go through the model's own chat
template, photos first, then the text. Requests are generated in batches of ``batch_size`` with
left padding (decoder-only models continue the prompt from its end), bf16 on a GPU that supports
it (fp16 otherwise), fp32 on the CPU. Greedy decoding at temperature 0, sampling otherwise,
seeded per batch. With ``structured`` generation is constrained to the tokens a JSON answer
needs (:func:`.schema.allowed_tokens`: digits, brackets, quotes and the question ids' letters;
no prose, no ``<think>`` block): the cheap part of the schema that transformers can enforce.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from baselines.hub import load_pretrained, pretrained_source
from baselines.vqa.vlm.backend import Reply
from baselines.vqa.vlm.images import load_photos
from baselines.vqa.vlm.processor import load_processor
from baselines.vqa.vlm.prompt import Request


def _dtype_argument(dtype: Any) -> dict[str, Any]:
    """``dtype=`` (transformers >= 4.56) or ``torch_dtype=`` (before)."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": dtype}


class HfBackend:
    """A loaded model and processor; :meth:`answer` generates batch by batch."""

    def __init__(self, model: Any, processor: Any, *, name: str, batch_size: int = 8,
                 max_new_tokens: int = 384, temperature: float = 0.0, image_size: int = 768,
                 seed: int = 0, structured: bool = True) -> None:
        self.model, self.processor, self.name = model, processor, name
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens
        self.temperature, self.image_size, self.seed = temperature, image_size, seed
        tokenizer = getattr(processor, "tokenizer", processor)
        tokenizer.padding_side = "left"  # generation continues every prompt from its last token
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        self.batches = 0
        self.structured = structured
        self._allowed: Any = None  # the logits processor, made on first use

    @property
    def device(self) -> Any:
        return self.model.device

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "device": str(self.device),
                "precision": str(self.model.dtype).removeprefix("torch."),
                "batch_size": self.batch_size, "structured": self.structured}

    def _constraint(self) -> Any:
        """``logits_processor`` restricting generation to the answer's tokens."""
        from transformers import LogitsProcessorList

        from baselines.vqa.vlm.schema import allowed_tokens

        if self._allowed is None:
            ends = self.model.generation_config.eos_token_id
            ends = [ends] if isinstance(ends, int) else list(ends or [])
            ends += [self.tokenizer.eos_token_id, self.tokenizer.pad_token_id]
            self._allowed = allowed_tokens(self.tokenizer, [e for e in ends if e is not None])
        return LogitsProcessorList([self._allowed])

    def _inputs(self, batch: Sequence[Request]) -> Any:
        texts, images = [], []
        for request in batch:
            content: list[dict[str, Any]] = []
            for segment in request.segments:
                content += [{"type": "image"} for _ in segment.photos]
                content.append({"type": "text", "text": segment.text})
            texts.append(self.processor.apply_chat_template(
                [{"role": "user", "content": content}], tokenize=False,
                add_generation_prompt=True))
            images.append(load_photos(request.photos, self.image_size))
        kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
        if any(images):
            kwargs["images"] = images
        # pixel values in the model's dtype (integer ids and masks are left as they are)
        return self.processor(**kwargs).to(self.device, dtype=self.model.dtype)

    def generate_batch(self, batch: Sequence[Request]) -> list[Reply]:
        """One ``generate`` call over ``batch``; the replies in the same order."""
        import torch

        started = time.perf_counter()
        inputs = self._inputs(batch)
        sampling = self.temperature > 0
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": sampling}
        if sampling:
            options["temperature"] = self.temperature
        if self.structured:
            options["logits_processor"] = self._constraint()
        torch.manual_seed(self.seed + self.batches)
        self.batches += 1
        with torch.inference_mode():
            output = self.model.generate(**inputs, **options)
        width = inputs["input_ids"].shape[1]
        new = output[:, width:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        seconds = (time.perf_counter() - started) / len(batch)
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        completion_tokens = (new != self.tokenizer.pad_token_id).sum(dim=1).tolist()
        return [Reply(text, int(p), int(c), seconds, structured=self.structured)
                for text, p, c in zip(texts, prompt_tokens, completion_tokens)]

    def answer(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Reply]]:
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start:start + self.batch_size]
            yield from zip(batch, self.generate_batch(batch))


@contextlib.contextmanager
def open_hf_backend(model: str, device_choice: str, *, seed: int = 0,
                    **settings: Any) -> Iterator[HfBackend]:
    """Load ``model`` (hub id, folder or ``tiny-random``) on the chosen device."""
    import torch
    from transformers import AutoModelForImageTextToText

    from baselines.runtime import pick_amp_dtype, pick_device
    from baselines.vqa.vlm.tiny import save_random_model

    device = pick_device(device_choice)
    dtype = pick_amp_dtype(device) or torch.float32
    with pretrained_source(model, lambda folder: save_random_model(folder, seed=seed),
                           prefix="vqa-tiny-vlm-") as source:
        processor = load_pretrained(load_processor, source, "vision-language processor")
        loaded = load_pretrained(lambda s, **kw: AutoModelForImageTextToText.from_pretrained(
            s, **_dtype_argument(dtype), **kw), source, "vision-language model")
    loaded.to(device)
    loaded.eval()
    yield HfBackend(loaded, processor, name=model, seed=seed, **settings)
