"""Random-weight CLIPSeg models and a CLIP BPE tokenizer built offline (no hub access).

``--model tiny-random`` and the tests use :func:`tiny_config`: the CLIPSeg architecture of
``CIDAS/clipseg-rd64-refined`` (ViT patch 16, extract layers, FiLM, refined transposed
convolutions) at toy widths. The benchmark uses :func:`rd64_refined_config`: the full-size
architecture with random weights. Both are saved with :func:`save_random_model` and loaded back
through ``from_pretrained``, the path a hub id takes.

The tokenizer is a real byte-level CLIP BPE (lower-casing, ``</w>`` word ends, 77 positions) whose
merges are learnt here from a short built-in word list, so its ids differ from OpenAI's.

>>> tok = build_tokenizer()
>>> ids = tok("Itchy red rash")["input_ids"]
>>> ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
True
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
INPUT_SIZE = 352
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
WORD_END = "</w>"

# The merges are learnt from these words (frequency = repetitions): the vocabulary of skin queries.
_CORPUS = """
the the the the and and and a a a of of to to to is is in in on on it it my my i i i
skin skin skin rash rash rash itch itchy itchy red red spot spots patch patch lesion lesions
arm arm leg leg face hand hands foot back neck chest scalp finger fingers
pain painful dry scaly rough smooth bump bumps blister blisters swelling swollen
brown pink white black purple blue dark light color colour
eczema psoriasis acne fungal infection allergy allergic dermatitis hives wart warts mole
cream steroid moisturiser moisturizer apply use twice day days week weeks month months year years
doctor looks like this that what how why please help started since after before
"""


def _learn_merges(n_merges: int = 400) -> list[tuple[str, str]]:
    """Byte-pair merges over the built-in corpus (ties broken alphabetically: deterministic)."""
    words: Counter[tuple[str, ...]] = Counter()
    for word in _CORPUS.split():
        words[tuple(word[:-1]) + (word[-1] + WORD_END,)] += 1
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for symbols, count in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged: Counter[tuple[str, ...]] = Counter()
        for symbols, count in words.items():
            out: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return merges


def build_tokenizer() -> Any:
    """A CLIP tokenizer: 256 byte symbols, the same with ``</w>``, learnt merges, then BOS/EOS."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    tokens = alphabet + [c + WORD_END for c in alphabet]
    merges = _learn_merges()
    tokens += [a + b for a, b in merges]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    try:  # transformers >= 5 builds the BPE from a vocab dict and merges
        return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    except TypeError:  # transformers 4 wants files
        import json
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="clip-tok-"))
        (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges),
                                           encoding="utf-8")
        return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def _text_ids(tokenizer: Any) -> dict[str, int]:
    # The pooled text embedding is read at the first EOS: the config must name the tokenizer's ids.
    return {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}


def tiny_config(tokenizer: Any) -> Any:
    """The rd64-refined architecture at toy widths (a few hundred thousand parameters)."""
    from transformers import CLIPSegConfig

    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                **_text_ids(tokenizer))
    vision = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
                  image_size=224, patch_size=16)
    return CLIPSegConfig(text_config=text, vision_config=vision, projection_dim=32,
                         extract_layers=[1, 2, 3], reduce_dim=32, decoder_num_attention_heads=2,
                         decoder_intermediate_size=64, use_complex_transposed_convolution=True)


def rd64_refined_config(tokenizer: Any) -> Any:
    """``CIDAS/clipseg-rd64-refined``'s architecture: CLIP ViT-B/16, reduce_dim 64, refined.

    transformers' ``CLIPSegConfig()`` defaults give patch 32 and the plain transposed convolution;
    the hub checkpoint uses patch 16 and ``use_complex_transposed_convolution=True`` (as in
    transformers' conversion script). Only the special-token ids follow ``tokenizer``.
    """
    from transformers import CLIPSegConfig

    return CLIPSegConfig(text_config=dict(**_text_ids(tokenizer)),
                         vision_config=dict(patch_size=16), extract_layers=[3, 6, 9],
                         reduce_dim=64, use_complex_transposed_convolution=True)


def build_image_processor() -> Any:
    """352x352 bilinear resize, CLIP mean and standard deviation (as the CLIPSeg processor)."""
    try:  # transformers >= 5 without torchvision: the PIL backend, silently
        from transformers import ViTImageProcessorPil as Processor
    except ImportError:
        from transformers import ViTImageProcessor as Processor
    return Processor(size={"height": INPUT_SIZE, "width": INPUT_SIZE}, resample=2,
                     image_mean=list(CLIP_MEAN), image_std=list(CLIP_STD))


def save_random_model(folder: str | Path, *, size: str = "tiny", seed: int = 0) -> Path:
    """Write a random-weight CLIPSeg and its processor to ``folder`` (``from_pretrained``-ready).

    ``size``: ``"tiny"`` (smoke runs, CI) or ``"rd64-refined"`` (full size, benchmarks).
    """
    import torch
    from transformers import CLIPSegForImageSegmentation, CLIPSegProcessor

    from baselines.hub import quiet_transformers

    tokenizer = build_tokenizer()
    config = {"tiny": tiny_config, "rd64-refined": rd64_refined_config}[size](tokenizer)
    torch.manual_seed(seed)
    model = CLIPSegForImageSegmentation(config)
    for module in model.decoder.modules():  # transformers draws these with std 1: logits in the
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            module.reset_parameters()  # hundreds; torch's fan-in scaled init trains from the start
    folder = Path(folder)
    with quiet_transformers():
        model.save_pretrained(folder)
        CLIPSegProcessor(image_processor=build_image_processor(),
                         tokenizer=tokenizer).save_pretrained(folder)
    return folder
