"""``run-baseline seg|vqa`` open and decode every photo they will read before any training or
request: a damaged photo fails the run at once, named, with nothing trained or sent."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from local_server import QuietHandler, serving
from magic_submit.cli import app

runner = CliRunner()


def magic(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, list(map(str, args)))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def damaged(sample_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the sample dataset whose last test photo is truncated, and that photo."""
    data = tmp_path / "data"
    shutil.copytree(sample_data, data, ignore=shutil.ignore_patterns("submission"))
    photo = sorted((data / "images_test").glob("*.jpg"))[-1]
    content = photo.read_bytes()
    photo.write_bytes(content[: len(content) // 2])
    return data, photo


def _assert_named(err: str, photo: Path) -> None:
    assert "1 of" in err and "photos cannot be read" in err and photo.name in err
    assert "truncated" in err and "nothing was trained or sent" in err


def test_seg_stops_before_loading_the_model(damaged: tuple[Path, Path], tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    data, photo = damaged
    out = tmp_path / "run"
    code, _, err = magic("run-baseline", "seg", "--data", data, "--output", out, "--model",
                         "tiny-random", "--device", "cpu", "--epochs", "1")
    assert code == 1
    _assert_named(err, photo)
    log = (out / "train.log").read_text(encoding="utf-8")
    assert "model tiny-random" not in log and not (out / "checkpoints").exists()


def test_vqa_bert_swin_stops_before_loading_its_encoders(damaged: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    data, photo = damaged
    code, _, err = magic("run-baseline", "vqa", "--data", data, "--output", tmp_path / "run",
                         "--method", "bert-swin", "--model-text", "tiny-random", "--model-image",
                         "tiny-random", "--device", "cpu", "--epochs", "1")
    assert code == 1
    _assert_named(err, photo)
    assert "encoders" not in err and not (tmp_path / "run" / "metrics.json").exists()


@contextmanager
def counting_server() -> Iterator[tuple[str, list]]:
    """A chat-completions endpoint on 127.0.0.1 that records every request (and answers 500)."""
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as root:
        url = f"{root}/v1"  # an OpenAI-style base URL
        yield url, seen


def test_api_sends_no_request_before_every_photo_is_read(damaged: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    pytest.importorskip("openai")
    data, photo = damaged
    with counting_server() as (url, seen):
        code, out, err = magic("run-baseline", "vqa", "--data", data, "--output",
                               tmp_path / "run", "--method", "api", "--endpoint", url,
                               "--api-model", "served", "--json")
    assert code == 1 and seen == []
    _assert_named(err, photo)
    assert json.loads(out)["error"]["file"] == str(photo)


def test_text_methods_read_no_photo(damaged: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = damaged
    code, _, err = magic("run-baseline", "vqa", "--data", data, "--output", tmp_path / "run",
                         "--method", "prior")
    assert code == 0, err


def test_api_checks_the_worked_examples_photos_it_will_send(sample_data: Path,
                                                            tmp_path: Path) -> None:
    """With --shot-photos the examples' photos (training photos) are read too, and checked."""
    pytest.importorskip("openai")
    data = tmp_path / "data"
    shutil.copytree(sample_data, data, ignore=shutil.ignore_patterns("submission"))
    for photo in (data / "images_train").iterdir():
        photo.write_bytes(photo.read_bytes()[:200])
    with counting_server() as (url, seen):
        code, _, err = magic("run-baseline", "vqa", "--data", data, "--output", tmp_path / "run",
                             "--method", "api", "--endpoint", url, "--api-model", "served",
                             "--shots", "2", "--shot-photos")
    assert code == 1 and seen == [] and "photos cannot be read" in err
    assert "images_train" in err
