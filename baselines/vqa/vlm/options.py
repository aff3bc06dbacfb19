"""Settings of the ``vlm`` and ``api`` methods (no torch, transformers or openai imported here)."""

from __future__ import annotations

from dataclasses import dataclass

from baselines.vqa.vlm.endpoint import EndpointUrl

DEFAULT_VLM_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
BACKENDS: tuple[str, ...] = ("vlm", "api")
MAX_TOKENS_PARAMS: tuple[str, ...] = ("max_tokens", "max_completion_tokens")
LONGEST_WAIT_S = 120.0  # the openai client waits for a Retry-After of at most this


@dataclass(frozen=True)
class VlmOptions:
    """Who answers (``backend``: a local transformers model or an OpenAI-compatible endpoint)
    and how the questions are asked. The API key is never held here: only the name of the
    environment variable that holds it; the endpoint, which may hold credentials, is an
    :class:`EndpointUrl` (recorded redacted)."""

    backend: str = "vlm"
    model: str = DEFAULT_VLM_MODEL  # vlm: hub id, folder or tiny-random
    endpoint: EndpointUrl | str | None = None  # api: base URL, e.g. http://127.0.0.1:8000/v1
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
    structured: bool = True  # api: response_format with the JSON schema; vlm: constrained tokens
    shot_photos: bool = False  # the worked examples' photos too
    allow_fallback: bool = False  # accept the prior for families whose requests failed
    max_tokens_param: str = "max_tokens"  # api: the field carrying max_new_tokens
    api_timeout: float = 300.0  # api: total deadline of one HTTP attempt, seconds
    api_max_wait: float = 60.0  # api: longest Retry-After waited for, seconds
    api_retries: int = 5  # api: transport retries of one request

    def __post_init__(self) -> None:
        if self.endpoint is not None and not isinstance(self.endpoint, EndpointUrl):
            object.__setattr__(self, "endpoint", EndpointUrl(self.endpoint))  # never recorded
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        for name in ("votes", "concurrency", "batch_size", "max_new_tokens", "max_images",
                     "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if min(self.shots, self.retries, self.temperature, self.api_retries) < 0:
            raise ValueError("shots, retries, api_retries and temperature must not be negative")
        if self.max_tokens_param not in MAX_TOKENS_PARAMS:
            raise ValueError(f"max_tokens_param must be one of {MAX_TOKENS_PARAMS}")
        if not self.api_timeout > 0 or not 0 <= self.api_max_wait <= LONGEST_WAIT_S:
            raise ValueError(f"api_timeout must be positive, api_max_wait 0..{LONGEST_WAIT_S:g}")

    @property
    def model_name(self) -> str:
        """The model as responses.jsonl records it (part of every stored key)."""
        return (self.api_model or "") if self.backend == "api" else self.model

    def request_settings(self) -> str:
        """Every parameter of a request besides its content, for the store's key: the
        endpoint (redacted: secrets are no part of it) and the generation parameters."""
        common = (f"image_size={self.image_size};temperature={self.temperature:g};"
                  f"max_new_tokens={self.max_new_tokens};structured={self.structured}")
        if self.backend != "api":
            return common
        endpoint = self.endpoint.redacted if isinstance(self.endpoint, EndpointUrl) else ""
        return f"endpoint={endpoint};{common};max_tokens_param={self.max_tokens_param}"
