"""Writing output files atomically and unpacking uploads safely: modes, places, every error whole."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from magic_submit.archive import UnsafeZipError, ZipLimits, extract_zip
from magic_submit.errors import MagicError
from magic_submit.jsonio import parse_json_bytes, write_atomic
from magic_submit.submission import locate_submission_parts, open_reference


# ---- write_atomic -------------------------------------------------------------------------------

def test_text_and_bytes_land_whole_with_the_usual_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a" / "b" / "scores.json", "é")
        write_atomic(tmp_path / "raw.bin", b"\x00\xff")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "b" / "scores.json").read_bytes() == "é".encode("utf-8")
    assert (tmp_path / "raw.bin").read_bytes() == b"\x00\xff"
    assert (tmp_path / "raw.bin").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "raw.bin"]  # no temporary left


def test_the_temporary_is_a_hidden_sibling_renamed_into_place(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    renamed = []
    real_replace = os.replace

    def spy(src, dst):
        renamed.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_atomic(tmp_path / "scores.json", "{}")
    ((src, dst),) = renamed
    assert dst == tmp_path / "scores.json" and src.parent == tmp_path
    assert src.name.startswith(".scores.json.")


def test_a_failed_rename_leaves_nothing_and_names_the_path(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(MagicError) as info:
        write_atomic(tmp_path / "scores.json", "{}")
    assert info.value.to_dict() == {"code": "output-unwritable", "file": str(tmp_path / "scores.json"),
                                    "ids": [], "message": "cannot write here (No space left on "
                                                          "device)",
                                    "hint": "choose another output folder"}
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "chmod", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "scores.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(MagicError) as info:
        write_atomic(tmp_path / "taken" / "scores.json", "{}")
    error = info.value
    assert (error.code, error.file, error.hint) == ("output-unwritable",
                                                    str(tmp_path / "taken" / "scores.json"),
                                                    "choose another output folder")
    assert error.message in ("cannot write here (File exists)", "cannot write here (Not a directory)")


def test_the_digit_limit_named_is_the_interpreters(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: 5000)
    with pytest.raises(MagicError) as info:
        parse_json_bytes(b"[" + b"1" * 4400 + b"]", file="f.json")
    assert "(ValueError: Python's limit of 5000 digits)" in info.value.message


# ---- extract_zip --------------------------------------------------------------------------------

def make_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), b"x")
    return path


@pytest.mark.parametrize("name, code, message, hint", [
    ("..\\x.json", "zip-unsafe-path", "entry '..\\\\x.json' uses backslashes; it may be a Windows "
                                      "path", "build the zip with forward-slash names (python -m "
                                              "zipfile -c)"),
    ("/etc/x", "zip-absolute-path", "entry '/etc/x' has an absolute path", "zip relative paths only"),
    ("C:/x", "zip-absolute-path", "entry 'C:/x' has an absolute path", "zip relative paths only"),
    ("masks_preds/../x", "zip-parent-path", "entry 'masks_preds/../x' points outside the archive "
                                            "('..')", "zip relative paths without '..'"),
])
def test_hostile_names_are_refused_whole(tmp_path: Path, name: str, code: str, message: str,
                                         hint: str) -> None:
    archive = make_zip(tmp_path / "s.zip", ["ok.json", name])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafeZipError) as info:
        extract_zip(archive, out)
    assert info.value.to_dict() == {"code": code, "file": str(archive), "ids": [],
                                    "message": message, "hint": hint}
    assert list(out.iterdir()) == []  # checked before anything is written


def test_unreadable_archives_are_named(tmp_path: Path) -> None:
    with pytest.raises(UnsafeZipError) as info:
        extract_zip(tmp_path / "none.zip", tmp_path)
    assert info.value.to_dict() == {"code": "zip-missing", "file": str(tmp_path / "none.zip"),
                                    "ids": [], "message": "zip file not found", "hint": None}
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UnsafeZipError) as info:
        extract_zip(tmp_path / "bad.zip", tmp_path)
    assert (info.value.code, info.value.file, info.value.hint) == (
        "zip-corrupt", str(tmp_path / "bad.zip"), "re-create the zip; check the upload finished")
    assert info.value.message == "not a readable zip (File is not a zip file)"


def test_system_folders_deep_in_a_path_are_skipped(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", ["masks_preds/a/__MACOSX/x.tiff", "masks_preds/y.tiff",
                                            "__MACOSX", "./", "masks_preds/./z.tiff"])
    out = tmp_path / "out"
    out.mkdir()
    result = extract_zip(archive, out)
    assert result.skipped == ["masks_preds/a/__MACOSX/x.tiff", "__MACOSX"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "masks_preds", "masks_preds/y.tiff", "masks_preds/z.tiff"]


# ---- opening ------------------------------------------------------------------------------------

def test_two_top_folders_are_no_wrapped_folder(tmp_path: Path) -> None:
    for team in ("team_a", "team_b"):
        (tmp_path / team / "masks_preds").mkdir(parents=True)
    with pytest.raises(MagicError) as info:
        locate_submission_parts(tmp_path, tmp_path, is_zip=True)
    assert info.value.message.startswith("neither masks_preds/ nor data_cvqa_sys.json found")


def test_reference_errors_name_the_folder_and_every_place_looked(tmp_path: Path) -> None:
    with pytest.raises(MagicError) as info:
        open_reference(tmp_path / "absent", "test")
    assert info.value.file == str(tmp_path / "absent")
    with pytest.raises(MagicError) as info:
        open_reference(tmp_path, "valid")
    looked = info.value.message.split("(looked for ")[1].rstrip(")").split(", ")
    assert len(looked) >= 2 and all(p.startswith(str(tmp_path)) for p in looked)


def test_the_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        write_atomic(tmp_path / "shared.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.json").stat().st_mode & 0o777 == 0o664


def test_archive_limits_and_refusals_whole(tmp_path: Path) -> None:
    import stat

    def refused(entries: list, limits: ZipLimits = ZipLimits(), flag: int = 0) -> dict:
        archive = tmp_path / f"z{len(list(tmp_path.iterdir()))}.zip"
        with zipfile.ZipFile(archive, "w") as handle:
            for name, data, *mode in entries:
                info = zipfile.ZipInfo(name)
                if mode:
                    info.external_attr = mode[0] << 16
                handle.writestr(info, data)
        if flag:
            raw = bytearray(archive.read_bytes())
            for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
                raw[raw.find(signature) + offset] |= flag
            archive.write_bytes(bytes(raw))
        out = tmp_path / (archive.stem + "_out")
        result = _zip_error(archive, out, limits)
        assert list(out.iterdir()) == []
        return result

    assert refused([("a", b"1"), ("b", b"2")], ZipLimits(max_entries=1)) == {
        "code": "zip-too-many-entries", "message": "2 entries exceed the limit of 1", "hint": None}
    assert refused([("link", b"/etc/passwd", stat.S_IFLNK | 0o777)]) == {
        "code": "zip-symlink", "message": "entry 'link' is a symbolic link",
        "hint": "zip the files themselves, not links"}
    assert refused([("a.json", b"[]")], flag=1) == {
        "code": "zip-encrypted", "message": "entry 'a.json' is encrypted",
        "hint": "zip without a password"}
    assert refused([("a", b"12345")], ZipLimits(max_file_bytes=4)) == {
        "code": "zip-too-large", "hint": None,
        "message": "the archive unpacks to more than the size limit (zip bomb?)"}
    # A folder entry the system cannot create (here a 300-character name) is a zip that cannot
    # be unpacked, as a file entry of such a name is; not "an entry stored twice".
    too_long = refused([("x" * 300 + "/", b"")])
    assert (too_long["code"], too_long["hint"]) == ("zip-corrupt", None)
    assert too_long["message"].startswith(f"folder entry {'x' * 300!r} cannot be created ([Errno ")
    assert refused([("y" * 300, b"1")])["code"] == "zip-corrupt"


def test_folders_come_in_any_order_and_files_find_their_parents(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(zipfile.ZipInfo("masks_preds/sub/"), b"")
        handle.writestr(zipfile.ZipInfo("masks_preds/"), b"")
        handle.writestr("masks_preds/deep/er/x.tiff", b"x")
    out = tmp_path / "out"
    out.mkdir()
    extract_zip(archive, out)
    assert (out / "masks_preds" / "deep" / "er" / "x.tiff").read_bytes() == b"x"
    assert (out / "masks_preds" / "sub").is_dir()


def _zip_error(archive: Path, out: Path, limits: ZipLimits = ZipLimits()) -> dict:
    """The refusal of ``archive`` unpacked into ``out`` (made here), less its file (checked: the
    archive) and ids (checked: none)."""
    out.mkdir(exist_ok=True)
    with pytest.raises(UnsafeZipError) as info:
        extract_zip(archive, out, limits)
    result = info.value.to_dict()
    assert result.pop("file") == str(archive) and result.pop("ids") == []
    return result


def test_streams_longer_than_declared_are_cut_at_the_limits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries that unpack to more than their headers say (zipfile itself stops at the declared
    size; this stands in for a reader that does not) are counted as they stream, in 2-byte
    pieces here: per file and in total."""
    import magic_submit.archive as archive_module

    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a", b"1")
        handle.writestr("b", b"2")
    actual = {"a": bytes(4), "b": bytes(4)}
    monkeypatch.setattr(archive_module, "_CHUNK", 2)
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, info, *args, **kwargs: io.BytesIO(actual[info.filename]))
    too_large = {"code": "zip-too-large", "hint": None,
                 "message": "the archive unpacks to more than the size limit (zip bomb?)"}
    # 4 bytes in one file against 3 allowed per file (a total of 100).
    assert _zip_error(archive, tmp_path / "o1", ZipLimits(max_file_bytes=3)) == too_large
    # 4 + 4 bytes against 6 in total, each file within its 5.
    assert _zip_error(archive, tmp_path / "o2",
                      ZipLimits(max_file_bytes=5, max_total_bytes=6)) == too_large
    out = tmp_path / "o3"  # exactly at both limits: unpacked
    out.mkdir()
    extract_zip(archive, out, ZipLimits(max_file_bytes=4, max_total_bytes=8))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == actual


class _EndlessStream(io.RawIOBase):
    """An entry stream that never ends (a bomb whose header lies): only bounded reads answer."""

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("an unbounded read of an endless stream never returns")
        return bytes(size)


def test_an_endless_stream_is_read_in_bounded_pieces_and_cut(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a", b"1")
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: _EndlessStream())
    assert _zip_error(archive, tmp_path / "o", ZipLimits(max_file_bytes=5 << 20)) == {
        "code": "zip-too-large", "hint": None,
        "message": "the archive unpacks to more than the size limit (zip bomb?)"}


def test_unpacking_refusals_name_the_entry_whole(tmp_path: Path) -> None:
    twice = tmp_path / "twice.zip"
    with zipfile.ZipFile(twice, "w") as handle, pytest.warns(UserWarning, match="Duplicate name"):
        handle.writestr("a.json", b"1")
        handle.writestr("a.json", b"2")
    assert _zip_error(twice, tmp_path / "o1") == {
        "code": "zip-duplicate-entry", "message": "entry 'a.json' appears twice", "hint": None}
    # A folder entry of two levels that cannot be created: its name is given with its slash.
    deep = tmp_path / "deep.zip"
    with zipfile.ZipFile(deep, "w") as handle:
        handle.writestr(zipfile.ZipInfo("a/" + "x" * 300 + "/"), b"")
    error = _zip_error(deep, tmp_path / "o2")
    assert error["message"].startswith(f"folder entry {'a/' + 'x' * 300!r} cannot be created (")
    # A damaged deflate stream: the entry, and how to make a zip that can be read.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("data_cvqa_sys.json", b"[" + b"1," * 500 + b"1]")
    raw = bytearray(broken.read_bytes())
    start = raw.find(b"data_cvqa_sys.json") + len("data_cvqa_sys.json")
    raw[start + 2: start + 12] = b"\xff" * 10
    broken.write_bytes(bytes(raw))
    error = _zip_error(broken, tmp_path / "o3")
    assert (error["code"], error["hint"]) == ("zip-corrupt", "re-create the zip with standard "
                                              "deflate compression")
    assert error["message"].startswith("entry 'data_cvqa_sys.json' cannot be extracted (")


def test_an_entry_led_outside_by_a_link_in_the_destination_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "masks_preds").symlink_to(outside, target_is_directory=True)
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("masks_preds/x.tiff", b"x")
    assert _zip_error(archive, out) == {"code": "zip-parent-path", "hint": None,
                                        "message": "entry 'masks_preds/x.tiff' escapes the folder"}
    assert list(outside.iterdir()) == []


def test_entry_names_lose_dots_and_doubled_slashes(tmp_path: Path) -> None:
    from magic_submit.archive import _safe_parts

    assert _safe_parts("./masks_preds//a.tiff", tmp_path) == ("masks_preds", "a.tiff")
    assert _safe_parts("masks_preds/./", tmp_path) == ("masks_preds",)
    assert _safe_parts(".", tmp_path) == ()
