"""Scripted stand-ins for a vision-language model, for the vlm/api tests (no model, no network)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from baselines.vqa.data import family_answers, load_split
from baselines.vqa.vlm.backend import Failure, Reply
from baselines.vqa.vlm.prompt import Request, render_answer
from magic_submit.dataset import DatasetLayout


class Killed(Exception):
    """What a scripted backend raises to stand for a run killed halfway."""


class ScriptedBackend:
    """Answers each request with ``reply(request)`` (a text, or a :class:`Failure`: the request
    failed); raises :class:`Killed` once ``kill_after`` calls were answered. Every request it
    saw is kept."""

    def __init__(self, reply: Callable[[Request], str | Failure], *,
                 kill_after: int | None = None) -> None:
        self.reply, self.kill_after = reply, kill_after
        self.seen: list[Request] = []

    def answer(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Reply]]:
        for request in requests:
            if self.kill_after is not None and len(self.seen) >= self.kill_after:
                raise Killed(f"killed after {len(self.seen)} calls")
            self.seen.append(request)
            said = self.reply(request)
            if isinstance(said, Failure):
                yield request, Reply("", failure=said)
                continue
            yield request, Reply(said, prompt_tokens=100, completion_tokens=10, seconds=0.01)

    def describe(self) -> dict[str, object]:
        return {"model": "scripted"}


def gold_answers(data: Path, *splits: str) -> dict[str, dict[str, tuple[int, ...]]]:
    """Gold answers per encounter and family, from the splits' gold files."""
    layout = DatasetLayout(data)
    out: dict[str, dict[str, tuple[int, ...]]] = {}
    for split in splits:
        gold = load_split(layout, split, gold="required").gold or {}
        out.update({enc: family_answers(answers) for enc, answers in gold.items()})
    return out


def oracle(gold: Mapping[str, Mapping[str, tuple[int, ...]]]) -> Callable[[Request], str]:
    """A perfect model: the gold answer of every asked family, as shown numbers."""
    return lambda request: render_answer(gold[request.encounter_id], request.orders)


def use_backend(monkeypatch, backend: object) -> None:
    """Make the vlm/api methods answer with ``backend`` instead of loading a model."""
    import baselines.vqa.vlm.method as method

    monkeypatch.setattr(method, "backend_opener",
                        lambda vlm, device, seed: lambda: contextlib.nullcontext(backend))
