"""A small random Qwen2.5-VL with a byte-level BPE tokenizer and chat template, built offline.

``--method vlm --model tiny-random`` and the tests use :func:`tiny_config`: the architecture of
``Qwen/Qwen2.5-VL-7B-Instruct`` (windowed ViT with 2x2 patch merging, multimodal rotary
positions, Qwen2 decoder) at toy widths. The benchmark uses :func:`qwen25_vl_7b_config`: the
full-size architecture (values typed from the published ``config.json``, nothing downloaded).
Both are saved with :func:`save_random_model` and loaded back through ``from_pretrained``, the
path a hub id takes. A random model answers gibberish: every family falls back to the prior.

The tokenizer is a real byte-level BPE (any text tokenises) whose merges are learnt here from
the option texts and a few skin-query words, with Qwen's special tokens and a chat template that
renders messages as Qwen2.5-VL's does (``<|im_start|>``, one vision block per image).

>>> tok = build_tokenizer()
>>> text = tok.apply_chat_template([{"role": "user", "content": [{"type": "image"},
...     {"type": "text", "text": "Itchy?"}]}], tokenize=False, add_generation_prompt=True)
>>> print(text)  # doctest: +NORMALIZE_WHITESPACE
<|im_start|>system
You are a helpful assistant.<|im_end|>
<|im_start|>user
<|vision_start|><|image_pad|><|vision_end|>Itchy?<|im_end|>
<|im_start|>assistant
>>> tok.decode(tok("Itchy red rash")["input_ids"])
'Itchy red rash'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
# Qwen2.5-VL's template, images and text only (the video branch is left out).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_CORPUS = """
You are a dermatologist answering a questionnaire about a patient's skin problem from photos and
the patient's words. Answer every question with one JSON object. Not mentioned single spot limited
area widespread head neck upper extremities lower extremities chest abdomen back other please
specify size of thumb nail palm larger within hours days weeks months over a year multiple years
raised or bumpy flat skin loss sunken thick thin close to the surface warty crust scab weeping yes
no normal skin color pink red brown blue purple black white combination hyperpigmentation
hypopigmentation single multiple smooth rough itchy itch rash spots patch lesion arm leg face hand
How much of the body is affected Where is the affected area How large are the affected areas When
did the patient first notice the issue What label best describes Is there any associated itching
Compared to the normal surrounding what is the of the How many skin lesions are there texture
CQID010 CQID011 CQID012 CQID015 CQID020 CQID025 CQID034 CQID035 CQID036 choose one up to
"""
TINY_MAX_PIXELS = 56 * 56 * 4  # at most 16 merged vision tokens per photo


def build_tokenizer(n_merges: int = 400) -> Any:
    """A Qwen2 tokenizer over a byte-level BPE learnt from the built-in corpus, with the chat
    template (deterministic: the same merges every time)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2TokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + n_merges, initial_alphabet=alphabet,
                                  special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    bpe.train_from_iterator([_CORPUS] * 3, trainer)
    tokenizer = Qwen2TokenizerFast(tokenizer_object=bpe, unk_token=None, bos_token=None,
                                   eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=32768)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _special_ids(tokenizer: Any) -> dict[str, int]:
    """The config's token ids, as the tokenizer numbers them."""
    ids = tokenizer.convert_tokens_to_ids
    return {"image_token_id": ids("<|image_pad|>"), "video_token_id": ids("<|video_pad|>"),
            "vision_start_token_id": ids("<|vision_start|>"),
            "vision_end_token_id": ids("<|vision_end|>")}


def _config(tokenizer: Any, text: dict[str, Any], vision: dict[str, Any]) -> Any:
    from transformers import Qwen2_5_VLConfig

    special = _special_ids(tokenizer)
    text = {**text, "vocab_size": max(text.get("vocab_size", 0), len(tokenizer)),
            "bos_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id, "rope_theta": 1000000.0}
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **special,
                            tie_word_embeddings=text.get("tie_word_embeddings", False))


def tiny_config(tokenizer: Any) -> Any:
    """Qwen2.5-VL at toy widths: 2 decoder layers 32 wide, a 2-block 32-wide ViT."""
    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                num_key_value_heads=1, max_position_embeddings=32768,
                rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]})  # head 16: 8 pairs
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56,
                  fullatt_block_indexes=[1])
    return _config(tokenizer, text, vision)


def qwen25_vl_7b_config(tokenizer: Any) -> Any:
    """``Qwen/Qwen2.5-VL-7B-Instruct``'s architecture (its ``config.json``); only the special
    token ids follow ``tokenizer`` (the vocabulary keeps the real 152064 rows)."""
    text = dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                max_position_embeddings=128000, rms_norm_eps=1e-6, hidden_act="silu",
                rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]})
    vision = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                  out_hidden_size=3584, patch_size=14, spatial_merge_size=2,
                  temporal_patch_size=2, window_size=112, fullatt_block_indexes=[7, 15, 23, 31],
                  hidden_act="silu", tokens_per_second=2)
    return _config(tokenizer, text, vision)


CONFIGS = {"tiny": tiny_config, "7b": qwen25_vl_7b_config}


def build_processor(tokenizer: Any, *, max_pixels: int = TINY_MAX_PIXELS) -> Any:
    """Qwen2.5-VL's processor (image processor, tokenizer, chat template); ``max_pixels`` bounds
    the vision tokens per photo (the real default is 12.8 M pixels)."""
    from transformers import Qwen2_5_VLProcessor

    try:  # transformers >= 5 without torchvision: the PIL backend, silently
        from transformers import Qwen2VLImageProcessorPil as ImageProcessor
    except ImportError:
        from transformers import Qwen2VLImageProcessor as ImageProcessor
    image_processor = ImageProcessor(min_pixels=56 * 56, max_pixels=max_pixels)
    try:
        from transformers import Qwen2VLVideoProcessor

        return Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                   video_processor=Qwen2VLVideoProcessor(),
                                   chat_template=CHAT_TEMPLATE)
    except (ImportError, TypeError, ValueError, AttributeError):  # no torchvision
        from baselines.vqa.vlm.processor import photos_only

        return photos_only(Qwen2_5_VLProcessor)(image_processor=image_processor,
                                                tokenizer=tokenizer, chat_template=CHAT_TEMPLATE)


def build_random_model(size: str = "tiny", *, seed: int = 0, dtype: Any = None,
                       device: Any = None, max_pixels: int = TINY_MAX_PIXELS) -> tuple[Any, Any]:
    """A random-weight Qwen2.5-VL (``size``: "tiny" or "7b") and its processor, in memory."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    tokenizer = build_tokenizer()
    config = CONFIGS[size](tokenizer)
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype) \
            if dtype is not None else Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, build_processor(tokenizer, max_pixels=max_pixels)


def save_random_model(folder: str | Path, *, size: str = "tiny", seed: int = 0) -> Path:
    """Write a random-weight Qwen2.5-VL and its processor to ``folder``
    (``from_pretrained``-ready)."""
    from baselines.hub import quiet_transformers

    folder = Path(folder)
    model, processor = build_random_model(size, seed=seed)
    with quiet_transformers():
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
    return folder
