"""Small random BERT and Swin models with an offline WordPiece tokenizer (no hub access).

``--model-text tiny-random`` / ``--model-image tiny-random`` and the tests use these: the
architectures of ``emilyalsentzer/Bio_ClinicalBERT`` (BERT) and
``microsoft/swin-base-patch4-window7-224`` (Swin) at toy widths, saved to a folder and loaded
back through ``from_pretrained``, the path a hub id takes. They learn nothing medical.

The tokenizer is a real lower-casing WordPiece over a vocabulary written here: special tokens,
single characters (so any English text tokenises) and a few skin-query words.

>>> tok = build_tokenizer(Path(tempfile.mkdtemp()))
>>> tok.convert_ids_to_tokens(tok("Itchy rash!")["input_ids"])
['[CLS]', 'itchy', 'rash', '!', '[SEP]']
"""

from __future__ import annotations

import contextlib
import string
import tempfile  # noqa: F401 - the module example builds its folder with it
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from baselines.hub import pretrained_source

TINY_IMAGE_SIZE = 32
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WORDS = """the and is of my it on in to a i have with for this what skin rash itchy itch red spots
spot patch lesion lesions arm leg face hand back neck chest head body scalp dry scaly rough smooth
raised flat bump bumps blister weeping crust scab warty thick thin white brown pink black purple
blue color single multiple area areas size palm thumb nail larger where how many when did first
notice days weeks months years hours over within widespread limited not mentioned yes no
normal""".split()


def vocabulary() -> list[str]:
    """Special tokens, characters, their ``##`` continuations, then whole words."""
    characters = string.ascii_lowercase + string.digits + string.punctuation
    pieces = list(characters) + ["##" + c for c in characters] + WORDS
    return list(dict.fromkeys((*SPECIAL_TOKENS, *pieces)))


def build_tokenizer(folder: Path) -> Any:
    """A lower-casing BERT WordPiece tokenizer over :func:`vocabulary` (written to ``folder``)."""
    from transformers import BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocabulary()) + "\n", encoding="utf-8")
    # the first parameter is vocab_file in transformers 4 and vocab (a dict or a file) in 5
    return BertTokenizerFast(str(vocab_file), do_lower_case=True, model_max_length=128)


def save_tiny_bert(folder: str | Path, *, seed: int = 0) -> Path:
    """A 2-layer, 32-wide random BERT and its tokenizer, ``from_pretrained``-ready."""
    import torch
    from transformers import BertConfig, BertModel

    folder = Path(folder)
    tokenizer = build_tokenizer(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_image_processor(size: int = TINY_IMAGE_SIZE) -> Any:
    """Resize to ``size`` x ``size`` (bicubic), ImageNet mean and standard deviation (as Swin's)."""
    try:  # transformers >= 5 without torchvision: the PIL backend, silently
        from transformers import ViTImageProcessorPil as Processor
    except ImportError:
        from transformers import ViTImageProcessor as Processor
    return Processor(size={"height": size, "width": size}, resample=3,
                     image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD))


def save_tiny_swin(folder: str | Path, *, image_size: int = TINY_IMAGE_SIZE, seed: int = 0) -> Path:
    """A 2-stage, 16-wide random Swin (patch 4, window 4) and its processor."""
    import torch
    from transformers import SwinConfig, SwinModel

    folder = Path(folder)
    config = SwinConfig(image_size=image_size, patch_size=4, embed_dim=16, depths=[1, 1],
                        num_heads=[2, 2], window_size=4)
    torch.manual_seed(seed)
    SwinModel(config, add_pooling_layer=False).save_pretrained(folder)
    build_image_processor(image_size).save_pretrained(folder)
    return folder


@contextlib.contextmanager
def model_sources(model_text: str, model_image: str, *, seed: int = 0) -> Iterator[tuple[str, str]]:
    """``from_pretrained`` arguments for the two models: hub ids and folders pass through,
    ``tiny-random`` is built into a temporary folder that lives as long as the context."""
    with pretrained_source(model_text, lambda folder: save_tiny_bert(folder, seed=seed),
                           prefix="vqa-tiny-text-") as text, \
            pretrained_source(model_image, lambda folder: save_tiny_swin(folder, seed=seed),
                              prefix="vqa-tiny-image-") as image:
        yield text, image
