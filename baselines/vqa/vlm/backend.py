"""What every answering backend gives back, and the interface the runner calls."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from baselines.vqa.vlm.prompt import Request


@dataclass(frozen=True)
class Reply:
    """A model's raw text and its cost; ``error`` set when the request itself failed (nothing
    was answered: the reply is not stored and the request may be asked again)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error: str | None = None


class Backend(Protocol):
    """Answers requests, yielding each (request, reply) as soon as it is done."""

    def answer(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Reply]]: ...

    def describe(self) -> dict[str, object]: ...
