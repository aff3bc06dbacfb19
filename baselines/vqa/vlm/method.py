"""Entry points of the ``vlm`` and ``api`` methods for :func:`baselines.vqa.run.run_vqa`:
:func:`answer_splits` (ask, vote, fall back; metrics details) and :func:`dry_run` (the first
request and what the whole run would send, without calling any model)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.vqa.data import FamilyOptions, SplitData, family_answers
from baselines.vqa.vlm.endpoint import EndpointUrl
from baselines.vqa.vlm.images import sent_size, upright_photo_size
from baselines.vqa.vlm.options import VlmOptions
from baselines.vqa.vlm.prompt import Request
from baselines.vqa.vlm.run import (AnswerSets, Asker, CallStats, Subject, collect_votes, decide,
                                   first_requests)
from baselines.vqa.vlm.store import RESPONSES_FILE, ResponseStore
from magic_submit.challenge import PARENT_IDS

CHARS_PER_TOKEN = 4  # English text, for the estimate only
QWEN_PIXELS_PER_TOKEN = 28  # Qwen2.5-VL: 14-pixel patches merged 2x2


def backend_opener(vlm: VlmOptions, device: str, seed: int) -> Callable[[], Any]:
    """A function that opens the backend (loads the model or makes the client) when called."""
    if vlm.backend == "api":
        def open_api() -> Any:
            from baselines.vqa.vlm.backend_api import ApiBackend

            endpoint = vlm.endpoint.reveal() if isinstance(vlm.endpoint, EndpointUrl) else ""
            return ApiBackend(
                endpoint, vlm.api_model or "", api_key_env=vlm.api_key_env,
                concurrency=vlm.concurrency, max_new_tokens=vlm.max_new_tokens,
                temperature=vlm.temperature, image_size=vlm.image_size,
                structured=vlm.structured, max_tokens_param=vlm.max_tokens_param,
                retries=vlm.api_retries, timeout_s=vlm.api_timeout, max_wait_s=vlm.api_max_wait)
        return open_api

    def open_hf() -> Any:
        from baselines.vqa.vlm.backend_hf import open_hf_backend

        return open_hf_backend(vlm.model, device, seed=seed, batch_size=vlm.batch_size,
                               max_new_tokens=vlm.max_new_tokens, temperature=vlm.temperature,
                               image_size=vlm.image_size, structured=vlm.structured)
    return open_hf


def summary(stats: CallStats, n_encounters: int) -> list[str]:
    """Lines for stderr: calls, tokens, unreadable answers, and the fallbacks per family."""
    lines = [f"model calls {stats.model_calls}, reused from {RESPONSES_FILE} "
             f"{stats.reused_calls}, failed {stats.failed_calls}; tokens {stats.prompt_tokens} "
             f"prompt + {stats.completion_tokens} completion"]
    invalid = sum(stats.invalid_answers.values())
    if invalid:
        lines.append(f"answers the model gave that could not be read: {invalid} (asked again "
                     "up to --retries times; counted per family in metrics.json)")
    fell = [f"{p} {stats.fallbacks[p]}" for p in PARENT_IDS if stats.fallbacks[p]]
    lines.append(f"fallbacks to the prior answer (of {n_encounters} encounters): "
                 + (", ".join(fell) if fell else "none"))
    if stats.failed_calls:
        lines.append(f"of them because requests failed: {sum(stats.fallbacks_failed.values())}; "
                     f"answers voted on fewer votes: {sum(stats.missing_votes.values())}; "
                     "failures: " + "; ".join(f"{n} x {reason}"
                                              for reason, n in stats.failures.most_common(3)))
    return lines


def answer_splits(train: SplitData, subjects: Sequence[Subject],
                  families: dict[str, FamilyOptions], vlm: VlmOptions, *, output: Path,
                  resume: bool, device: str, seed: int, with_responses: bool,
                  log: Callable[[str], None], note: Callable[[str], None],
                  progress: bool = False, open_backend: Callable[[], Any] | None = None,
                  ) -> tuple[dict[str, AnswerSets], dict[str, Any]]:
    """Answer sets of every encounter of ``subjects`` (made by
    :func:`baselines.vqa.vlm.run.subjects_of`) and the metrics details of the run; ``train``'s
    gold gives the prior answers a failed family falls back to."""
    from baselines.vqa.prior import fit_prior
    from magic_submit.console import progress_counter

    prior = fit_prior({e: family_answers(a) for e, a in (train.gold or {}).items()}).answers
    ids = [s.encounter.encounter_id for s in subjects]
    stats = CallStats()
    store = ResponseStore(Path(output) / RESPONSES_FILE, resume=resume)
    if store.cut_tail:
        note(f"{RESPONSES_FILE} ended in a half-written line (a killed run): dropped, that "
             "request is asked again")
    if store.skipped_lines:
        note(f"{RESPONSES_FILE}: {store.skipped_lines} unreadable line(s) skipped")
    if resume:
        log(f"{vlm.backend}: {len(store)} stored replies in {store.path}")
    opener = open_backend or backend_opener(vlm, device, seed)
    with store, progress_counter("model requests", None, enabled=progress) as counter, \
            Asker(store, opener, vlm, families, stats, counter) as asker:
        valid, failed_votes = collect_votes(asker, subjects, families, vlm, seed=seed,
                                            with_responses=with_responses)
    answers = decide(ids, valid, vlm.votes, prior, stats, failed_votes)
    for line in summary(stats, len(ids)):
        log(line)
    if stats.backend.get("structured") == "refused":
        note(f"the server refused response_format ({stats.backend.get('structured_refusal')}): "
             "the run asked without it (--no-structured skips the first try)")
    details = {"model": vlm.model_name, "encounters_answered": len(ids),
               "responses_file": str(store.path), "prior_answers": {p: list(v) for p, v in prior.items()},
               "allow_fallback": vlm.allow_fallback, **stats.as_metrics()}
    return answers, details


@dataclass(frozen=True)
class DryRun:
    """The first request, its photos ((name, stored size, sent size)) and a cost estimate."""

    request: Request
    photos: list[tuple[str, tuple[int, int], tuple[int, int]]]
    estimate: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"encounter_id": self.request.encounter_id, "vote": self.request.vote,
                "families": list(self.request.parents), "text": self.request.text,
                "photos": [{"file": name, "stored": list(stored), "sent": list(sent)}
                           for name, stored, sent in self.photos],
                "estimate": self.estimate}


def dry_run(subjects: Sequence[Subject], families: dict[str, FamilyOptions], vlm: VlmOptions,
            *, seed: int, with_responses: bool) -> DryRun:
    """What the run would send to answer ``subjects``, without loading a model or calling an
    endpoint."""
    requests = first_requests(subjects, families, vlm, seed=seed, with_responses=with_responses)
    if not requests:
        from magic_submit.errors import MagicError

        raise MagicError("no encounter to answer", hint="check --predict-split")
    sizes = {path: upright_photo_size(path) for s in subjects for path in s.photos}
    sent = {path: sent_size(size, vlm.image_size) for path, size in sizes.items()}
    text_chars = sum(len(r.text) for r in requests)
    photos_sent = sum(len(r.photos) for r in requests)
    image_tokens = sum(round(sent[p][0] / QWEN_PIXELS_PER_TOKEN)
                       * round(sent[p][1] / QWEN_PIXELS_PER_TOKEN)
                       for r in requests for p in r.photos)
    estimate = {
        "encounters": len(subjects), "requests_first_attempt": len(requests),
        "requests_at_most": len(requests) * (vlm.retries + 1), "text_characters": text_chars,
        "text_tokens_about": text_chars // CHARS_PER_TOKEN, "photos_sent": photos_sent,
        "image_tokens_qwen2_5_vl": image_tokens,
        "completion_tokens_at_most": len(requests) * vlm.max_new_tokens}
    first = requests[0]
    return DryRun(first, [(p.name, sizes[p], sent[p]) for p in first.photos], estimate)
