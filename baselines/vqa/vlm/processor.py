"""Processors of vision-language models, with or without torchvision.

transformers 5 builds the Qwen-VL processors with a video processor, which needs torchvision;
without it even a photos-only processor cannot be made. :func:`photos_only` gives the same
processor class without its video part (same name, same saved files): photos are all that the
baselines send.
"""

from __future__ import annotations

import inspect
from typing import Any


def photos_only(processor_class: type) -> type:
    """``processor_class`` without its video processor (same name, same saved files)."""

    def __init__(self: Any, image_processor: Any = None, tokenizer: Any = None,
                 chat_template: Any = None, **kwargs: Any) -> None:
        processor_class.__init__(self, image_processor, tokenizer, None,
                                 chat_template=chat_template, **kwargs)

    return type(processor_class.__name__, (processor_class,), {"__init__": __init__})


def load_processor(source: str, **kwargs: Any) -> Any:
    """``AutoProcessor.from_pretrained(source, **kwargs)``; when that fails for a processor that
    takes a video processor (no torchvision), the photos-only version of its class."""
    from transformers import AutoConfig, AutoProcessor
    from transformers.models.auto.processing_auto import (PROCESSOR_MAPPING_NAMES,
                                                          processor_class_from_name)

    try:
        return AutoProcessor.from_pretrained(source, **kwargs)
    except Exception:  # noqa: BLE001 - retried below, else reported by load_pretrained
        name = PROCESSOR_MAPPING_NAMES.get(AutoConfig.from_pretrained(source, **kwargs).model_type)
        cls = processor_class_from_name(name) if name else None
        if cls is None or "video_processor" not in inspect.signature(cls.__init__).parameters:
            raise
        return photos_only(cls).from_pretrained(source, **kwargs)
