"""``--method api``: any OpenAI-compatible chat-completions endpoint (vLLM, hosted services).

Each request is one user message: the photos as base64 ``data:`` URLs in ``image_url`` parts
and the text, in reading order (worked examples' photos beside their text with
``--shot-photos``). Up to ``concurrency`` requests are in flight (``openai.AsyncOpenAI`` on an
event loop in a background thread; replies are yielded as they complete).

Transport (:mod:`.http_guard`): the openai client's own retries (``retries`` of them: 429, 5xx,
timeouts, dropped connections; ``Retry-After`` honoured up to ``max_wait_s``, otherwise
exponential backoff with jitter), a total deadline per attempt, a reply size cap, no
cross-origin redirect. After that a request that still has no usable completion (any refusal,
a reply that is not a chat completion, an empty one) is a failed request: counted, not stored,
asked again by ``--resume``; the others go on. The run stops at once only for what waiting
cannot fix: the key or the model refused (401, 403, 404), nothing reachable, or the first
requests all refused the same way (:class:`.failures.FailureWatch`).

Structured outputs: with ``structured`` the request carries ``response_format`` (a JSON schema,
:mod:`.schema`); when the server refuses a request with it (400, 422) before any has been
accepted, the request is sent again without it and, if that one is answered, the run goes on
without it.

Secrets: the key comes from the environment variable ``api_key_env`` and goes to the client
only; user info and query parameters of the endpoint go to the client as basic authentication
and default query (:mod:`.endpoint`); every message is redacted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from baselines.vqa.vlm.backend import (CONNECTION, HTTP, MALFORMED, TIMEOUT, WAIT, Failure,
                                       Reply)
from baselines.vqa.vlm.endpoint import parse_endpoint, redact
from baselines.vqa.vlm.failures import FailureWatch
from baselines.vqa.vlm.http_guard import Guard, Refused, guarded_client, retry_after_seconds
from baselines.vqa.vlm.images import data_url, load_photo
from baselines.vqa.vlm.prompt import Request
from baselines.vqa.vlm.schema import response_format
from magic_submit.errors import MagicError

TRANSPORT_RETRIES = 5
REQUEST_TIMEOUT_S = 300.0
MAX_WAIT_S = 60.0
NO_KEY = "EMPTY"  # what vLLM's own examples pass when the server has no key
PHOTOS_KEPT = 64  # encoded photos kept for the next requests (the votes of an encounter)
REASON_CHARS = 300


def message_content(request: Request, photo_url: Callable[[Path], str]) -> list[dict[str, Any]]:
    """The user message's parts in reading order: ``image_url`` per photo (``photo_url(path)``:
    its data URL), ``text`` per text."""
    parts: list[dict[str, Any]] = []
    for segment in request.segments:
        parts += [{"type": "image_url", "image_url": {"url": photo_url(p)}}
                  for p in segment.photos]
        parts.append({"type": "text", "text": segment.text})
    return parts


class PhotoUrls:
    """``data:`` URLs of photos, each encoded once for the requests in flight and the next ones
    (the votes of an encounter share its photos): the last ``keep`` are kept."""

    def __init__(self, image_size: int, keep: int = PHOTOS_KEPT) -> None:
        self.image_size, self.keep = image_size, keep
        self._lock = threading.Lock()
        self._urls: OrderedDict[Path, Future] = OrderedDict()

    def __call__(self, path: Path) -> str:
        with self._lock:
            pending = self._urls.get(path)
            mine = pending is None
            if mine:
                pending = self._urls[path] = Future()
                while len(self._urls) > self.keep:
                    self._urls.popitem(last=False)
            else:
                self._urls.move_to_end(path)
        if mine:
            try:
                pending.set_result(data_url(load_photo(path, self.image_size)))
            except BaseException as error:
                pending.set_exception(error)
                with self._lock:
                    self._urls.pop(path, None)
        return pending.result()


class LoopThread:
    """An asyncio event loop running in a daemon thread; coroutines submitted from others."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="magic-api",
                                       daemon=True)
        self.thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self, last: Coroutine[Any, Any, Any]) -> None:
        """Cancel what still runs, await ``last`` (closing the client), stop the loop."""
        async def finish() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await last

        self.submit(finish()).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def server_reason(error: Any) -> str:
    """The server's own words in an ``APIStatusError``: ``error.message`` of an OpenAI-style
    body, ``message`` (vLLM) or ``detail`` (FastAPI), else the start of the body."""
    body = getattr(error, "body", None)
    found: object = None
    if isinstance(body, dict):
        inner = body.get("error")
        found = inner.get("message") if isinstance(inner, dict) else inner
        found = found or body.get("message") or body.get("detail")
    if not found:
        try:
            found = error.response.text
        except Exception:  # noqa: BLE001 - an unreadable body: no reason to give
            found = ""
    return " ".join(str(found or "no reason given").split())


def refusal_in(error: BaseException) -> Refused | None:
    """The :class:`Refused` behind ``error`` (openai 1.x wraps it), if any."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None or isinstance(seen, Refused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class ApiBackend:
    """An ``openai.AsyncOpenAI`` client against ``endpoint``, asking ``api_model``; use it with
    ``with`` (the event loop and the connections are closed at the end)."""

    def __init__(self, endpoint: str, api_model: str, *, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 4, max_new_tokens: int = 384, temperature: float = 0.0,
                 image_size: int = 768, structured: bool = True,
                 max_tokens_param: str = "max_tokens", retries: int = TRANSPORT_RETRIES,
                 timeout_s: float = REQUEST_TIMEOUT_S, max_wait_s: float = MAX_WAIT_S) -> None:
        from openai import AsyncOpenAI

        self.endpoint, self.api_model = parse_endpoint(endpoint), api_model
        self.concurrency, self.max_new_tokens = concurrency, max_new_tokens
        self.temperature, self.image_size = temperature, image_size
        self.max_tokens_param, self.key_env = max_tokens_param, api_key_env
        key = os.environ.get(api_key_env) or NO_KEY
        self.secrets = (*self.endpoint.secrets, *((key,) if key != NO_KEY else ()))
        self.guard = Guard(self.endpoint, timeout_s, max_wait_s)
        self.structured = "unknown" if structured else "off"  # -> accepted | refused
        self.structured_refusal: str | None = None
        self.answered = 0  # requests with a usable completion
        where = f" (endpoint {self.endpoint.redacted}, model {api_model!r})"
        self.watch, self.where = FailureWatch(where=where), where
        self.photo_url = PhotoUrls(image_size)
        self.loop = LoopThread()
        self.client = AsyncOpenAI(base_url=self.endpoint.base_url, api_key=key,
                                  default_query=self.endpoint.query or None,
                                  max_retries=retries, timeout=timeout_s,
                                  http_client=guarded_client(self.guard))

    def __enter__(self) -> "ApiBackend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.loop.thread.is_alive():
            self.loop.close(self.client.close())

    def describe(self) -> dict[str, object]:
        return {"endpoint": self.endpoint.redacted, "api_model": self.api_model,
                "concurrency": self.concurrency, "api_key_env": self.key_env,
                "transport_retries": self.guard.retries, "structured": self.structured,
                "structured_refusal": self.structured_refusal,
                "max_tokens_param": self.max_tokens_param, "timeout_s": self.guard.timeout_s,
                "max_wait_s": self.guard.max_wait_s}

    def _fatal(self, message: str, hint: str) -> MagicError:
        return MagicError(self._redact(message) + self.where, code="api-unavailable", hint=hint)

    def _redact(self, text: str) -> str:
        text = redact(text, self.secrets)
        return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."

    def body(self, request: Request, content: list[dict[str, Any]], *,
             structured: bool) -> dict[str, Any]:
        """The chat-completions request (every parameter the store's key must cover)."""
        body: dict[str, Any] = {"model": self.api_model, "temperature": self.temperature,
                                self.max_tokens_param: self.max_new_tokens,
                                "messages": [{"role": "user", "content": content}]}
        if structured:
            body["response_format"] = response_format(request.orders)
        return body

    async def _send(self, body: dict[str, Any]) -> Reply:
        """One request through the openai client (its retries included): a completion, a
        failure, or a :class:`MagicError` when the run must stop."""
        import openai

        started = time.perf_counter()
        try:
            response = await self.client.chat.completions.create(**body)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._fatal(f"the endpoint refused the key ({exc.status_code}: "
                              f"{server_reason(exc)})",
                              f"put the key in the environment variable {self.key_env} (or "
                              "name another with --api-key-env)") from None
        except openai.NotFoundError as exc:
            raise self._fatal(f"the endpoint does not know this model or path (404: "
                              f"{server_reason(exc)})", "check --api-model (GET /v1/models "
                              "lists the served names) and that --endpoint ends with /v1") \
                from None
        except openai.APIStatusError as exc:
            return Reply("", failure=self._status_failure(exc),
                         seconds=time.perf_counter() - started)
        except openai.APITimeoutError:
            return Reply("", failure=Failure(TIMEOUT, "no complete reply within --api-timeout "
                                             f"{self.guard.timeout_s:g} s"),
                         seconds=time.perf_counter() - started)
        except (openai.APIConnectionError, Refused) as exc:
            return Reply("", failure=self._connection_failure(exc),
                         seconds=time.perf_counter() - started)
        except (ValueError, openai.APIResponseValidationError):  # a body that is not JSON
            return Reply("", failure=Failure(MALFORMED, "the reply is not valid JSON"),
                         seconds=time.perf_counter() - started)
        return self._reply(response, time.perf_counter() - started)

    def _status_failure(self, exc: Any) -> Failure:
        wait_s = retry_after_seconds(exc.response.headers)
        if wait_s is not None and wait_s > self.guard.max_wait_s:
            return Failure(WAIT, f"the server asked to wait {wait_s:.0f} s, more than "
                                 f"--api-max-wait {self.guard.max_wait_s:g}", exc.status_code)
        return Failure(HTTP, self._redact(server_reason(exc)), exc.status_code)

    def _connection_failure(self, exc: BaseException) -> Failure:
        refused = refusal_in(exc)
        if refused is not None:
            return Failure(refused.kind, self._redact(refused.reason))
        cause = exc.__cause__
        name = type(cause).__name__ if cause is not None else type(exc).__name__
        if self.answered == 0 and name in ("ConnectError", "ConnectTimeout"):
            raise self._fatal(f"cannot reach the endpoint ({name})",
                              "check that the server is up and reachable (curl ENDPOINT/models"
                              "); the replies already received are kept: rerun with --resume")
        return Failure(CONNECTION, f"the connection failed ({name})")

    @staticmethod
    def _reply(response: Any, seconds: float) -> Reply:
        """A usable completion, or a :data:`MALFORMED` failure (never stored)."""
        choices = getattr(response, "choices", None)
        first = choices[0] if isinstance(choices, list) and choices else None
        message = getattr(first, "message", None)
        text = getattr(message, "content", None)
        if not isinstance(text, str):
            return Reply("", seconds=seconds, failure=Failure(
                MALFORMED, "the reply is not a chat completion (no choices[0].message.content)"))
        if not text.strip():
            finish = getattr(first, "finish_reason", None)
            return Reply("", seconds=seconds, failure=Failure(
                MALFORMED, f"the completion is empty (finish_reason {finish!r})"
                + (": raise --max-new-tokens" if finish == "length" else "")))
        usage = getattr(response, "usage", None)
        return Reply(text, int(getattr(usage, "prompt_tokens", 0) or 0),
                     int(getattr(usage, "completion_tokens", 0) or 0), seconds)

    async def ask_async(self, request: Request) -> Reply:
        """One request; without ``response_format`` again when the server refuses it."""
        content = await asyncio.to_thread(message_content, request, self.photo_url)
        structured = self.structured in ("unknown", "accepted")
        reply = await self._send(self.body(request, content, structured=structured))
        failure = reply.failure
        if structured and self.structured == "unknown" and failure is not None \
                and failure.kind == HTTP and failure.status in (400, 422):
            reply, structured = await self._send(self.body(request, content,
                                                           structured=False)), False
            if reply.failure is None and self.structured == "unknown":
                self.structured, self.structured_refusal = "refused", str(failure)
        if reply.failure is not None:
            return reply
        if structured:
            self.structured = "accepted"
        self.answered += 1
        return dataclasses.replace(reply, structured=structured)

    def ask(self, request: Request) -> Reply:
        """:meth:`ask_async` from a synchronous caller."""
        return self.loop.submit(self.ask_async(request)).result()

    def answer(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Reply]]:
        """Replies as they complete, at most ``concurrency`` requests in flight. After a fatal
        error nothing new starts; the replies still in flight are yielded, then it is raised."""
        pending = list(reversed(requests))
        fatal: MagicError | None = None
        running: dict[Future, Request] = {}
        try:
            while pending or running:
                while pending and fatal is None and len(running) < self.concurrency:
                    request = pending.pop()
                    running[self.loop.submit(self.ask_async(request))] = request
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    request = running.pop(future)
                    try:
                        reply = future.result()
                    except MagicError as error:
                        fatal, pending = fatal or error, []
                        continue
                    stop = self.watch.observe(reply.failure)
                    if stop is not None:
                        fatal, pending = fatal or stop, []
                    yield request, reply
        finally:
            for future in running:
                future.cancel()
        if fatal is not None:
            raise fatal

