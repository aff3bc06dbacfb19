"""The ``vlm`` and ``api`` methods: ask, parse, retry, vote, fall back; nothing paid twice.

For every encounter to answer, ``votes`` requests (vote 0 in the definitions' option order, the
others in other orders; one per family with ``per_family``; at temperature 0 no more votes than
distinct orders, :func:`.prompt.vote_count`) are looked up in ``responses.jsonl`` and only the
missing ones are sent to the backend, which is opened (the model loaded, the client made) only
when something is missing. Each reply is parsed per family; the families a reply left invalid
are asked again (same vote and order, a retry note, only those families) up to ``retries``
times. A request that failed (no usable completion: :class:`.backend.Failure`) is not asked
again in the run: it is counted, and ``--resume`` asks it again. Per family the valid votes are
combined (:mod:`.voting`); a family without any valid vote takes the ``prior`` answer. Every
fallback is counted, and apart those caused by failed requests
(``fallbacks_failed_request``) and the answers voted on fewer votes because of them
(``answers_missing_votes``): what makes the run exit 1 unless ``allow_fallback``.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baselines.vqa.data import FamilyOptions, SplitData
from baselines.vqa.decoding import answer_set
from baselines.vqa.vlm.backend import Backend, Failure, Reply
from baselines.vqa.vlm.failures import failure_record
from baselines.vqa.vlm.options import VlmOptions
from baselines.vqa.vlm.parsing import FamilyParse, parse_reply
from baselines.vqa.vlm.prompt import Example, Request, build_request, shown_options, vote_count
from baselines.vqa.vlm.store import ResponseStore
from baselines.vqa.vlm.voting import vote_family
from magic_submit.challenge import PARENT_BY_ID, PARENT_IDS
from magic_submit.console import ProgressCounter
from magic_submit.dataset import Encounter

AnswerSets = dict[str, tuple[int, ...]]
Valid = dict[tuple[str, int], dict[str, tuple[int, ...]]]  # (encounter, vote) -> family -> answer
FailedVotes = set[tuple[str, int, str]]  # (encounter, vote, family) whose request failed
BackendOpener = Callable[[], contextlib.AbstractContextManager[Backend]]


@dataclass(frozen=True)
class Subject:
    """One encounter to answer: its record, the photos to send and its worked examples."""

    encounter: Encounter
    photos: tuple[Path, ...]
    examples: tuple[Example, ...] = ()


@dataclass
class CallStats:
    """What the run asked and what it cost (this run's calls apart from the reused ones)."""

    model_calls: int = 0
    reused_calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reused_prompt_tokens: int = 0
    reused_completion_tokens: int = 0
    model_seconds: float = 0.0
    load_seconds: float = 0.0
    invalid_answers: Counter = field(default_factory=Counter)
    fallbacks: Counter = field(default_factory=Counter)
    fallbacks_failed: Counter = field(default_factory=Counter)  # ... because requests failed
    missing_votes: Counter = field(default_factory=Counter)  # answers voted on fewer votes
    failures: Counter = field(default_factory=Counter)  # str(failure) -> requests
    first_failure: Failure | None = None
    backend: dict[str, object] = field(default_factory=dict)

    def failed(self, failure: Failure) -> None:
        self.failed_calls += 1
        self.failures[str(failure)] += 1
        self.first_failure = self.first_failure or failure

    def as_metrics(self) -> dict[str, Any]:
        return {
            "model_calls": self.model_calls, "reused_calls": self.reused_calls,
            "failed_calls": self.failed_calls,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens,
                       "reused_prompt": self.reused_prompt_tokens,
                       "reused_completion": self.reused_completion_tokens},
            "fallbacks": {p: self.fallbacks[p] for p in PARENT_IDS},
            "fallbacks_failed_request": {p: self.fallbacks_failed[p] for p in PARENT_IDS},
            "answers_missing_votes": {p: self.missing_votes[p] for p in PARENT_IDS},
            "invalid_answers": {p: self.invalid_answers[p] for p in PARENT_IDS},
            "first_failure": failure_record(self.first_failure) if self.first_failure else None,
            "failures": dict(self.failures.most_common(20)),
            "timings": {"load_model_s": round(self.load_seconds, 3),
                        "model_s": round(self.model_seconds, 3)},
            "backend": self.backend}


def first_requests(subjects: Sequence[Subject], families: dict[str, FamilyOptions],
                   opts: VlmOptions, *, seed: int, with_responses: bool) -> list[Request]:
    """Attempt 0 of every vote of every encounter (one request per family with per_family)."""
    groups = [[p] for p in PARENT_IDS] if opts.per_family else [list(PARENT_IDS)]
    return [build_request(s.encounter.encounter_id, s.encounter.record, s.photos, families, group,
                          vote=vote, attempt=0, seed=seed, with_responses=with_responses,
                          examples=s.examples, shot_photos=opts.shot_photos)
            for s in subjects for group in groups
            for vote in range(vote_count(group, opts.votes, opts.temperature))]


def _entry(request: Request, key: tuple, reply: Reply,
           parsed: dict[str, FamilyParse]) -> dict[str, Any]:
    model, prompt_hash = key[0], key[1]
    return {"model": model, "prompt_hash": prompt_hash, "encounter_id": request.encounter_id,
            "vote": request.vote, "attempt": request.attempt, "families": list(request.parents),
            "orders": {p: list(o) for p, o in request.orders.items()}, "text": reply.text,
            "parsed": {p: list(f.answer) if f.valid else None for p, f in parsed.items()},
            "problems": {p: f.problem for p, f in parsed.items() if not f.valid},
            "structured": reply.structured, "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens, "seconds": round(reply.seconds, 3)}


class Asker:
    """Looks requests up in the store, asks the backend for the rest, parses every reply."""

    def __init__(self, store: ResponseStore, open_backend: BackendOpener, opts: VlmOptions,
                 families: dict[str, FamilyOptions], stats: CallStats,
                 progress: ProgressCounter | None = None) -> None:
        self.store, self.open_backend, self.opts = store, open_backend, opts
        self.options = {p: shown_options(f) for p, f in families.items()}
        self.stats, self.progress = stats, progress or ProgressCounter()
        self._to_call = 0  # the progress bar's total: requests sent to the backend so far
        self.settings = opts.request_settings()
        self._stack = contextlib.ExitStack()
        self._backend: Backend | None = None

    def __enter__(self) -> "Asker":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def key(self, request: Request) -> tuple:
        return (self.opts.model_name, request.prompt_hash(self.settings), request.encounter_id,
                request.vote, request.attempt)

    def _backend_now(self) -> Backend:
        if self._backend is None:
            started = time.perf_counter()
            self._backend = self._stack.enter_context(self.open_backend())
            self.stats.load_seconds += time.perf_counter() - started
            self.stats.backend = self._backend.describe()
        return self._backend

    def ask(self, requests: Sequence[Request],
            ) -> Iterator[tuple[Request, dict[str, FamilyParse] | None]]:
        """Every request's parsed families (None: the request failed): stored replies first,
        then the backend's."""
        missing = []
        for request in requests:
            entry = self.store.get(self.key(request))
            if entry is None:
                missing.append(request)
                continue
            self.stats.reused_calls += 1
            self.stats.reused_prompt_tokens += int(entry.get("prompt_tokens") or 0)
            self.stats.reused_completion_tokens += int(entry.get("completion_tokens") or 0)
            yield request, parse_reply(str(entry.get("text", "")), request.orders, self.options)
        if not missing:
            return
        self._to_call += len(missing)
        self.progress.start(self._to_call)
        backend = self._backend_now()
        started = time.perf_counter()
        try:
            for request, reply in backend.answer(missing):
                self.progress.advance()
                if reply.failure is not None:
                    self.stats.failed(reply.failure)
                    yield request, None
                    continue
                parsed = parse_reply(reply.text, request.orders, self.options)
                self.store.append(_entry(request, self.key(request), reply, parsed))
                self.stats.model_calls += 1
                self.stats.prompt_tokens += reply.prompt_tokens
                self.stats.completion_tokens += reply.completion_tokens
                yield request, parsed
        finally:
            self.stats.model_seconds += time.perf_counter() - started
            self.stats.backend = backend.describe()


def collect_votes(asker: Asker, subjects: Sequence[Subject], families: dict[str, FamilyOptions],
                  opts: VlmOptions, *, seed: int, with_responses: bool) -> tuple[Valid, FailedVotes]:
    """Valid answers by (encounter, vote) and family, after up to ``retries`` re-asks of the
    families a reply left invalid; and the (encounter, vote, family) whose request failed."""
    by_id = {s.encounter.encounter_id: s for s in subjects}
    valid: Valid = {}
    failed_votes: FailedVotes = set()
    pending = first_requests(subjects, families, opts, seed=seed, with_responses=with_responses)
    for attempt in range(opts.retries + 1):
        retry: list[Request] = []
        for request, parsed in asker.ask(pending):
            if parsed is None:
                failed_votes.update((request.encounter_id, request.vote, p)
                                    for p in request.parents)
                continue
            answers = valid.setdefault((request.encounter_id, request.vote), {})
            invalid = []
            for parent, result in parsed.items():
                if result.valid:
                    answers[parent] = result.answer  # type: ignore[assignment]
                else:
                    asker.stats.invalid_answers[parent] += 1
                    invalid.append(parent)
            if invalid and attempt < opts.retries:
                subject = by_id[request.encounter_id]
                retry.append(build_request(
                    request.encounter_id, subject.encounter.record, subject.photos, families,
                    invalid, vote=request.vote, attempt=attempt + 1, seed=seed,
                    with_responses=with_responses, examples=subject.examples,
                    shot_photos=opts.shot_photos))
        if not retry:
            break
        pending = sorted(retry, key=lambda r: (r.encounter_id, r.vote, r.parents))
    return valid, failed_votes


def decide(encounter_ids: Sequence[str], valid: Valid, votes: int, prior: AnswerSets,
           stats: CallStats, failed_votes: FailedVotes = frozenset()) -> dict[str, AnswerSets]:
    """Per encounter and family: the vote over the valid answers, else the prior answer (each
    fallback counted, and apart those of families whose requests failed)."""
    out: dict[str, AnswerSets] = {}
    for enc in encounter_ids:
        answers: AnswerSets = {}
        for parent_id in PARENT_IDS:
            given = [valid[(enc, v)][parent_id] for v in range(votes)
                     if parent_id in valid.get((enc, v), {})]
            failed = any((enc, v, parent_id) in failed_votes for v in range(votes))
            parent = PARENT_BY_ID[parent_id]
            if given:
                answers[parent_id] = answer_set(vote_family(given, parent), parent)
                stats.missing_votes[parent_id] += failed
            else:
                answers[parent_id] = tuple(prior[parent_id])
                stats.fallbacks[parent_id] += 1
                stats.fallbacks_failed[parent_id] += failed
        out[enc] = answers
    return out


def subjects_of(splits: Sequence[SplitData], images: Callable[[str], Path], train: SplitData,
                opts: VlmOptions, *, with_responses: bool) -> list[Subject]:
    """The distinct encounters of ``splits`` (first seen first), with photos and examples;
    ``images(split)`` is the split's photo folder (asked only for encounters with photos; the
    training split's for the examples' photos with ``shot_photos``)."""
    from baselines.vqa.vlm.fewshot import examples_for

    def photos(encounter: Encounter, split: str) -> tuple[Path, ...]:
        files = encounter.image_files[: opts.max_images]
        return tuple(images(split) / f for f in files) if files else ()

    seen: dict[str, tuple[Encounter, str]] = {}
    for split in splits:
        for encounter in split.encounters:
            seen.setdefault(encounter.encounter_id, (encounter, split.split))
    chosen = list(seen.values())
    examples = examples_for(train, [e.record for e, _ in chosen], opts.shots,
                            with_responses=with_responses,
                            photos=(lambda e: photos(e, train.split)) if opts.shot_photos
                            else None)
    return [Subject(e, photos(e, split), tuple(ex)) for (e, split), ex in zip(chosen, examples)]
