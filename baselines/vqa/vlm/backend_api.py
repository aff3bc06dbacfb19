"""``--method api``: any OpenAI-compatible chat-completions endpoint (vLLM, hosted services).

Each request is one user message: the photos as base64 ``data:`` URLs in ``image_url`` parts,
then the text. Up to ``concurrency`` requests are in flight (threads; replies are yielded as they
complete). Rate limits (429), server errors (5xx), timeouts and refused connections are retried
with exponential backoff; when the endpoint still cannot be reached, or refuses the key or the
model (401, 403, 404), the run stops with a :class:`MagicError` naming the endpoint (replies
received so far are already stored). Any other refusal of one request (400: too long, ...) is a
failed request: its families are asked again, then fall back to the prior answer.

The key comes from the environment variable ``api_key_env``; it is handed to the client and
written nowhere. A server that needs no key (a local ``vllm serve``) gets a placeholder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from baselines.vqa.vlm.backend import Reply
from baselines.vqa.vlm.images import data_url, load_photos
from baselines.vqa.vlm.prompt import Request
from magic_submit.errors import MagicError

TRANSPORT_RETRIES = 5
REQUEST_TIMEOUT_S = 300.0
NO_KEY = "EMPTY"  # what vLLM's own examples pass when the server has no key


def message_content(request: Request, image_size: int) -> list[dict[str, Any]]:
    """The user message's parts: one ``image_url`` per photo, then the text."""
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": data_url(image)}}
                                   for image in load_photos(request.photos, image_size)]
    parts.append({"type": "text", "text": request.text})
    return parts


class ApiBackend:
    """An ``openai.OpenAI`` client against ``endpoint``, asking ``api_model``."""

    def __init__(self, endpoint: str, api_model: str, *, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 4, max_new_tokens: int = 384, temperature: float = 0.0,
                 image_size: int = 768, backoff_s: float = 1.0,
                 retries: int = TRANSPORT_RETRIES, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        from openai import OpenAI

        self.endpoint, self.api_model = endpoint, api_model
        self.concurrency, self.max_new_tokens = concurrency, max_new_tokens
        self.temperature, self.image_size = temperature, image_size
        self.backoff_s, self.retries = backoff_s, retries
        self.key_env = api_key_env
        key = os.environ.get(api_key_env) or NO_KEY
        self.client = OpenAI(base_url=endpoint, api_key=key, max_retries=0, timeout=timeout_s)
        self.transport_retries = 0  # retried 429 / 5xx / timeouts, over the run

    def describe(self) -> dict[str, object]:
        return {"endpoint": self.endpoint, "api_model": self.api_model,
                "concurrency": self.concurrency, "api_key_env": self.key_env,
                "transport_retries": self.transport_retries}

    def _fatal(self, message: str, hint: str) -> MagicError:
        return MagicError(f"{message} (endpoint {self.endpoint}, model {self.api_model!r})",
                          code="api-unavailable", hint=hint)

    def ask(self, request: Request) -> Reply:
        """One request, retried on transient failures (see the module doc)."""
        import openai

        body = {"model": self.api_model, "temperature": self.temperature,
                "max_tokens": self.max_new_tokens,
                "messages": [{"role": "user",
                              "content": message_content(request, self.image_size)}]}
        started = time.perf_counter()
        for attempt in range(self.retries + 1):
            try:
                response = self.client.chat.completions.create(**body)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise self._fatal(f"the endpoint refused the key ({exc.status_code})",
                                  f"put the key in the environment variable {self.key_env} "
                                  "(or name another with --api-key-env)") from None
            except openai.NotFoundError:
                raise self._fatal("the endpoint does not know this model or path (404)",
                                  "check --api-model (GET /v1/models lists the served names) "
                                  "and that --endpoint ends with /v1") from None
            except openai.APIStatusError as exc:
                if exc.status_code != 429 and exc.status_code < 500:
                    return Reply("", error=f"HTTP {exc.status_code}: {str(exc)[:200]}",
                                 seconds=time.perf_counter() - started)
                failure = f"HTTP {exc.status_code}"
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                failure = type(exc).__name__
            else:
                return self._reply(response, time.perf_counter() - started)
            if attempt == self.retries:
                raise self._fatal(f"cannot get an answer after {self.retries + 1} tries "
                                  f"({failure})", "check that the server is up and reachable "
                                  "(curl ENDPOINT/models); the replies already received are "
                                  "kept: rerun with --resume")
            self.transport_retries += 1
            time.sleep(self.backoff_s * 2 ** attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _reply(response: Any, seconds: float) -> Reply:
        choices = getattr(response, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        text = getattr(message, "content", None) or ""
        usage = getattr(response, "usage", None)
        return Reply(text if isinstance(text, str) else str(text),
                     int(getattr(usage, "prompt_tokens", 0) or 0),
                     int(getattr(usage, "completion_tokens", 0) or 0), seconds)

    def answer(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Reply]]:
        """Replies as they complete, at most ``concurrency`` requests in flight. After a fatal
        error nothing new starts; the replies still in flight are yielded, then it is raised."""
        pending = list(reversed(requests))
        fatal: MagicError | None = None
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            running: dict[Future[Reply], Request] = {}
            while pending or running:
                while pending and fatal is None and len(running) < self.concurrency:
                    request = pending.pop()
                    running[pool.submit(self.ask, request)] = request
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    request = running.pop(future)
                    try:
                        reply = future.result()
                    except MagicError as error:
                        fatal, pending = fatal or error, []
                        continue
                    yield request, reply
        if fatal is not None:
            raise fatal
