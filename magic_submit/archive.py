"""Safe extraction of an uploaded zip into a private folder.

Nothing is ever written outside the destination: absolute names, ``..`` components, drive letters
and symbolic links are refused; entry-count and size limits stop a zip bomb before it fills the
disk (sizes are counted while streaming, so a lying header does not help); ``__MACOSX/`` and
``.DS_Store`` are skipped with a note.
"""

from __future__ import annotations

import lzma
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from magic_submit.errors import MagicError

IGNORED_DIRS = ("__MACOSX",)
IGNORED_FILES = (".DS_Store", "Thumbs.db", "desktop.ini")
_CHUNK = 1 << 20


class UnsafeZipError(MagicError):
    """The archive is unreadable or hostile; nothing of it is used."""


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what one archive may unpack to (a test split's masks are ~1.3 GB at the most)."""

    max_entries: int = 20_000
    max_total_bytes: int = 4 << 30
    max_file_bytes: int = 512 << 20


def is_system_file(name: str) -> bool:
    """macOS/Windows clutter and hidden files: never part of a submission, ignored everywhere."""
    return name in IGNORED_FILES or name in IGNORED_DIRS or name.startswith(".")


@dataclass
class ZipExtraction:
    """What :func:`extract_zip` left out (system entries)."""

    skipped: list[str] = field(default_factory=list)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_parts(name: str, archive: Path) -> tuple[str, ...]:
    """The path components of an entry, or :class:`UnsafeZipError` if it would escape."""
    if "\\" in name:
        raise UnsafeZipError(f"entry {name!r} uses backslashes; it may be a Windows path",
                             file=archive, code="zip-unsafe-path",
                             hint="build the zip with forward-slash names (python -m zipfile -c)")
    pure = PurePosixPath(name)
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeZipError(f"entry {name!r} has an absolute path", file=archive,
                             code="zip-absolute-path", hint="zip relative paths only")
    if ".." in pure.parts:
        raise UnsafeZipError(f"entry {name!r} points outside the archive ('..')", file=archive,
                             code="zip-parent-path", hint="zip relative paths without '..'")
    return pure.parts  # "", "." and repeated slashes are gone: "./a//b/" is ("a", "b")


def _is_ignored(parts: tuple[str, ...]) -> bool:
    return any(p in IGNORED_DIRS for p in parts[:-1]) or parts[-1] in IGNORED_FILES or (
        parts[0] in IGNORED_DIRS)


def extract_zip(archive: str | Path, destination: str | Path,
                limits: ZipLimits = ZipLimits()) -> ZipExtraction:
    """Extract ``archive`` into the existing folder ``destination``, checking every entry first."""
    archive, destination = Path(archive), Path(destination)
    result = ZipExtraction()
    try:
        handle = zipfile.ZipFile(archive)
    except FileNotFoundError:
        raise UnsafeZipError("zip file not found", file=archive, code="zip-missing") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeZipError(f"not a readable zip ({exc})", file=archive, code="zip-corrupt",
                             hint="re-create the zip; check the upload finished") from None
    with handle:
        infos = handle.infolist()
        if len(infos) > limits.max_entries:
            raise UnsafeZipError(f"{len(infos)} entries exceed the limit of {limits.max_entries}",
                                 file=archive, code="zip-too-many-entries")
        plan: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
        folders: list[tuple[str, ...]] = []
        declared = 0
        for info in infos:
            parts = _safe_parts(info.filename, archive)
            if not parts:
                continue
            if _is_symlink(info):
                raise UnsafeZipError(f"entry {info.filename!r} is a symbolic link", file=archive,
                                     code="zip-symlink", hint="zip the files themselves, not links")
            if _is_ignored(parts):
                result.skipped.append(info.filename)
                continue
            if info.is_dir():  # kept: an empty masks_preds/ is a submission part (scored 0.0)
                folders.append(parts)
                continue
            if info.flag_bits & 0x1:
                raise UnsafeZipError(f"entry {info.filename!r} is encrypted", file=archive,
                                     code="zip-encrypted", hint="zip without a password")
            declared += info.file_size
            if info.file_size > limits.max_file_bytes or declared > limits.max_total_bytes:
                raise UnsafeZipError("the archive unpacks to more than the size limit (zip bomb?)",
                                     file=archive, code="zip-too-large")
            plan.append((info, parts))
        written = 0
        root = destination.resolve()
        for parts in folders:
            try:
                root.joinpath(*parts).mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # before any file: the name itself (too long, say) or the disk
                raise UnsafeZipError(f"folder entry {'/'.join(parts)!r} cannot be created ({exc})",
                                     file=archive, code="zip-corrupt") from None
        for info, parts in plan:
            target = root.joinpath(*parts)
            if root not in target.resolve().parents:
                raise UnsafeZipError(f"entry {info.filename!r} escapes the folder", file=archive,
                                     code="zip-parent-path")
            file_bytes = 0
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with handle.open(info) as src, open(target, "xb") as dst:
                    while chunk := src.read(_CHUNK):
                        file_bytes += len(chunk)
                        written += len(chunk)
                        if file_bytes > limits.max_file_bytes or written > limits.max_total_bytes:
                            raise UnsafeZipError("the archive unpacks to more than the size limit "
                                                 "(zip bomb?)", file=archive, code="zip-too-large")
                        dst.write(chunk)
            except FileExistsError:
                raise UnsafeZipError(f"entry {info.filename!r} appears twice", file=archive,
                                     code="zip-duplicate-entry") from None
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError,
                    zlib.error, lzma.LZMAError) as exc:  # a damaged stream raises zlib.error
                raise UnsafeZipError(f"entry {info.filename!r} cannot be extracted ({exc})",
                                     file=archive, code="zip-corrupt",
                                     hint="re-create the zip with standard deflate compression"
                                     ) from None
    return result
