"""Failed requests of the ``vlm``/``api`` methods: the known fix for a server's refusal, the
early stop when the first requests are all refused the same way, and the error that makes a run
whose answers fell back because of failed requests exit 1.

>>> from baselines.vqa.vlm.backend import Failure
>>> known_fix(Failure("http", "'max_tokens' is not supported with this model. Use "
...                   "'max_completion_tokens' instead.", 400))
'rerun with --max-tokens-param max_completion_tokens'
>>> watch = FailureWatch(first=2)
>>> refused = Failure("http", "temperature unsupported", 400)
>>> watch.observe(refused) is None, watch.observe(refused) is not None
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baselines.vqa.vlm.backend import (CONNECTION, HTTP, MALFORMED, REDIRECT, TIMEOUT,
                                       TOO_LARGE, WAIT, Failure)
from magic_submit.errors import MagicError

EARLY_STOP_AFTER = 3  # the first this many requests all refused the same way: stop the run
SHRINK = "--max-images 3, --image-size 512, --shots 0 or --per-family"

# (words that all appear in a server's reason, the fix): the first match wins.
REASON_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("max_completion_tokens",), "rerun with --max-tokens-param max_completion_tokens"),
    (("max_tokens", "not supported"), "rerun with --max-tokens-param max_completion_tokens"),
    (("response_format",), "rerun with --no-structured"),
    (("json_schema",), "rerun with --no-structured"),
    (("temperature",), "this model takes only its default temperature: rerun with "
                       "--temperature 1"),
    (("context",), f"the request is too long for the model: {SHRINK} (or serve the model "
                   "with a longer context, vLLM's --max-model-len)"),
    (("too long",), f"the request is too long for the model: {SHRINK}"),
    (("maximum", "tokens"), f"the request is too long for the model: {SHRINK}"),
    (("image", "size"), "send smaller or fewer photos: --image-size 512, --max-images 3"),
    (("image", "large"), "send smaller or fewer photos: --image-size 512, --max-images 3"),
    (("image", "too many"), "send fewer photos: --max-images 3 (vLLM: raise "
                            "--limit-mm-per-prompt)"),
    (("at most", "image"), "send fewer photos: --max-images 3 (vLLM: raise "
                           "--limit-mm-per-prompt)"),
)
KIND_FIXES: dict[str, str] = {
    TIMEOUT: "raise --api-timeout or lower --concurrency",
    TOO_LARGE: "lower --max-new-tokens (the reply exceeded the size cap)",
    WAIT: "raise --api-max-wait (at most 120) or lower --concurrency",
    REDIRECT: "give the redirect's target as --endpoint if you trust it",
    MALFORMED: "check that --endpoint is an OpenAI-compatible chat-completions server (its "
               "base URL, usually ending in /v1)",
    CONNECTION: "check that the server is up and reachable",
}


def known_fix(failure: Failure) -> str | None:
    """The flag that fixes ``failure`` where the cause is known, else None."""
    if failure.kind == HTTP and failure.status is not None:
        reason = failure.reason.casefold()
        for words, fix in REASON_FIXES:
            if all(word in reason for word in words):
                return fix
        if failure.status == 429:
            return "lower --concurrency (the server's rate limit)"
        if failure.status >= 500:
            return "the server failed: see its log"
        return None
    return KIND_FIXES.get(failure.kind)


class FailureWatch:
    """Watches the first ``first`` outcomes of a run: when they are all the same repeatable
    failure (:attr:`Failure.repeatable`), :meth:`observe` returns the error that stops it."""

    def __init__(self, first: int = EARLY_STOP_AFTER, where: str = "") -> None:
        self.first, self.where = first, where
        self.seen: list[Failure | None] = []

    def observe(self, failure: Failure | None) -> MagicError | None:
        if len(self.seen) >= self.first:
            return None
        self.seen.append(failure)
        if len(self.seen) < self.first or failure is None or not failure.repeatable:
            return None
        if any(f != failure for f in self.seen):
            return None
        return MagicError(f"the first {self.first} requests were all refused: {failure}"
                          f"{self.where}", code="api-refused",
                          hint=(known_fix(failure) or "see the server's reason above")
                          + "; nothing was answered, the run stopped")


def failed_requests_error(details: Mapping[str, Any]) -> MagicError | None:
    """The error of a run with failed requests (``details``: the method's metrics), or None."""
    failed = int(details.get("failed_calls") or 0)
    if not failed:
        return None
    fallbacks = sum((details.get("fallbacks_failed_request") or {}).values())
    fewer = sum((details.get("answers_missing_votes") or {}).values())
    first = details.get("first_failure") or {}
    reason = (f"HTTP {first['status']}: " if first.get("status") is not None else "") \
        + str(first.get("reason", "?"))
    fix = first.get("fix")
    return MagicError(
        f"{failed} request(s) got no usable completion: {fallbacks} answer(s) came from the "
        f"prior and {fewer} from fewer votes than asked; the first failure: {reason}",
        code="api-failed-requests",
        hint=(f"{fix}; then " if fix else "") + "rerun with --resume (it asks only the failed "
        "requests again), or --allow-fallback to accept the prior for them")


def failure_record(failure: Failure) -> dict[str, object]:
    """A failure as metrics.json records it, with its known fix."""
    return {**failure.as_dict(), "fix": known_fix(failure)}
