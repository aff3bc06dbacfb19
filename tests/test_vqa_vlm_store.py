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
