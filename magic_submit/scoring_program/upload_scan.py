"""The upload folder as the platform unpacked it, walked before anything reads it.

Nothing is followed or opened: every entry is seen with ``lstat`` (``os.scandir`` without
following links). The walk finds

* symbolic links, anywhere (``unzip`` restores the links a zip carries; followed, a link could
  read the reference or any file of the server): the upload is refused, each link named;
* the one extra folder the parts may sit in (``my_submission/masks_preds/``...): the parts are
  read there, with a warning saying where they belong (the official scorer would crash);
* stray entries beside the parts (``.DS_Store``, ``__MACOSX/``, notes, a second JSON): each
  named in a warning (a zip beside the parts is the validator's ``file-ignored``).

>>> import tempfile
>>> root = Path(tempfile.mkdtemp()); (root / "notes.txt").write_text("x")
1
>>> (root / "data_cvqa_sys.json").write_text("[]")
2
>>> scan = scan_upload(root)
>>> scan.root == root, scan.links, [p.file for p in scan.problems]
(True, [], ['notes.txt'])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from magic_submit import challenge as ch
from magic_submit.archive import is_system_file
from magic_submit.validation.problems import Problem

PARTS: tuple[str, ...] = (ch.MASKS_PRED_DIR, ch.CVQA_SUBMISSION_FILE)
MAX_ENTRIES = 100_000  # a walk longer than this stops: the upload is refused as too large
STRAY_FIX = (f"zip only {ch.MASKS_PRED_DIR}/ and {ch.CVQA_SUBMISSION_FILE}: cd FOLDER && zip -r -X "
             f"../submission.zip {ch.MASKS_PRED_DIR} {ch.CVQA_SUBMISSION_FILE} (-X: no macOS "
             "extras)")
LINK_FIX = ("zip the files themselves, not links: zip -r without -y (or python -m zipfile -c) "
            "stores each file's content")


@dataclass
class UploadScan:
    """What the walk found: where the parts are, the links, and the warnings about the layout."""

    root: Path  # the folder holding the parts: the upload, or its one enclosing folder
    links: list[str] = field(default_factory=list)  # upload-relative names, never followed
    problems: list[Problem] = field(default_factory=list)  # stray entries, the enclosing folder
    entries: int = 0

    @property
    def refused(self) -> list[Problem]:
        """The problems that stop the upload before anything reads it (links, an endless walk)."""
        return [p for p in self.problems if p.severity == "error"]


def _walk(folder: Path, prefix: str, scan: UploadScan) -> None:
    """Record every link under ``folder`` (names relative to the upload), never following one."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        scan.problems.append(Problem.of("upload-unreadable", f"a folder that cannot be listed "
                                        f"({error.strerror})", file=prefix or "."))
        return
    for entry in entries:
        scan.entries += 1
        if scan.entries > MAX_ENTRIES:
            return
        rel = f"{prefix}{entry.name}"
        if entry.is_symlink():
            scan.links.append(rel)
        elif entry.is_dir(follow_symlinks=False):
            _walk(Path(entry.path), f"{rel}/", scan)


def _what(path: Path) -> str:
    """``a file``, ``a folder of 3 entries``, ``a macOS system entry``... (no link followed)."""
    if is_system_file(path.name):
        return "a system entry (macOS or Windows clutter)"
    if path.is_dir() and not path.is_symlink():
        try:
            count = sum(1 for _ in os.scandir(path))
        except OSError:
            return "a folder that cannot be listed"
        return f"a folder of {count} entr{'y' if count == 1 else 'ies'}"
    return "a file"


def _enclosing(upload: Path) -> Path | None:
    """The one folder holding the parts, when the upload holds nothing else but clutter."""
    if any(os.path.lexists(upload / part) for part in PARTS):
        return None
    children = [c for c in upload.iterdir() if not is_system_file(c.name)]
    if len(children) != 1 or children[0].is_symlink() or not children[0].is_dir():
        return None
    inner = children[0]
    return inner if any(os.path.lexists(inner / part) for part in PARTS) else None


def _strays(folder: Path, prefix: str) -> list[Problem]:
    """Each entry of ``folder`` that is neither part nor a zip (the validator names zips)."""
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name in PARTS or (path.suffix.lower() == ".zip" and not path.is_dir()):
            continue
        name = f"{prefix}{path.name}{'/' if path.is_dir() else ''}"
        found.append(Problem.of(
            "file-ignored", f"{_what(path)}: the scorer reads only {ch.MASKS_PRED_DIR}/ and "
            f"{ch.CVQA_SUBMISSION_FILE}", file=name, hint=STRAY_FIX))
    return found


def scan_upload(upload: Path) -> UploadScan:
    """Walk the upload (no link followed); links and an overlong walk are errors."""
    upload = Path(upload)
    scan = UploadScan(upload)
    _walk(upload, "", scan)
    if scan.entries > MAX_ENTRIES:
        scan.problems.append(Problem.of("upload-unreadable", f"more than {MAX_ENTRIES} entries: "
                                        "not read", file=".",
                                        hint=f"zip only {ch.MASKS_PRED_DIR}/ and "
                                        f"{ch.CVQA_SUBMISSION_FILE}"))
    scan.problems.extend(Problem.of("zip-symlink", "a symbolic link: never followed, the upload "
                                    "is not read", file=link, hint=LINK_FIX)
                         for link in scan.links)
    if scan.refused:
        return scan
    inner = _enclosing(upload)
    if inner is not None:
        scan.root = inner
        scan.problems.append(Problem.of(
            "submission-enclosing-folder", f"{ch.MASKS_PRED_DIR}/ and {ch.CVQA_SUBMISSION_FILE} "
            f"are inside the folder '{inner.name}/': read there, but they belong at the top of "
            "the zip (the official scorer finds nothing and crashes)", file=f"{inner.name}/",
            hint=f"zip the contents, not the folder: cd {inner.name} && zip -r "
                 f"../submission.zip {ch.MASKS_PRED_DIR} {ch.CVQA_SUBMISSION_FILE}"))
        scan.problems.extend(p for p in _strays(upload, "") if p.file != f"{inner.name}/")
    scan.problems.extend(_strays(scan.root, "" if inner is None else f"{inner.name}/"))
    return scan
