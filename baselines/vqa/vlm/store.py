"""``OUT/responses.jsonl``: every model reply, appended as it arrives, reused on ``--resume``.

One JSON object per line: the key (model, prompt hash, encounter, vote, attempt), the families
asked and their shown orders, the raw reply, the parsed answers and problems, tokens and seconds.
A reply is looked up by its key only (the prompt hash covers the endpoint, the model's
parameters and the content, :meth:`VlmOptions.request_settings`), so a resumed run reuses
exactly the replies to the same requests and asks the model only for the missing ones. Each
line is flushed as it is written. A half-written last line (a killed run) is cut off when the
store is opened; an unreadable line elsewhere is skipped and counted. Only the keys and the
lines' offsets are held in memory (a reply is read back from the file when it is reused).
Requests that failed are not stored: they are asked again.

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
        self.offsets: dict[Key, int] = {}
        self.skipped_lines = 0
        self.cut_tail = False
        self._handle: IO[bytes] | None = None
        if resume and self.path.is_file():
            self._load()
        elif self.path.exists():
            self.path.unlink()

    def _load(self) -> None:
        with self.path.open("r+b") as handle:
            end = self._complete_length(handle)
            if end != handle.seek(0, 2):  # a killed run's half-written line: drop it
                self.cut_tail = True
                handle.truncate(end)
            handle.seek(0)
            offset = 0
            for line in handle:
                entry = self._parse(line)
                if entry is None:
                    self.skipped_lines += bool(line.strip())
                else:
                    self.offsets.setdefault(entry_key(entry), offset)  # the first reply wins
                offset += len(line)

    @staticmethod
    def _complete_length(handle: IO[bytes], block: int = 1 << 16) -> int:
        """The length of the file up to its last newline, reading backwards by blocks."""
        position = handle.seek(0, 2)
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            newline = handle.read(position - start).rfind(b"\n")
            if newline >= 0:
                return start + newline + 1
            position = start
        return 0

    @staticmethod
    def _parse(line: bytes) -> dict[str, Any] | None:
        try:
            entry = json.loads(line.decode("utf-8", errors="replace"))
            entry_key(entry)
        except (ValueError, KeyError, TypeError):
            return None
        return entry if isinstance(entry, dict) else None

    def __enter__(self) -> "ResponseStore":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a+b")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def get(self, key: Key) -> dict[str, Any] | None:
        """The stored entry of ``key``, read back from the file, or None."""
        offset = self.offsets.get(key)
        if offset is None:
            return None
        if self._handle is not None:
            self._handle.seek(offset)
            return self._parse(self._handle.readline())
        with self.path.open("rb") as handle:
            handle.seek(offset)
            return self._parse(handle.readline())

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry as a line and flush it (a kill loses at most the line being written)."""
        if self._handle is None:
            raise RuntimeError("open the store with 'with' before appending")
        offset = self._handle.seek(0, 2)
        self._handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        self._handle.flush()
        self.offsets.setdefault(entry_key(entry), offset)

    def __len__(self) -> int:
        return len(self.offsets)
