"""A scripted chat-completions server on 127.0.0.1 for the ``--method api`` tests and benchmark:
each POST is answered as ``script(n, seen)`` says (a :class:`Answer`), by default a valid
completion (option 1 of every question). It listens only on 127.0.0.1, runs in threads inside
the test and stops with it; a dripping or huge reply stops when the client hangs up."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LONGEST_DRIP_S = 20.0  # a dripping reply ends by itself after this long


@dataclass
class Answer:
    """What the server sends: ``payload`` (a dict: JSON; a str: a completion with that text;
    bytes: the raw body; None: option 1 of every asked question), or a body of ``size`` bytes,
    or the body one byte every ``drip_s`` seconds; ``declared_length`` overrides
    Content-Length (``-1``: none, the body ends when the connection closes)."""

    status: int = 200
    payload: object = None
    headers: dict[str, str] = field(default_factory=dict)
    drip_s: float | None = None
    size: int | None = None
    declared_length: int | None = None
    delay_s: float = 0.0


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict
    at: float

    @property
    def text(self) -> str:
        """Every text part of the user message, joined."""
        return "\n\n".join(p["text"] for p in self.body["messages"][0]["content"]
                           if p["type"] == "text")


def completion(content: str, finish: str = "stop") -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "served",
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}}


def error_body(message: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error"}}


def first_options(seen: Seen) -> str:
    """A valid reply: option 1 of every question listed in the request's text."""
    return json.dumps({qid: [1] for qid in re.findall(r"^(CQID\d{3}):", seen.text, re.MULTILINE)})


Script = Callable[[int, Seen], "Answer | None"]


@contextlib.contextmanager
def chat_server(script: Script | list | None = None) -> Iterator[tuple[str, list[Seen]]]:
    """Yields (base URL ending in /v1, the requests seen). ``script``: a function of (index,
    request), or a list whose n-th item answers the n-th POST (an :class:`Answer`, a reply
    text, a (status, payload) pair, or None: the default)."""
    seen: list[Seen] = []
    lock = threading.Lock()

    def decide(index: int, request: Seen) -> Answer:
        step = script(index, request) if callable(script) else \
            (script[index] if script is not None and index < len(script) else None)
        if step is None:
            return Answer()
        if isinstance(step, str):
            return Answer(payload=step)
        if isinstance(step, tuple):
            return Answer(status=step[0], payload=step[1])
        return step

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = Seen(self.path, {k.lower(): v for k, v in self.headers.items()},
                           json.loads(raw or b"{}"), time.monotonic())
            with lock:
                seen.append(request)
                index = len(seen) - 1
            answer = decide(index, request)
            time.sleep(answer.delay_s)
            payload = answer.payload
            if payload is None:
                payload = completion(first_options(request))
            elif isinstance(payload, str):
                payload = completion(payload)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            length = answer.size if answer.size is not None else len(data)
            self.send_response(answer.status)
            if "Content-Type" not in answer.headers:
                self.send_header("Content-Type", "application/json")
            declared = answer.declared_length if answer.declared_length is not None else length
            if declared >= 0:
                self.send_header("Content-Length", str(declared))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(OSError):
                self._body(answer, data)

        def _body(self, answer: Answer, data: bytes) -> None:
            if answer.drip_s is not None:
                ends = time.monotonic() + LONGEST_DRIP_S
                for byte in data:
                    if time.monotonic() > ends:
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(answer.drip_s)
            elif answer.size is not None:
                piece = b" " * 65536
                for _ in range(answer.size // len(piece)):
                    self.wfile.write(piece)
            else:
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
