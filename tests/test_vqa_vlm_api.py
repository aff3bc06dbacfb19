"""``--method api`` against a chat-completions server started here on 127.0.0.1 (no network)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from baselines.vqa.vlm.backend_api import ApiBackend
from baselines.vqa.vlm.prompt import Request
from magic_submit.challenge import CVQA_SUBMISSION_FILE, PARENTS
from magic_submit.cli import app
from magic_submit.errors import MagicError

pytest.importorskip("openai")
runner = CliRunner()
KEY = "sk-test-never-written-7f3a"


def completion(content: str) -> tuple[int, dict]:
    return 200, {"id": "c1", "object": "chat.completion", "created": 0, "model": "served",
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": content}}],
                 "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}}


def first_options(body: dict) -> str:
    """A valid reply: option 1 of every question listed in the request's text."""
    text = next(p["text"] for p in body["messages"][0]["content"] if p["type"] == "text")
    return json.dumps({qid: [1] for qid in re.findall(r"^(CQID\d{3}):", text, re.MULTILINE)})


@contextlib.contextmanager
def chat_server(script: list) -> Iterator[tuple[str, list]]:
    """A chat-completions server on 127.0.0.1: the n-th POST gets ``script[n]`` (a status and
    JSON body, or a reply text); later ones, and None steps, option 1 everywhere. Yields (base
    URL, requests)."""
    seen: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                             "body": body})
                step = script[len(seen) - 1] if len(seen) <= len(script) else None
            status, payload = completion(first_options(body)) if step is None else \
                completion(step) if isinstance(step, str) else step
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


RATE_LIMITED = (429, {"error": {"message": "slow down", "type": "rate_limit"}})


def test_api_run_retries_429_and_malformed_json_then_answers(sample_data, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", KEY)
    script = [RATE_LIMITED, '{"CQID010": [1], "CQID011": [1,']  # 429, then malformed JSON
    with chat_server(script) as (url, seen):
        result = runner.invoke(app, ["run-baseline", "vqa", "--data", str(sample_data),
                                     "--output", str(tmp_path), "--method", "api",
                                     "--endpoint", url, "--api-model", "served",
                                     "--api-key-env", "MY_KEY", "--votes", "1",
                                     "--concurrency", "1", "--predict-split", "valid",
                                     "--json"])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert len(seen) == 12 + 2  # 12 encounters, the 429 again, the malformed reply again
    assert metrics["model_calls"] == 13 and metrics["backend"]["transport_retries"] == 1
    assert sum(metrics["fallbacks"].values()) == 0
    assert metrics["invalid_answers"] == {p.id: 1 for p in PARENTS}
    retry = seen[-1]["body"]["messages"][0]["content"][-1]["text"]
    assert "could not be read" in retry and seen[1]["body"] == seen[0]["body"]
    # the request: photos as JPEG data URLs, then the text with numbered options
    first = seen[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == f"Bearer {KEY}"
    assert first["body"]["model"] == "served" and first["body"]["temperature"] == 0
    parts = first["body"]["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1]))) as photo, \
            Image.open(sample_data / "images_valid" / "IMG_ENC00852_00001.jpg") as stored:
        assert photo.format == "JPEG" and photo.size == stored.size  # small: not downscaled
    assert "CQID010: How much of the body is affected? Choose one.\n  1. single spot\n" \
        "  2. limited area" in parts[-1]["text"]
    records = json.loads((tmp_path / "submission" / CVQA_SUBMISSION_FILE).read_text())
    assert {r["CQID010-001"] for r in records} == {0}
    assert records[0]["CQID011-001"] == 0 and records[0]["CQID011-002"] == 7  # NM padding
    for path in tmp_path.rglob("*"):  # the key is written nowhere
        assert not path.is_file() or KEY.encode() not in path.read_bytes()


def _request() -> Request:
    return Request("ENC1", 0, 0, ("CQID025",), {"CQID025": (0, 1, 2)}, "Itchy?", ())


def test_refused_key_and_unreachable_endpoint_name_the_endpoint():
    refused = (401, {"error": {"message": "bad key", "type": "auth"}})
    with chat_server([refused]) as (url, _):
        with pytest.raises(MagicError) as error:
            ApiBackend(url, "served", api_key_env="MAGIC_NO_SUCH_VAR").ask(_request())
    assert url in error.value.message and "MAGIC_NO_SUCH_VAR" in error.value.hint
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/v1"
    backend = ApiBackend(dead, "served", backoff_s=0.001, retries=2, timeout_s=2)
    with pytest.raises(MagicError) as error:
        list(backend.answer([_request()]))
    assert dead in error.value.message and "after 3 tries" in error.value.message
    assert backend.transport_retries == 2


def test_a_refused_request_falls_back_without_stopping_the_run(sample_data, tmp_path):
    too_long = (400, {"error": {"message": "context too long", "type": "invalid_request"}})
    with chat_server([too_long, *[None] * 11, too_long]) as (url, seen):  # ENC00852, its retry
        result = runner.invoke(app, ["run-baseline", "vqa", "--data", str(sample_data),
                                     "--output", str(tmp_path), "--method", "api",
                                     "--endpoint", url, "--api-model", "served", "--votes", "1",
                                     "--retries", "1", "--concurrency", "1",
                                     "--valid-split", "none", "--predict-split", "valid",
                                     "--json"])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["failed_calls"] == 2 and metrics["model_calls"] == 11
    assert sum(metrics["fallbacks"].values()) == 9  # one encounter, every family: the prior
    assert len(seen) == 13
    assert seen[0]["auth"] == "Bearer EMPTY"  # no key in the environment: a placeholder


def test_api_usage_errors(sample_data, tmp_path):
    base = ["run-baseline", "vqa", "--data", str(sample_data), "--output", str(tmp_path),
            "--method", "api"]
    assert runner.invoke(app, base).exit_code == 2  # no --endpoint
    assert runner.invoke(app, [*base, "--endpoint", "http://127.0.0.1:9/v1"]).exit_code == 2
    assert not Path(tmp_path / "metrics.json").exists()
