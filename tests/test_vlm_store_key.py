"""The api/vlm response cache: a stored reply is reused only for the same model.

Public behaviour only (the store's internals are being reworked): a reply written for one model
is never returned for another model's identical request, in the same run or after ``--resume``.
"""

from __future__ import annotations

from pathlib import Path

from baselines.vqa.vlm.store import RESPONSES_FILE, ResponseStore, entry_key


def reply(model: str, text: str) -> dict:
    return {"model": model, "prompt_hash": "h", "encounter_id": "ENC00001", "vote": 0,
            "attempt": 0, "text": text}


def test_a_reply_is_keyed_by_its_model(tmp_path: Path) -> None:
    path = tmp_path / RESPONSES_FILE
    with ResponseStore(path) as store:
        store.append(reply("model-a", "from a"))
        assert store.get(entry_key(reply("model-b", ""))) is None
        store.append(reply("model-b", "from b"))
        assert store.get(entry_key(reply("model-a", "")))["text"] == "from a"
        assert store.get(entry_key(reply("model-b", "")))["text"] == "from b"
    resumed = ResponseStore(path, resume=True)
    assert len(resumed) == 2
    assert resumed.get(entry_key(reply("model-a", "")))["text"] == "from a"
    assert resumed.get(entry_key(reply("model-b", "")))["text"] == "from b"
    assert resumed.get(entry_key(reply("model-c", ""))) is None


def test_the_key_differs_only_by_model_for_otherwise_equal_requests() -> None:
    assert entry_key(reply("model-a", "x")) != entry_key(reply("model-b", "x"))
    assert entry_key(reply("model-a", "x")) == entry_key(reply("model-a", "y"))  # not the reply
