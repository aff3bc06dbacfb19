"""Every text the participant sees (the log and the page) passes here: nothing unprintable, no
path of the server.

A file name that is not valid UTF-8 reaches Python as lone surrogates (``os.fsdecode``), which
no UTF-8 stream or file accepts: they are shown as ``\\xNN`` escapes, as are control characters
(a name could carry terminal escapes). The platform's folders are shown as placeholders
(``<upload>``, ``<reference>``...).

>>> printable("IMG_\\udcff.tiff\\x1b[2J")
'IMG_\\\\xff.tiff\\\\x1b[2J'
>>> redact = Redactor.of({Path("/app/input/res"): "<upload>"})
>>> redact("/app/input/res/masks_preds is a FIFO; /app/input/results stays")
'<upload>/masks_preds is a FIFO; /app/input/results stays'
>>> redact("masks_preds/app/input/res/x.tiff: a file")
'masks_preds/app/input/res/x.tiff: a file'
>>> redact('<img src="data:image/png;base64,AB/app/input/res/C=">')
'<img src="data:image/png;base64,AB/app/input/res/C=">'
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_UNPRINTABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f]")
_PATH_START = r"(?<![\w.~-])"  # a whole path: not the tail of a name (masks_preds/tmp/x)
_PATH_END = r"(?=[/\s'\"),:;\]]|$)"
_DATA_URI = re.compile(r"(data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=]*)")


def _escape(match: re.Match) -> str:
    code = ord(match[0])
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """``text`` with undecodable bytes and control characters (newline and tab kept) escaped."""
    return _UNPRINTABLE.sub(_escape, text)


@dataclass(frozen=True)
class Redactor:
    """Replaces each known folder of the server, however it is spelt, by its placeholder."""

    pattern: re.Pattern | None
    names: Mapping[str, str]

    @classmethod
    def of(cls, folders: Mapping[Path, str], *, for_html: bool = False) -> Redactor:
        names: dict[str, str] = {}
        for folder, name in folders.items():
            for spelling in {str(folder), os.path.abspath(folder), os.path.realpath(folder)}:
                spelling = spelling.rstrip("/") or "/"
                if spelling != "/":
                    key = html.escape(spelling) if for_html else spelling
                    names[key] = html.escape(name) if for_html else name
        if not names:
            return cls(None, {})
        alternatives = "|".join(re.escape(s) for s in sorted(names, key=len, reverse=True))
        return cls(re.compile(f"{_PATH_START}(?:{alternatives}){_PATH_END}"), names)

    def __call__(self, text: str) -> str:
        text = printable(text)
        if self.pattern is None:
            return text
        # Embedded pictures are left alone: base64 may spell a folder's name by chance.
        pieces = _DATA_URI.split(text)
        return "".join(piece if index % 2 else self.pattern.sub(lambda m: self.names[m[0]], piece)
                       for index, piece in enumerate(pieces))
