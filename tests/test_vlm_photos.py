"""``--method api``: a photo in any mode reaches the server as the right picture, upright.

A chat-completions server on 127.0.0.1 records the photos of every request; the test split holds
one encounter per variant of one picture (:mod:`photo_variants`). Each photo received, decoded
from its JPEG data URL, must be the 8-bit picture (or its grey version) as a person sees it:
EXIF orientation applied, transparency on white, 16 bits scaled.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from local_server import QuietHandler, serving
from magic_submit.cli import app
from photo_variants import picture, upright, write_variants

pytest.importorskip("openai")
runner = CliRunner()


@contextmanager
def photo_server() -> Iterator[tuple[str, dict[str, list[list[np.ndarray]]]]]:
    """Answers option 1 to every question asked; keeps the photos of each request under the
    case number its text names (``Case C``)."""
    photos: dict[str, list[list[np.ndarray]]] = {}
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = body["messages"][-1]["content"]
            text = "\n".join(p["text"] for p in parts if p["type"] == "text")
            decoded = [np.asarray(Image.open(io.BytesIO(base64.b64decode(
                p["image_url"]["url"].split(",", 1)[1]))).convert("RGB"))
                for p in parts if p["type"] == "image_url"]
            case = re.search(r"\bCase (\d+)\b", text)
            with lock:
                photos.setdefault(case.group(1) if case else "?", []).append(decoded)
            qids = re.findall(r"^(CQID\d{3}):", text, re.MULTILINE)
            reply = json.dumps({q: [1] for q in qids})
            data = json.dumps({
                "id": "c", "object": "chat.completion", "created": 0, "model": "served",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serving(Handler) as root:
        url = f"{root}/v1"  # an OpenAI-style base URL
        yield url, photos


def test_photos_in_every_mode_reach_the_server_upright(sample_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train.json", "train_cvqa.json",
                 "closedquestions_definitions_imageclef2025.json"):
        shutil.copy(sample_data / name, data / name)
    with Image.open(sample_data / "images_valid" / "IMG_ENC00852_00001.jpg") as photo:
        rgb = picture(np.array(photo.convert("RGB").resize((96, 72))))
    variants = write_variants(rgb, data / "images_test")
    grey = np.repeat(np.array(Image.fromarray(rgb).convert("L"))[..., None], 3, 2)
    record = json.loads((sample_data / "valid.json").read_text(encoding="utf-8"))[0]
    expected: dict[str, tuple[str, np.ndarray]] = {}
    encounters = []
    for index, (name, variant) in enumerate(variants.items()):
        file_name = f"IMG_ENC{index:05d}_00001{variant.path.suffix}"
        variant.path.rename(data / "images_test" / file_name)
        expected[str(index)] = (name, upright(grey if variant.reference == "grey" else rgb,
                                              variant.orientation))
        encounters.append({**record, "encounter_id": f"ENC{index:05d}", "image_ids": [file_name],
                           "query_title_en": f"Case {index}: a rash"})
    (data / "test.json").write_text(json.dumps(encounters), encoding="utf-8")
    with photo_server() as (url, received):
        result = runner.invoke(app, [
            "run-baseline", "vqa", "--data", str(data), "--output", str(tmp_path / "run"),
            "--method", "api", "--endpoint", url, "--api-model", "served", "--votes", "1",
            "--concurrency", "2", "--valid-split", "none", "--predict-split", "test"])
    assert result.exit_code == 0, result.stderr
    assert set(received) == set(expected)
    for case, (name, want) in expected.items():
        for photos in received[case]:  # every request about this encounter
            assert len(photos) == 1 and photos[0].shape == want.shape, name
            # JPEG at quality 90 on the way (after quality 95 for the JPEG variants)
            assert np.abs(photos[0].astype(int) - want.astype(int)).mean() < 3.0, name
    shapes = {want.shape for _, want in expected.values()}
    assert shapes == {(72, 96, 3), (96, 72, 3)}  # stored, and turned by EXIF 5 and 6
