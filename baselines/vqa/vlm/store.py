"""``OUT/responses.jsonl``: every model reply, appended as it arrives, reused on ``--resume``.

One JSON object per line: the key (model, prompt hash, encounter, vote, attempt), the families
asked and their shown orders, the raw reply, the parsed answers and problems, tokens and seconds.
A reply is looked up by its key only, so a resumed run reuses exactly the replies to the same
prompts and asks the model only for the missing ones. A half-written last line (a killed run)
is cut off when the store is opened; an unreadable line elsewhere is skipped and counted.
Requests that failed in transport are not stored: they are asked again.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / RESPONSES_FILE
>>> with ResponseStore(path) as store:
...     store.append({"model": "m", "prompt_hash": "h", "encounter_id": "E", "vote": 0,
...                   "attempt": 0, "text": "{}"})
>>> _ = path.open("a").write('{"model": "m", "prompt_ha')  # killed mid-line
>>> with ResponseStore(path, resume=True) as store:
...     store.get(("m", "h", "E", 0, 0))["text"], store.cut_tail
('{}', True)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

RESPONSES_FILE = "responses.jsonl"
KEY_FIELDS = ("model", "prompt_hash", "encounter_id", "vote", "attempt")
Key = tuple[str, str, str, int, int]


def entry_key(entry: dict[str, Any]) -> Key:
    return tuple(entry[f] for f in KEY_FIELDS)  # type: ignore[return-value]


class ResponseStore:
    """Append-only store of replies by key; ``resume=False`` starts an empty file."""

    def __init__(self, path: Path, *, resume: bool = False) -> None:
        self.path = Path(path)
        self.entries: dict[Key, dict[str, Any]] = {}
        self.skipped_lines = 0
        self.cut_tail = False
        self._handle: IO[str] | None = None
        if resume and self.path.is_file():
            self._load()
        elif self.path.exists():
            self.path.unlink()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):  # a killed run's half-written line: drop it
            self.cut_tail = True
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
        for line in complete.decode("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                key = entry_key(entry)
            except (ValueError, KeyError, TypeError):
                self.skipped_lines += 1
                continue
            self.entries.setdefault(key, entry)  # the first reply to a key wins

    def __enter__(self) -> "ResponseStore":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def get(self, key: Key) -> dict[str, Any] | None:
        return self.entries.get(key)

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry as a line and flush it (a kill loses at most the line being written)."""
        if self._handle is None:
            raise RuntimeError("open the store with 'with' before appending")
        self._handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.entries.setdefault(entry_key(entry), entry)

    def __len__(self) -> int:
        return len(self.entries)
