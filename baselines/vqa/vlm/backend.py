"""What every answering backend gives back, and the interface the runner calls."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from baselines.vqa.vlm.prompt import Request

# Kinds of failed requests (see Failure.kind).
HTTP, TIMEOUT, CONNECTION, TOO_LARGE, REDIRECT, MALFORMED, WAIT = (
    "http", "timeout", "connection", "too-large", "redirect", "malformed", "retry-after")


@dataclass(frozen=True)
class Failure:
    """Why a request got no usable completion (after the transport's retries): ``kind`` (one of
    the constants above), the HTTP status when there was one, and ``reason``: the server's own
    words or what went wrong, with every secret masked."""

    kind: str
    reason: str
    status: int | None = None

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.reason}" if self.status is not None else self.reason

    @property
    def repeatable(self) -> bool:
        """True when the same request would meet the same refusal again (a 4xx, a redirect
        elsewhere, a reply that is not a completion): waiting cannot fix it."""
        if self.kind == HTTP:
            return self.status is not None and 400 <= self.status < 500 and self.status != 429
        return self.kind in (REDIRECT, MALFORMED)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class Reply:
    """A model's raw text and its cost; ``failure`` set when the request itself failed (nothing
    was answered: the reply is not stored and ``--resume`` asks again). ``structured``: the
    answer was constrained to the JSON schema (``response_format`` sent, or constrained
    decoding)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    failure: Failure | None = None
    structured: bool = False


class Backend(Protocol):
    """Answers requests, yielding each (request, reply) as soon as it is done."""

    def answer(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Reply]]: ...

    def describe(self) -> dict[str, object]: ...
