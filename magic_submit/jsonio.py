"""Reading and writing the challenge's JSON files with errors that name the file and the fault."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from magic_submit.errors import MagicError
from magic_submit.files import MISSING, NotRegularFileError, describe, open_regular

UTF8_BOM = b"\xef\xbb\xbf"
_LONG_DIGITS = re.compile(r"\d{100,}")


def _int_limit() -> int:
    """Python's limit on the digits of ``int(str)`` (4300 by default since 3.11 and 3.10.7)."""
    return sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300


class JsonFileError(MagicError):
    """A JSON file that cannot be read as the official scorer reads it (``json.load``)."""


def read_json(path: str | Path, *, what: str = "JSON file") -> Any:
    """Parse ``path`` as UTF-8 JSON exactly as ``json.load(open(path))`` would, or raise clearly.

    ``what`` names the file's role in messages ("submission CVQA file"). Only a regular file is
    opened: a folder, a FIFO or a device is refused unopened (``open()`` of a FIFO would block).
    """
    path = Path(path)
    try:
        with open_regular(path) as handle:
            raw = handle.read()
    except NotRegularFileError as exc:
        if exc.kind == MISSING:
            raise JsonFileError(f"{what} not found", file=path, code="file-missing") from None
        raise JsonFileError(f"{what} is {describe(exc.kind)}, not a file: not opened", file=path,
                            code="not-a-file") from None
    except OSError as exc:
        raise JsonFileError(f"{what} cannot be read ({exc.strerror or exc})", file=path) from None
    return parse_json_bytes(raw, file=path, what=what)


def parse_json_bytes(raw: bytes, *, file: str | Path, what: str = "JSON file") -> Any:
    """Decode and parse bytes; the error says whether encoding, BOM or syntax is at fault."""
    if raw.startswith(UTF8_BOM):
        raise JsonFileError(f"{what} starts with a UTF-8 byte-order mark, which json.load rejects",
                            file=file, code="json-bom",
                            hint="save the file as UTF-8 without BOM (json.dump(..., open(f, 'w')))")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"{what} is not UTF-8 (byte {exc.start})", file=file,
                            code="json-encoding", hint="write the file as UTF-8") from None
    if not text.strip():
        raise JsonFileError(f"{what} is empty", file=file, code="json-empty",
                            hint="write a JSON list ([] when the subtask is skipped)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}", file=file, code="json-syntax",
                            hint="write it with json.dump") from None
    except RecursionError:
        raise JsonFileError(f"{what} nests too deeply to be read (json.load raises "
                            "RecursionError: the official scorer crashes)", file=file,
                            code="json-syntax") from None
    except ValueError:  # an integer beyond Python's digit limit for int(str)
        digits = max((len(m) for m in _LONG_DIGITS.findall(text)), default=0)
        raise JsonFileError(f"{what} holds an integer of {digits} digits: json.load refuses it "
                            f"(ValueError: Python's limit of {_int_limit()} digits), so the "
                            "official scorer crashes", file=file, code="json-syntax",
                            hint="write option indices as small ints (0 .. 11)") from None


def nan_to_none(value: Any) -> Any:
    """Replace float NaN/inf by None, recursively, for strict JSON (``null``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    return value


def dumps_strict(value: Any, *, indent: int | None = 2, ensure_ascii: bool = False) -> str:
    """JSON text with NaN written as ``null`` (``ensure_ascii``: non-ASCII characters escaped)."""
    return json.dumps(nan_to_none(value), indent=indent, ensure_ascii=ensure_ascii, allow_nan=False)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write a file through a temporary sibling and a rename: never a half-written file.

    An unwritable place (a file where a folder should be, no permission, a full disk) is a
    :class:`MagicError` naming the path.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise MagicError(f"cannot write here ({exc.strerror or exc})", file=path,
                         code="output-unwritable", hint="choose another output folder") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MagicError(f"cannot write here ({exc.strerror or exc})", file=path,
                         code="output-unwritable", hint="choose another output folder") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
