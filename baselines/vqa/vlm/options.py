"""Settings of the ``vlm`` and ``api`` methods (no torch, transformers or openai imported here)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_VLM_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
BACKENDS: tuple[str, ...] = ("vlm", "api")


@dataclass(frozen=True)
class VlmOptions:
    """Who answers (``backend``: a local transformers model or an OpenAI-compatible endpoint)
    and how the questions are asked. The API key is never held here: only the name of the
    environment variable that holds it."""

    backend: str = "vlm"
    model: str = DEFAULT_VLM_MODEL  # vlm: hub id, folder or tiny-random
    endpoint: str | None = None  # api: base URL, e.g. http://127.0.0.1:8000/v1
    api_model: str | None = None  # api: the model name the server knows
    api_key_env: str = DEFAULT_API_KEY_ENV
    concurrency: int = 4  # api: requests in flight
    batch_size: int = 8  # vlm: requests per generate() call
    votes: int = 3
    shots: int = 0
    retries: int = 2
    temperature: float = 0.0
    max_new_tokens: int = 384
    max_images: int = 6
    image_size: int = 768
    per_family: bool = False
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        for name in ("votes", "concurrency", "batch_size", "max_new_tokens", "max_images",
                     "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.shots < 0 or self.retries < 0 or self.temperature < 0:
            raise ValueError("shots, retries and temperature must not be negative")

    @property
    def model_name(self) -> str:
        """The model as responses.jsonl records it (part of every stored key)."""
        return (self.api_model or "") if self.backend == "api" else self.model
