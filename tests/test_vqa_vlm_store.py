"""responses.jsonl: appended as replies arrive, reused by key, a killed run's tail tolerated."""

from __future__ import annotations

import json
from pathlib import Path

from baselines.vqa.vlm.store import RESPONSES_FILE, ResponseStore


def entry(enc: str, vote: int, text: str, attempt: int = 0) -> dict:
    return {"model": "m", "prompt_hash": f"h{enc}{vote}", "encounter_id": enc, "vote": vote,
            "attempt": attempt, "text": text}


def test_append_then_resume_reads_every_entry(tmp_path: Path):
    path = tmp_path / RESPONSES_FILE
    with ResponseStore(path) as store:
        store.append(entry("E1", 0, "a"))
        store.append(entry("E1", 1, "b"))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["a", "b"]
    resumed = ResponseStore(path, resume=True)
    assert len(resumed) == 2 and resumed.get(("m", "hE11", "E1", 1, 0))["text"] == "b"
    assert resumed.get(("m", "hE11", "E1", 1, 1)) is None  # another attempt: another key


def test_a_half_written_last_line_is_cut_and_appending_goes_on(tmp_path: Path):
    path = tmp_path / RESPONSES_FILE
    with ResponseStore(path) as store:
        store.append(entry("E1", 0, "a"))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry("E2", 0, "b"))[:30])  # killed while writing
    with ResponseStore(path, resume=True) as store:
        assert store.cut_tail and len(store) == 1
        store.append(entry("E2", 0, "c"))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["a", "c"]


def test_bad_lines_are_skipped_and_the_first_reply_to_a_key_wins(tmp_path: Path):
    path = tmp_path / RESPONSES_FILE
    rows = [json.dumps(entry("E1", 0, "first")), "not json", json.dumps({"text": "no key"}),
            "", json.dumps(entry("E1", 0, "second"))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = ResponseStore(path, resume=True)
    assert store.skipped_lines == 2 and not store.cut_tail
    assert store.get(("m", "hE10", "E1", 0, 0))["text"] == "first"


def test_without_resume_an_earlier_file_is_not_reused(tmp_path: Path):
    path = tmp_path / RESPONSES_FILE
    path.write_text(json.dumps(entry("E1", 0, "old")) + "\n", encoding="utf-8")
    store = ResponseStore(path)
    assert len(store) == 0 and not path.exists()


def test_a_run_killed_with_sigkill_resumes_to_the_same_submission(sample_data, tmp_path):
    """A real ``magic`` process killed with SIGKILL halfway: every line it wrote was flushed,
    and the resumed run asks only the rest and writes the same submission byte for byte."""
    import hashlib
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    from typer.testing import CliRunner
    from vlm_server import Answer, chat_server

    from magic_submit.challenge import CVQA_SUBMISSION_FILE
    from magic_submit.cli import app

    def by_content(n, request):  # deterministic, and different from request to request
        digest = hashlib.sha256(request.text.encode()).digest()
        qids = re.findall(r"^(CQID\d{3}):", request.text, re.MULTILINE)
        return Answer(payload=json.dumps({q: [1 + digest[i] % 2] for i, q in enumerate(qids)}),
                      delay_s=0.05)

    args = ["run-baseline", "vqa", "--data", str(sample_data), "--method", "api",
            "--api-model", "served", "--votes", "3", "--concurrency", "1", "--valid-split",
            "none", "--predict-split", "valid", "--quiet"]
    with chat_server(by_content) as (url, seen):
        whole = CliRunner().invoke(app, [*args, "--endpoint", url, "--output",
                                         str(tmp_path / "whole")])
        assert whole.exit_code == 0, whole.stderr
        killed = tmp_path / "killed"
        process = subprocess.Popen([sys.executable, "-m", "magic_submit", *args, "--endpoint",
                                    url, "--output", str(killed)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        store = killed / RESPONSES_FILE
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if store.is_file() and store.read_bytes().count(b"\n") >= 10:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        time.sleep(0.3)  # a request sent just before the kill has reached the server
        kept = [json.loads(line) for line in store.read_bytes().split(b"\n")[:-1]]
        assert 10 <= len(kept) < 36  # flushed as written, and killed halfway
        asked_before = len(seen)
        resumed = CliRunner().invoke(app, [*args, "--endpoint", url, "--output", str(killed),
                                           "--resume", "--json"])
    assert resumed.exit_code == 0, resumed.stderr
    metrics = json.loads(resumed.stdout)
    assert metrics["reused_calls"] == len(kept) and metrics["model_calls"] == 36 - len(kept)
    assert len(seen) - asked_before == 36 - len(kept)
    written = (killed / "submission" / CVQA_SUBMISSION_FILE).read_bytes()
    assert written == (tmp_path / "whole" / "submission" / CVQA_SUBMISSION_FILE).read_bytes()
