"""What a path is, found without opening it, and a way to open regular files that never blocks.

A FIFO or a device named like a mask or a JSON file must never be opened blindly: ``open()`` of a
FIFO waits for a writer forever, and a device (``/dev/zero``, a terminal) may never end or wait for
input. The official scorer opens whatever its ``glob`` or its fixed path names; each kind's
:data:`OFFICIAL_OUTCOME` says what then happens to it, so messages can say so truly.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> entry_kind(folder), entry_kind(folder / "absent"), describe(FOLDER)
('folder', 'missing', 'a folder')
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from magic_submit.challenge import MASKS_PRED_DIR

FILE, FOLDER, FIFO, DEVICE, SOCKET, BROKEN_LINK, MISSING, UNREACHABLE = (
    "file", "folder", "FIFO", "device", "socket", "broken link", "missing", "unreachable")

_DESCRIPTIONS = {
    FILE: "a file",
    FOLDER: "a folder",
    FIFO: "a FIFO (named pipe)",
    DEVICE: "a device file",
    SOCKET: "a socket",
    BROKEN_LINK: "a broken symbolic link",
    MISSING: "absent",
    UNREACHABLE: "not reachable (permission or link loop)",
}

# What the official scorer does when it opens an entry of each kind (checked by running it).
OFFICIAL_OUTCOME = {
    FOLDER: "crashes (IsADirectoryError)",
    FIFO: "hangs: opening a FIFO waits for a writer forever",
    DEVICE: "reads the device: it hangs or crashes, depending on the device",
    SOCKET: "crashes (OSError: no such device or address)",
    BROKEN_LINK: "crashes (FileNotFoundError)",
    MISSING: "crashes (FileNotFoundError)",
    UNREACHABLE: "crashes (OSError)",
}


def entry_kind(path: str | Path) -> str:
    """The kind of ``path`` (symbolic links followed), from ``stat`` only: nothing is opened."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return BROKEN_LINK if os.path.islink(path) else MISSING
    except (OSError, ValueError):  # ELOOP, EACCES on a parent, a NUL byte in the name
        return UNREACHABLE
    if stat.S_ISREG(mode):
        return FILE
    if stat.S_ISDIR(mode):
        return FOLDER
    if stat.S_ISFIFO(mode):
        return FIFO
    if stat.S_ISSOCK(mode):
        return SOCKET
    return DEVICE  # character or block device (or anything else that is not a file)


def official_effect(kind: str) -> str:
    """``"the official scorer hangs: ..."``: what the official scorer does opening such an entry."""
    return f"the official scorer {OFFICIAL_OUTCOME[kind]}"


def masks_not_folder(kind: str) -> str:
    """What a ``masks_preds`` entry of this kind (not a folder) means on the platform."""
    return (f"{MASKS_PRED_DIR} is {describe(kind)}, not a folder: the official scorer finds no mask in "
            "it and scores segmentation 0.0")


def describe(kind: str) -> str:
    """``"a FIFO (named pipe)"``, ``"a folder"``... for messages."""
    return _DESCRIPTIONS.get(kind, kind)


class NotRegularFileError(OSError):
    """``path`` is not a regular file (``kind`` says what it is); it was not opened for reading."""

    def __init__(self, path: str | Path, kind: str) -> None:
        super().__init__(f"{path} is {describe(kind)}")
        self.path = Path(path)
        self.kind = kind


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for binary reading; anything else raises :class:`NotRegularFileError`.

    The kind is checked before opening (a device is never opened) and again on the open
    descriptor (``O_NONBLOCK``: even a FIFO swapped in meanwhile cannot block).
    """
    kind = entry_kind(path)
    if kind != FILE:
        raise NotRegularFileError(path, kind)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(path, entry_kind(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
