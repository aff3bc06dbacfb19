"""``--method api`` against chat-completions servers started here on 127.0.0.1 (no network):
the request it sends, retries, refusals, failed requests and the exit status they give."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner
from vlm_server import Answer, chat_server, completion, error_body

from magic_submit.challenge import CVQA_SUBMISSION_FILE, PARENTS
from magic_submit.cli import app

pytest.importorskip("openai")
runner = CliRunner()
KEY = "sk-test-never-written-7f3a"
MAX_TOKENS_REFUSED = error_body("Unsupported parameter: 'max_tokens' is not supported with this "
                                "model. Use 'max_completion_tokens' instead.")


def api(data: Path, out: Path, url: str, *extra: str):
    """One API run answering the sample valid split (12 encounters, one vote, one at a time)."""
    result = runner.invoke(app, ["run-baseline", "vqa", "--data", str(data), "--output",
                                 str(out), "--method", "api", "--endpoint", url, "--api-model",
                                 "served", "--votes", "1", "--concurrency", "1",
                                 "--valid-split", "none", "--predict-split", "valid",
                                 "--api-retries", "0", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output + result.stderr
    return result


def test_the_request_and_a_429_honouring_retry_after(sample_data, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", KEY)
    script = [Answer(429, error_body("slow down"), {"Retry-After": "1"}),
              '{"CQID010": [1], "CQID011": [1,']  # the retry, then a malformed model text
    with chat_server(script) as (url, seen):
        result = api(sample_data, tmp_path, url, "--api-key-env", "MY_KEY", "--api-retries",
                     "2", "--json")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert len(seen) == 12 + 2  # 12 encounters, the 429 again, the unreadable reply again
    assert seen[1].at - seen[0].at >= 0.95  # waited as asked
    assert metrics["model_calls"] == 13 and metrics["backend"]["transport_retries"] == 1
    assert metrics["failed_calls"] == 0 and sum(metrics["fallbacks"].values()) == 0
    assert metrics["invalid_answers"] == {p.id: 1 for p in PARENTS}  # counted, not a failure
    assert "could not be read" in seen[-1].text and seen[1].body == seen[0].body
    first = seen[0]
    assert first.path == "/v1/chat/completions" and first.headers["authorization"] == f"Bearer {KEY}"
    body = first.body
    assert body["model"] == "served" and body["temperature"] == 0 and body["max_tokens"] == 384
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["CQID010"] == {"type": "integer", "enum": [1, 2, 3, 4]}
    assert schema["properties"]["CQID012"]["maxItems"] == 3 and len(schema["required"]) == 9
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    url0 = parts[1]["image_url"]["url"]
    assert url0.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url0.split(",", 1)[1]))) as photo, \
            Image.open(sample_data / "images_valid" / "IMG_ENC00852_00001.jpg") as stored:
        assert photo.format == "JPEG" and photo.size == stored.size  # small: not downscaled
    assert "CQID010: How much of the body is affected? Choose one.\n  1. single spot\n" \
        "  2. limited area" in parts[-1]["text"]
    records = json.loads((tmp_path / "submission" / CVQA_SUBMISSION_FILE).read_text())
    assert {r["CQID010-001"] for r in records} == {0}
    assert records[0]["CQID011-001"] == 0 and records[0]["CQID011-002"] == 7  # NM padding
    for path in tmp_path.rglob("*"):  # the key is written nowhere
        assert not path.is_file() or KEY.encode() not in path.read_bytes()


def test_every_request_refused_alike_stops_at_once_with_the_fix(sample_data, tmp_path):
    with chat_server(lambda n, seen: Answer(400, MAX_TOKENS_REFUSED)) as (url, seen):
        result = api(sample_data, tmp_path, url)
    assert result.exit_code == 1
    assert "the first 3 requests were all refused: HTTP 400: Unsupported parameter: " \
        "'max_tokens' is not supported" in result.stderr
    assert "--max-tokens-param max_completion_tokens" in result.stderr
    assert len(seen) == 6  # 3 requests, each also without response_format: then stopped
    assert not (tmp_path / "metrics.json").exists()

    def completion_tokens_only(n, request):
        return Answer(400, MAX_TOKENS_REFUSED) if "max_tokens" in request.body else None

    with chat_server(completion_tokens_only) as (url, seen):
        fixed = api(sample_data, tmp_path / "fixed", url, "--max-tokens-param",
                    "max_completion_tokens")
    assert fixed.exit_code == 0, fixed.stderr
    assert len(seen) == 12 and seen[0].body["max_completion_tokens"] == 384


HTML = {"Content-Type": "text/html"}


@pytest.mark.parametrize("payload, headers, reason", [
    ({"hello": "world"}, {}, "the reply is not a chat completion"),
    (b"<html>a proxy's page</html>", HTML, "the reply is not a chat completion"),
    (b"<html>a proxy's page</html>", {}, "the reply is not valid JSON"),
    (b'{"id": "c1", "choices": [{"message": {"content": "{\\"CQID0', {},
     "the reply is not valid JSON"),
    (completion("", "length"), {}, "the completion is empty (finish_reason 'length'): raise "
                                   "--max-new-tokens"),
])
def test_a_200_without_a_usable_completion_is_a_failure_never_stored(sample_data, tmp_path,
                                                                     payload, headers, reason):
    with chat_server(lambda n, seen: Answer(payload=payload, headers=headers)) as (url, seen):
        result = api(sample_data, tmp_path, url, "--no-structured")
    assert result.exit_code == 1 and len(seen) == 3
    assert f"the first 3 requests were all refused: {reason}" in result.stderr
    assert not (tmp_path / "responses.jsonl").read_text()


def test_failed_requests_exit_1_after_writing_then_resume_asks_only_them(sample_data, tmp_path):
    truncated = Answer(payload=json.dumps(completion('{"CQID010": [1]}')).encode(),
                       declared_length=5000)  # the connection closes before the body's end
    script = {1: truncated, 3: Answer(500, error_body("CUDA out of memory"))}
    with chat_server(lambda n, request: script.get(n)) as (url, seen):
        result = api(sample_data, tmp_path, url, "--json")
        assert result.exit_code == 1 and len(seen) == 12
        metrics = json.loads(result.stdout)  # written, and printed, before the exit status
        assert metrics["failed_calls"] == 2 and metrics["model_calls"] == 10
        assert sum(metrics["fallbacks_failed_request"].values()) == 18  # 2 encounters x 9
        assert metrics["first_failure"]["reason"].startswith("the connection failed")
        assert "2 request(s) got no usable completion: 18 answer(s) came from the prior" \
            in result.stderr
        assert "rerun with --resume (it asks only the failed requests again)" in result.stderr
        assert (tmp_path / "submission" / CVQA_SUBMISSION_FILE).is_file()
        assert json.loads((tmp_path / "metrics.json").read_text())["failed_calls"] == 2
        resumed = api(sample_data, tmp_path, url, "--resume", "--json")
        assert resumed.exit_code == 0, resumed.stderr
        assert json.loads(resumed.stdout)["reused_calls"] == 10
        assert [r.text for r in seen[12:]] == [seen[1].text, seen[3].text]  # the failed ones
    with chat_server() as (elsewhere, asked):  # another endpoint: nothing stored is its reply
        again = api(sample_data, tmp_path, elsewhere, "--resume", "--json")
    assert again.exit_code == 0 and len(asked) == 12
    assert json.loads(again.stdout)["reused_calls"] == 0


def test_retry_after_over_the_cap_fails_the_request_and_allow_fallback_accepts(sample_data,
                                                                               tmp_path):
    script = [Answer(429, error_body("quota"), {"Retry-After": "30"})]
    with chat_server(script) as (url, seen):
        result = api(sample_data, tmp_path, url, "--api-max-wait", "1", "--api-retries", "3",
                     "--allow-fallback", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(seen) == 12  # the 429 was not asked again
    metrics = json.loads(result.stdout)
    assert metrics["failed_calls"] == 1 and metrics["allow_fallback"] is True
    assert metrics["first_failure"]["kind"] == "retry-after"
    assert "the server asked to wait 30 s, more than --api-max-wait 1" in result.stderr
    assert "(accepted: --allow-fallback)" in result.stderr


def test_a_dripping_server_meets_the_total_deadline(sample_data, tmp_path):
    drip = Answer(payload=completion("x" * 2000), drip_s=0.02)  # 40 s for the whole body
    with chat_server([drip]) as (url, seen):
        result = api(sample_data, tmp_path, url, "--api-timeout", "1", "--json")
    assert result.exit_code == 1 and len(seen) == 12
    metrics = json.loads(result.stdout)
    assert metrics["first_failure"] == {"kind": "timeout", "status": None, "reason":
                                        "no complete reply within --api-timeout 1 s",
                                        "fix": "raise --api-timeout or lower --concurrency"}


def test_a_huge_reply_is_refused_with_bounded_memory():
    import tracemalloc

    from baselines.vqa.vlm.backend_api import ApiBackend
    from baselines.vqa.vlm.prompt import Request, Segment

    request = Request("ENC1", 0, 0, ("CQID025",), {"CQID025": (0, 1, 2)},
                      (Segment((), "Itchy?"),))
    huge = 50_000_000
    for declared in (None, -1):  # Content-Length given (refused unread), or none (cut off)
        with chat_server(lambda n, s: Answer(size=huge, declared_length=declared)) as (url, _), \
                ApiBackend(url, "served", retries=0, timeout_s=30) as backend:
            tracemalloc.start()
            reply = backend.ask(request)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert reply.failure is not None and reply.failure.kind == "too-large"
        assert "longer than 1000000 bytes" in reply.failure.reason
        assert peak < 12_000_000, peak  # the 50 MB reply was never held


def test_a_huge_reply_through_the_command_is_a_failed_request(sample_data, tmp_path):
    with chat_server([Answer(size=50_000_000, declared_length=-1)]) as (url, seen):
        result = api(sample_data, tmp_path, url, "--json")
    assert result.exit_code == 1 and len(seen) == 12
    assert json.loads(result.stdout)["first_failure"]["kind"] == "too-large"
    assert "the first failure: the reply is longer than 1000000 bytes" in result.stderr
    assert "lower --max-new-tokens" in result.stderr


def test_credentials_in_the_url_are_sent_right_and_written_nowhere(sample_data, tmp_path):
    from conftest import run_magic

    password, query_key = "pw-Secret-9d1c", "qk-Secret-44ab"
    echo = error_body("")

    def refuse_second_echoing_secrets(n, request):
        if n == 1:  # a server that echoes what it got: the run must not repeat it
            echo["error"]["message"] = f"bad request {request.path} {request.headers}"
            return Answer(400, echo)
        return None

    with chat_server(refuse_second_echoing_secrets) as (url, seen):
        endpoint = url.replace("http://", f"http://alice:{password}@") + f"?api-key={query_key}"
        env = {**__import__("os").environ, "OPENAI_API_KEY": KEY}
        done = run_magic("run-baseline", "vqa", "--data", sample_data, "--output", tmp_path,
                         "--method", "api", "--endpoint", endpoint, "--api-model", "served",
                         "--votes", "1", "--concurrency", "2", "--valid-split", "none",
                         "--predict-split", "valid", "--api-retries", "0", "--no-structured",
                         env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "bad request" in done.stderr
    assert seen[0].path == f"/v1/chat/completions?api-key={query_key}"
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    assert seen[0].headers["authorization"] == f"Basic {basic}"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["backend"]["endpoint"] == url.replace("http://", "http://***@") + \
        "?api-key=***"
    for secret in (password, query_key, KEY):
        for path in tmp_path.rglob("*"):
            assert not path.is_file() or secret.encode() not in path.read_bytes(), path
        assert secret not in done.stdout and secret not in done.stderr


def test_a_redirect_to_another_port_is_not_followed(sample_data, tmp_path):
    with chat_server() as (elsewhere, received):
        target = f"{elsewhere}/chat/completions"
        moved = Answer(307, b"", {"Location": target})
        with chat_server(lambda n, s: moved) as (url, seen):
            result = api(sample_data, tmp_path, url)
    assert result.exit_code == 1 and received == [] and len(seen) == 3
    assert f"the server redirects to another origin, {target}: not followed" in result.stderr

    def same_origin(n, request):  # a redirect within the origin is followed
        moved_here = f"{url}/chat/completions/again"
        return Answer(307, b"", {"Location": moved_here}) if "again" not in request.path \
            else None

    with chat_server(same_origin) as (url, seen):
        followed = api(sample_data, tmp_path / "same", url)
    assert followed.exit_code == 0, followed.stderr
    assert [s.path for s in seen[:2]] == ["/v1/chat/completions", "/v1/chat/completions/again"]


def test_a_server_refusing_response_format_is_asked_without_it(sample_data, tmp_path):
    def no_schema(n, request):
        if "response_format" in request.body:
            return Answer(400, error_body("response_format json_schema is not supported"))
        return None

    with chat_server(no_schema) as (url, seen):
        result = api(sample_data, tmp_path, url, "--json")
    assert result.exit_code == 0, result.stderr
    assert ["response_format" in s.body for s in seen] == [True] + [False] * 12
    metrics = json.loads(result.stdout)
    assert metrics["backend"]["structured"] == "refused" and metrics["failed_calls"] == 0
    assert "the server refused response_format" in result.stderr
    with chat_server() as (url, seen):
        assert api(sample_data, tmp_path / "plain", url, "--no-structured").exit_code == 0
    assert not any("response_format" in s.body for s in seen)


def test_refused_key_and_unreachable_endpoint_stop_the_run(sample_data, tmp_path):
    import socket

    with chat_server(lambda n, s: Answer(401, error_body("bad key"))) as (url, seen):
        result = api(sample_data, tmp_path, url, "--api-key-env", "MAGIC_NO_SUCH_VAR")
    assert result.exit_code == 1 and len(seen) == 1
    assert url in result.stderr and "MAGIC_NO_SUCH_VAR" in result.stderr
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    result = api(sample_data, tmp_path / "dead", dead)
    assert result.exit_code == 1
    assert f"cannot reach the endpoint (ConnectError) (endpoint {dead}" in result.stderr


def test_api_usage_errors_never_echo_the_endpoint(sample_data, tmp_path):
    base = ["run-baseline", "vqa", "--data", str(sample_data), "--output", str(tmp_path),
            "--method", "api"]
    assert runner.invoke(app, base).exit_code == 2  # no --endpoint
    assert runner.invoke(app, [*base, "--endpoint", "http://127.0.0.1:9/v1"]).exit_code == 2
    bad = runner.invoke(app, [*base, "--endpoint", "ftp://u:pw-Sec-77@h/v1", "--api-model", "m"])
    assert bad.exit_code == 2 and "pw-Sec-77" not in bad.output + bad.stderr
    param = runner.invoke(app, [*base, "--endpoint", "http://127.0.0.1:9/v1", "--api-model",
                                "m", "--max-tokens-param", "tokens"])
    assert param.exit_code == 2 and "--max-tokens-param" in param.stderr
    assert not Path(tmp_path / "metrics.json").exists()


def test_photos_are_encoded_once_for_the_requests_that_share_them(sample_data, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import baselines.vqa.vlm.backend_api as backend_api

    loads = []
    real = backend_api.load_photo
    monkeypatch.setattr(backend_api, "load_photo",
                        lambda path, size: loads.append(path) or real(path, size))
    photos = sorted((sample_data / "images_valid").glob("*.jpg"))[:3]
    urls = backend_api.PhotoUrls(64, keep=3)
    with ThreadPoolExecutor(8) as pool:  # 8 requests at once asking for the same 3 photos
        got = list(pool.map(urls, photos * 8))
    assert len(set(got)) == 3 and all(u.startswith("data:image/jpeg;base64,") for u in got)
    assert sorted(loads) == photos  # each encoded once
    loads.clear()
    assert urls(photos[2]) == got[2] and loads == []
    small = backend_api.PhotoUrls(64, keep=2)
    for path in [*photos, photos[0]]:  # the oldest is dropped past keep
        small(path)
    assert loads == [*photos, photos[0]]
    with pytest.raises(Exception):
        urls(sample_data / "images_valid" / "missing.jpg")
    with pytest.raises(Exception):  # a failure is not kept: asked again, it fails again
        urls(sample_data / "images_valid" / "missing.jpg")
