"""A hub id that cannot be loaded fails at once, naming the id, the cause and the way out."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("huggingface_hub")

from baselines.hub import probe_hub  # noqa: E402
from local_server import serving  # noqa: E402
from magic_submit.errors import MagicError  # noqa: E402


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers the model-info request: 404 RepoNotFound for 'org/missing', 503 for 'org/busy',
    a minimal model card for anything else."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if "org/missing" in self.path:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            body = b'{"error": "Repository not found"}'
        elif "org/busy" in self.path:
            self.send_response(503)
            body = b'{"error": "busy"}'
        else:
            self.send_response(200)
            body = b'{"id": "org/model", "modelId": "org/model", "sha": "0" }'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def hub() -> Iterator[str]:
    with serving(_Hub) as url:
        yield url


def _closed_port() -> str:
    import socket

    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _cache_with(tmp_path: Path, repo_id: str) -> Path:
    """A Hugging Face cache holding ``repo_id``'s config.json (the layout hf_hub_download writes)."""
    repo = tmp_path / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    return tmp_path / "hub"


def test_a_known_id_on_a_reachable_hub_loads_normally(hub: str, tmp_path: Path) -> None:
    assert probe_hub("org/model", "CLIPSeg model", endpoint=hub, cache_dir=tmp_path) is False


def test_an_unknown_id_is_named_with_the_likely_causes(hub: str, tmp_path: Path) -> None:
    with pytest.raises(MagicError, match="no CLIPSeg model 'org/missing' on the model hub") as err:
        probe_hub("org/missing", "CLIPSeg model", endpoint=hub, cache_dir=tmp_path)
    assert "typo" in err.value.message and "HF_HUB_OFFLINE=1" in err.value.hint


@pytest.mark.parametrize("unreachable", ["closed port", "hub error"])
def test_no_hub_and_no_cache_fails_at_once(unreachable: str, hub: str, tmp_path: Path) -> None:
    endpoint = _closed_port() if unreachable == "closed port" else hub
    repo = "org/model" if unreachable == "closed port" else "org/busy"
    with pytest.raises(MagicError, match=f"cannot download text model '{repo}'") as err:
        probe_hub(repo, "text model", endpoint=endpoint, cache_dir=tmp_path)
    assert "not in the local cache" in err.value.message
    assert "hf download" in err.value.hint and "tiny-random" in err.value.hint


def test_no_hub_but_a_cached_model_loads_from_the_cache(tmp_path: Path) -> None:
    cache = _cache_with(tmp_path, "org/model")
    assert probe_hub("org/model", "text model", endpoint=_closed_port(), cache_dir=cache) is True


def test_the_command_fails_in_one_attempt_without_retry_messages(sample_data: Path,
                                                                 tmp_path: Path) -> None:
    env = {**os.environ, "HF_ENDPOINT": _closed_port(), "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run(
        [sys.executable, "-m", "magic_submit", "run-baseline", "seg", "--data", str(sample_data),
         "--output", str(tmp_path / "out"), "--device", "cpu", "--model", "org/clipseg"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1, done.stderr
    assert "cannot download CLIPSeg model 'org/clipseg'" in done.stderr
    assert "Retry" not in done.stderr and "Traceback" not in done.stderr


def test_one_probe_per_hub_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model and its processor share their id: the hub is asked once."""
    import baselines.hub as hub

    asked: list[str] = []
    monkeypatch.setattr(hub, "_PROBED", {})
    monkeypatch.setattr(hub, "probe_hub", lambda repo_id, what: asked.append(repo_id) or False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    loaded = [hub.load_pretrained(lambda source: source, "org/model", what)
              for what in ("model", "processor")]
    assert loaded == ["org/model", "org/model"] and asked == ["org/model"]
