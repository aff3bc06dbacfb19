"""Zips are read safely: hostile entries are refused, nothing lands outside a private folder."""

from __future__ import annotations

import shutil
import stat
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magic_submit.archive import UnsafeZipError, ZipLimits, extract_zip
from magic_submit.validation import validate_submission
from submission_cases import CVQA, MASKS, validate_cli

VALID_CVQA = b"[]"


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Route temporary folders into an observable place."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def make_zip(path: Path, entries: list[tuple[str, bytes] | zipfile.ZipInfo | tuple]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as archive:
            for entry in entries:
                name, data, *mode = entry
                info = zipfile.ZipInfo(name)
                if mode:
                    info.external_attr = mode[0] << 16
                archive.writestr(info, data)
    return path


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


HOSTILE = {
    "parent path": ([(CVQA, VALID_CVQA), ("../escaped.txt", b"x")], "zip-parent-path"),
    "nested parent path": ([(CVQA, VALID_CVQA), (f"{MASKS}/../../escaped.txt", b"x")],
                           "zip-parent-path"),
    "backslash": ([(CVQA, VALID_CVQA), ("..\\escaped.txt", b"x")], "zip-unsafe-path"),
    "symlink": ([(CVQA, VALID_CVQA), (f"{MASKS}/link.tiff", b"/etc/passwd", stat.S_IFLNK | 0o777)],
                "zip-symlink"),
    "drive letter": ([(CVQA, VALID_CVQA), ("C:/escaped.txt", b"x")], "zip-absolute-path"),
    "same entry twice": ([(CVQA, VALID_CVQA), (CVQA, VALID_CVQA)], "zip-duplicate-entry"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_entry_is_refused_and_nothing_escapes(case: str, tmp_path: Path, private_tmp: Path,
                                                      sample_data: Path) -> None:
    entries, code = HOSTILE[case]
    archive = make_zip(tmp_path / "up.zip", entries)
    before = files_under(tmp_path)
    status, report = validate_cli(archive, sample_data)
    assert status == 1 and [p["code"] for p in report["errors"]] == [code]
    assert report["errors"][0]["file"] == str(archive)
    assert files_under(tmp_path) == before  # nothing written anywhere, the private folder removed
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_absolute_path_is_refused(tmp_path: Path, private_tmp: Path, sample_data: Path) -> None:
    target = tmp_path / "outside" / "abs.txt"
    archive = make_zip(tmp_path / "up.zip", [(CVQA, VALID_CVQA), (str(target), b"x")])
    status, report = validate_cli(archive, sample_data)
    assert status == 1 and report["errors"][0]["code"] == "zip-absolute-path"
    assert not target.exists() and files_under(private_tmp) == set()


def test_zip_bomb_is_refused_before_unpacking(tmp_path: Path, private_tmp: Path,
                                              sample_data: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr(CVQA, VALID_CVQA)
        with handle.open(f"{MASKS}/IMG_ENC00908_00001_mask_sys.tiff", "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range((ZipLimits().max_file_bytes >> 20) + 1):
                out.write(chunk)
    assert archive.stat().st_size < 2 << 20  # ~0.5 MB that would unpack to over 512 MB
    status, report = validate_cli(archive, sample_data)
    assert status == 1 and [p["code"] for p in report["errors"]] == ["zip-too-large"]
    assert files_under(private_tmp) == set()


def _lie_about_size(archive: Path, declared: int) -> None:
    """Rewrite the uncompressed size of every entry in the local and central headers."""
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset: start + offset + 4] = struct.pack("<I", declared)
            start += 4
    archive.write_bytes(bytes(data))


def test_lying_size_header_is_not_trusted(tmp_path: Path, private_tmp: Path) -> None:
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("big.bin", bytes(200_000))
    _lie_about_size(archive, 100)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeZipError) as caught:
        extract_zip(archive, dest, ZipLimits(max_total_bytes=1000, max_file_bytes=1000))
    assert caught.value.code in ("zip-corrupt", "zip-too-large")
    assert all(p.stat().st_size <= 1000 for p in dest.rglob("*") if p.is_file())


def test_entry_and_byte_limits(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", [(f"f{i}.txt", b"abc") for i in range(30)])
    for index, (limits, code) in enumerate(((ZipLimits(max_entries=10), "zip-too-many-entries"),
                                            (ZipLimits(max_total_bytes=50), "zip-too-large"),
                                            (ZipLimits(max_file_bytes=2), "zip-too-large"))):
        dest = tmp_path / f"dest{index}"
        dest.mkdir()
        with pytest.raises(UnsafeZipError) as caught:
            extract_zip(archive, dest, limits)
        assert caught.value.code == code and files_under(dest) == set()


def test_encrypted_entry_is_refused(tmp_path: Path, sample_data: Path) -> None:
    archive = make_zip(tmp_path / "enc.zip", [(CVQA, VALID_CVQA)])
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        data[start + offset] |= 1  # general purpose flag bit 0: encrypted
    archive.write_bytes(bytes(data))
    status, report = validate_cli(archive, sample_data)
    assert status == 1 and report["errors"][0]["code"] == "zip-encrypted"


@pytest.mark.parametrize("raw", [b"", b"PK\x03\x04 not really", b"\x00" * 100])
def test_unreadable_zip(raw: bytes, tmp_path: Path, sample_data: Path) -> None:
    archive = tmp_path / "bad.zip"
    archive.write_bytes(raw)
    status, report = validate_cli(archive, sample_data)
    assert status == 1 and report["errors"][0]["code"] == "zip-corrupt"


def test_truncated_zip(tmp_path: Path, sample_submission: Path, sample_data: Path) -> None:
    from builders import zip_folder

    archive = zip_folder(sample_submission, tmp_path / "full.zip")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    status, report = validate_cli(cut, sample_data)
    assert status == 1 and report["errors"][0]["code"] == "zip-corrupt"


def test_wrapped_folder_says_to_zip_the_contents(tmp_path: Path, sample_submission: Path,
                                                 sample_data: Path) -> None:
    from builders import zip_folder

    archive = zip_folder(sample_submission, tmp_path / "wrapped.zip", prefix="submission/")
    status, report = validate_cli(archive, sample_data)
    assert status == 1
    (problem,) = report["errors"]
    assert problem["code"] == "submission-wrapped-folder"
    assert "zip the contents, not the folder" in problem["hint"]


def test_zip_beside_the_parts_is_a_warning(tmp_path: Path, sample_submission: Path,
                                           sample_data: Path) -> None:
    from builders import zip_folder

    folder = Path(shutil.copytree(sample_submission, tmp_path / "upload"))
    zip_folder(sample_submission, folder / "old_submission.zip")
    status, report = validate_cli(folder, sample_data)
    assert status == 0 and report["errors"] == []
    (problem,) = report["warnings"]
    assert problem["code"] == "file-ignored" and problem["file"] == "old_submission.zip"


def test_macos_entries_are_ignored_with_a_note(tmp_path: Path, sample_submission: Path,
                                               sample_data: Path) -> None:
    entries = [(f"{MASKS}/{p.name}", p.read_bytes()) for p in (sample_submission / MASKS).iterdir()]
    entries += [(CVQA, (sample_submission / CVQA).read_bytes()),
                ("__MACOSX/._data_cvqa_sys.json", b"\0\5\26\7"), (f"{MASKS}/.DS_Store", b"\0"),
                (f"__MACOSX/{MASKS}/._IMG_ENC00908_00001_mask_sys.tiff", b"\0")]
    status, report = validate_cli(make_zip(tmp_path / "mac.zip", entries), sample_data)
    assert status == 0 and report["valid"] and report["warnings"] == []
    assert [p["code"] for p in report["notes"]] == ["zip-ignored-entries"]
    assert "3" in report["notes"][0]["message"]


names = st.lists(st.text(alphabet="ab./\\:_", min_size=1, max_size=12), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry_names=names)
def test_any_entry_names_stay_inside(entry_names: list[str], tmp_path: Path, private_tmp: Path,
                                     sample_data: Path) -> None:
    work = tmp_path / "fuzz"
    work.mkdir(exist_ok=True)
    archive = make_zip(work / "x.zip", [(n, b"1") for n in entry_names])
    outside = files_under(tmp_path)
    report = validate_submission(archive, sample_data / "test.json")
    assert not report.valid
    assert files_under(tmp_path) == outside and files_under(private_tmp) == set()
