"""The HTTP client under ``--method api``'s ``openai.AsyncOpenAI``: what the openai client does
not do itself.

The openai client retries 408/409/429/5xx, timeouts and dropped connections with exponential
backoff and jitter (0.5 s doubling up to 8 s, minus up to 25 %), and waits as a ``Retry-After``
(or ``retry-after-ms``) header asks up to 120 s (not retrying when asked to wait longer). Its
``timeout`` is per network operation: a server that sends a byte now and then holds a request
forever. It follows redirects anywhere, and it reads a reply of any size whole. This module
adds, per HTTP attempt:

* a total deadline (``timeout_s``): connecting, the headers and the whole body; past it the
  attempt is a timeout (which the openai client retries);
* a size cap (``max_bytes``, decoded): a ``Content-Length`` over it is refused before the body
  is read, a longer body is cut off as soon as it passes it; replies in an encoding other than
  gzip or deflate are refused (``Accept-Encoding: identity`` is asked for);
* ``Retry-After`` over ``max_wait_s``: the reply is marked ``x-should-retry: false`` (a header
  the openai client obeys), so the request fails instead of waiting longer than allowed;
* no cross-origin redirect: a redirect to another scheme, host or port raises
  :class:`Refused` before anything is sent there (same-origin redirects are followed);
* a count of the retries (the openai client's ``x-stainless-retry-count`` header).

:class:`Refused` is no error class of the HTTP library, so the openai client passes it on
without retrying (openai 1.x wraps it in ``APIConnectionError``: the caller looks for it in
the exception's causes). The HTTP library is the one the installed openai client uses
(``httpx``, or its fork ``httpx2`` in openai 3).
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import math
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from baselines.vqa.vlm.endpoint import Endpoint, redact

MAX_REPLY_BYTES = 1_000_000
OPENAI_MAX_RETRY_AFTER_S = 120.0  # the longest Retry-After the openai client waits for
DECODED = ("gzip", "deflate")


class Refused(Exception):
    """A reply refused before or while reading it: ``kind`` (too-large, redirect, malformed) and
    the reason (no secret in it)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


@dataclass
class Guard:
    """The limits of every attempt, and what was seen."""

    endpoint: Endpoint
    timeout_s: float
    max_wait_s: float
    max_bytes: int = MAX_REPLY_BYTES
    retries: int = 0  # attempts that were retries, over the run


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds a reply asks to wait (``retry-after-ms``, then ``Retry-After`` as seconds or an
    HTTP date), or None.

    >>> retry_after_seconds({"retry-after": "7"}), retry_after_seconds({"retry-after-ms": "250"})
    (7.0, 0.25)
    >>> retry_after_seconds({"retry-after": "soon"}) is None
    True
    """
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) else math.inf
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - time.time()


def http_library() -> Any:
    """The HTTP library (``httpx`` or ``httpx2``) of the installed openai client."""
    import openai

    for cls in openai.DefaultAsyncHttpxClient.__mro__:
        if cls.__name__ == "AsyncClient":
            return importlib.import_module(cls.__module__.split(".")[0])
    raise ImportError("cannot tell which HTTP library the openai client uses")


def origin_of(url: Any) -> tuple[str, str, int]:
    scheme = str(url.scheme).lower()
    return scheme, str(url.host).lower(), url.port or (443 if scheme == "https" else 80)


def guarded_client(guard: Guard) -> Any:
    """An ``AsyncClient`` of :func:`http_library` with the guards of the module doc."""
    http = http_library()

    class BoundedStream(http.AsyncByteStream):  # type: ignore[misc, name-defined]
        """The body, decoded, cut off at the cap and at the deadline."""

        def __init__(self, inner: Any, request: Any, deadline: float, encoding: str) -> None:
            self.inner, self.request, self.deadline = inner, request, deadline
            self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding == "gzip" \
                else zlib.decompressobj() if encoding == "deflate" else None

        def _count(self, total: int, chunk: bytes) -> int:
            total += len(chunk)
            if total > guard.max_bytes:
                raise Refused("too-large", f"the reply is longer than {guard.max_bytes} bytes")
            return total

        async def __aiter__(self) -> Any:
            loop, total = asyncio.get_running_loop(), 0
            chunks = self.inner.__aiter__()
            while True:
                remaining = self.deadline - loop.time()
                try:
                    if remaining <= 0:
                        raise TimeoutError
                    async with asyncio.timeout(remaining):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise http.ReadTimeout("deadline", request=self.request) from None
                if self.decoder is not None:
                    chunk = self.decoder.decompress(chunk, guard.max_bytes + 1 - total)
                total = self._count(total, chunk)
                yield chunk
            if self.decoder is not None:
                tail = self.decoder.flush()
                self._count(total, tail)
                yield tail

        async def aclose(self) -> None:
            await self.inner.aclose()

    class GuardedTransport(http.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.inner = http.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            if request.headers.get("x-stainless-retry-count", "0") not in ("", "0"):
                guard.retries += 1
            deadline = asyncio.get_running_loop().time() + guard.timeout_s
            try:
                async with asyncio.timeout(guard.timeout_s):
                    response = await self.inner.handle_async_request(request)
            except TimeoutError:
                raise http.ReadTimeout("deadline", request=request) from None
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            length = response.headers.get("content-length", "")
            refusal = None
            if encoding not in ("identity", "", *DECODED):
                refusal = f"the reply is in an encoding that was not asked for ({encoding[:20]})"
            elif encoding in ("identity", "") and length.isdigit() \
                    and int(length) > guard.max_bytes:
                refusal = f"the reply is longer than {guard.max_bytes} bytes ({length})"
            if refusal is not None:
                await response.aclose()
                raise Refused("too-large", refusal)
            if encoding in DECODED:
                del response.headers["content-encoding"]
                response.headers.pop("content-length", None)
            wait = retry_after_seconds(response.headers)
            if wait is not None and wait > guard.max_wait_s:
                response.headers["x-should-retry"] = "false"
            response.stream = BoundedStream(response.stream, request, deadline, encoding)
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    async def same_origin(request: Any) -> None:
        if origin_of(request.url) != guard.endpoint.origin:
            target = redact(f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
                            f"{request.url.path}", guard.endpoint.secrets)
            raise Refused("redirect", f"the server redirects to another origin, {target}: "
                          "not followed (the photos and the text are not sent there)")

    return http.AsyncClient(transport=GuardedTransport(), follow_redirects=True,
                            max_redirects=5, auth=guard.endpoint.auth,
                            timeout=http.Timeout(guard.timeout_s),
                            headers={"Accept-Encoding": "identity"},
                            event_hooks={"request": [same_origin]})
