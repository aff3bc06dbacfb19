"""File names and readers as the official scorer reads them, checked on cases written out by hand.

The official ``read_maskfns`` splits a name at every ``_mask_``: the image id is the first piece,
the labeler the last with every ``.tiff`` removed; only ``glob('*.tiff')`` is seen. The
organisers' ``score_cvqa.py`` cuts ``encounter_id`` at its first ``-`` and reads
every 11-character key of every record.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from magic_submit.archive import ZipLimits, UnsafeZipError, extract_zip, is_system_file
from magic_submit.dataset import Encounter
from magic_submit.errors import MagicError
from magic_submit.jsonio import JsonFileError, dumps_strict, nan_to_none, parse_json_bytes, read_json
from magic_submit.mask_index import index_masks
from magic_submit.naming import (
    image_id_from_file, is_scanned_mask_name, mask_file_name, parse_mask_file_name,
)
from magic_submit.submission import open_submission
from magic_submit.validation.cvqa_check import check_records, suggest_qid
from magic_submit.validation.mask_names import intended_image_id, name_problem
from magic_submit.validation.targets import SplitTargets

ID = "IMG_ENC00908_00001"
KNOWN = {ID, "IMG_ENC00908_00002"}


# ---- mask names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, read_as", [
    (f"{ID}_mask_sys.tiff", (ID, "sys")),
    (f"{ID}_mask_mask_sys.tiff", (ID, "mask_sys")),  # the classic double _mask_
    (f"{ID}_mask_ann0_mask_sys.tiff", (ID, "sys")),  # first piece, last piece
    (f"{ID}_mask_sys_mask_ann2.tiff", (ID, "ann2")),
    (f"{ID}_mask_sys.tiff.tiff", (ID, "sys")),  # every .tiff removed
    (f"{ID}.tiff", (f"{ID}.tiff", ID)),  # no _mask_: the whole name, and it without .tiff
    (f"{ID}_mask_.tiff", (ID, "")),
])
def test_names_split_as_the_official_scorer_splits_them(name: str, read_as: tuple) -> None:
    assert parse_mask_file_name(name) == read_as


def test_which_names_the_glob_sees() -> None:
    assert is_scanned_mask_name(f"{ID}_mask_sys.tiff")
    assert not is_scanned_mask_name(f".{ID}_mask_sys.tiff")  # hidden: glob('*') skips it
    for name in (f"{ID}_mask_sys.tif", f"{ID}_mask_sys.TIFF", f"{ID}_mask_sys.tiff.png"):
        assert not is_scanned_mask_name(name)
    assert mask_file_name(ID, "ann3") == f"{ID}_mask_ann3.tiff"
    assert image_id_from_file(f"photos/{ID}.jpg") == ID
    assert image_id_from_file(f"{ID}.v2.png") == f"{ID}.v2"
    assert image_id_from_file(ID) == ID


def test_index_keys_by_labeler_and_image_and_keeps_both_of_a_duplicate(tmp_path: Path) -> None:
    for name in (f"{ID}_mask_ann0.tiff", f"{ID}_mask_ann1.tiff", f"{ID}_mask_sys.tiff",
                 f"{ID}_mask_sys.tiff.tiff", f"{ID}_mask_mask_sys.tiff", "notes.txt",
                 f".{ID}_mask_ann2.tiff"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f"{ID}_mask_ann3.tiff").write_bytes(b"")
    index = index_masks(tmp_path)
    assert sorted(index.by_labeler) == ["ann0", "ann1", "mask_sys", "sys"]
    assert index.by_labeler["ann1"] == {ID: tmp_path / f"{ID}_mask_ann1.tiff"}
    # Sorted listing: X_mask_sys.tiff, then X_mask_sys.tiff.tiff, which is kept (the last wins).
    assert index.by_labeler["sys"][ID] == tmp_path / f"{ID}_mask_sys.tiff.tiff"
    assert index.duplicates == {"sys": [(tmp_path / f"{ID}_mask_sys.tiff",
                                         tmp_path / f"{ID}_mask_sys.tiff.tiff")]}
    assert index.image_ids == {ID}
    assert index_masks(tmp_path / "nowhere").by_labeler == {}
    assert index_masks(tmp_path / "notes.txt").image_ids == set()


@pytest.mark.parametrize("name, code", [
    (f"{ID}_mask_mask_sys.tiff", "mask-name-double-mask"),
    (f"{ID}_mask_pred_sys.tiff", "mask-name-double-mask"),  # read as the suffix 'pred_sys'
    (f"{ID}_mask_pred.tiff", "mask-wrong-suffix"),
    (f"{ID}.jpg_mask_sys.tiff", "mask-name-image-extension"),
    (f"{ID}_v2_mask_sys.tiff", "mask-name-format"),
    (f"{ID}-x_mask_sys.tiff", "file-ignored"),  # read as an image id outside the split
    (f"{ID}.tiff", "mask-name-format"),
    (f"{ID}_mask_sys.tif", "mask-extension"),
    (f"{ID}.png", "mask-extension"),
    ("IMG_ENC00999_00001_mask_sys.tiff", "mask-extra-image"),
    ("mask_sys.tiff", "file-ignored"),
    ("readme.txt", "file-ignored"),
])
def test_a_wrong_name_is_traced_to_its_image(name: str, code: str) -> None:
    intended, found, message = name_problem(name, KNOWN, "sys")
    assert found == code
    if code in ("mask-extra-image",):
        assert intended == "IMG_ENC00999_00001"
    elif code == "file-ignored":
        assert intended is None
    else:
        assert intended == ID and message.endswith(f"expected {ID}_mask_sys.tiff")


def test_double_mask_names_the_suffix_read() -> None:
    _, code, message = name_problem(f"{ID}_mask_mask_sys.tiff", KNOWN, "sys")
    assert code == "mask-name-double-mask"
    assert message == f"the scorer reads the suffix 'mask_sys'; expected {ID}_mask_sys.tiff"
    # Another team suffix doubled the same way.
    assert name_problem(f"{ID}_mask_mask_t1.tiff", KNOWN, "t1")[1] == "mask-name-double-mask"
    assert name_problem(f"{ID}_mask_x_t1.tiff", KNOWN, "t1")[1] == "mask-name-double-mask"
    assert name_problem(f"{ID}_mask_xt1.tiff", KNOWN, "t1")[1] == "mask-wrong-suffix"


def test_intended_image_of_odd_names() -> None:
    assert intended_image_id(f"{ID}_prob.png", KNOWN) == ID  # the id prefix
    assert intended_image_id(f"{ID}_mask_sys.tiff", KNOWN) == ID
    assert intended_image_id(f"{ID}.jpg", KNOWN) == ID
    assert intended_image_id("IMG_ENC00908_00003.png", KNOWN) is None
    assert intended_image_id("mask.tiff", KNOWN) is None


# ---- a folder of annotator masks is a reference, not a submission ------------------------------

def test_annotator_masks_given_as_a_submission_are_named(tmp_path: Path) -> None:
    (tmp_path / f"{ID}_mask_ann1.tiff").write_bytes(b"")
    (tmp_path / f"{ID}_mask_ann2.tiff").write_bytes(b"")
    with pytest.raises(MagicError) as info:
        with open_submission(tmp_path):
            pass
    assert info.value.code == "submission-no-parts"
    assert "this is a reference, not a submission: 2 annotator mask(s)" in info.value.message
    system = tmp_path / "system"
    system.mkdir()
    (system / f"{ID}_mask_sys.tiff").write_bytes(b"")  # a prediction at the root: not a reference
    with pytest.raises(MagicError) as info:
        with open_submission(system):
            pass
    assert "mask files lie at the root" in info.value.message


# ---- zips: folder entries are kept, system entries skipped -------------------------------------

def zip_of(path: Path, entries: dict[str, bytes | None]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            if data is None:  # a folder entry, as `zip -r` writes it
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return path


def test_folder_entries_of_a_zip_listing_are_kept(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "s.zip", {"masks_preds/": None, "masks_preds/deep/": None,
                                          "data_cvqa_sys.json": b"[]", "__MACOSX/": None,
                                          "__MACOSX/._x": b"\0", "masks_preds/.DS_Store": b"\0"})
    out = tmp_path / "out"
    out.mkdir()
    result = extract_zip(archive, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "data_cvqa_sys.json", "masks_preds", "masks_preds/deep"]
    assert sorted(result.skipped) == ["__MACOSX/", "__MACOSX/._x", "masks_preds/.DS_Store"]
    with open_submission(archive) as sub:
        assert sub.masks_dir is not None and sub.masks_kind == "folder"
        assert sub.notes == ["ignored 3 macOS/system entries (__MACOSX/, .DS_Store)"]


def test_zip_limits_at_and_beyond(tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "s.zip", {"a": b"12345", "b": b"123"})
    for limits in (ZipLimits(max_entries=2), ZipLimits(max_file_bytes=5),
                   ZipLimits(max_total_bytes=8)):
        out = tmp_path / f"ok{limits.max_entries}{limits.max_file_bytes}{limits.max_total_bytes}"
        out.mkdir()
        extract_zip(archive, out, limits)
        assert (out / "a").read_bytes() == b"12345" and (out / "b").read_bytes() == b"123"
    for limits, code in ((ZipLimits(max_entries=1), "zip-too-many-entries"),
                         (ZipLimits(max_file_bytes=4), "zip-too-large"),
                         (ZipLimits(max_total_bytes=7), "zip-too-large")):
        out = tmp_path / f"no{limits.max_entries}{limits.max_file_bytes}{limits.max_total_bytes}"
        out.mkdir()
        with pytest.raises(UnsafeZipError) as info:
            extract_zip(archive, out, limits)
        assert info.value.code == code and list(out.iterdir()) == []


def test_system_file_names() -> None:
    for name in (".DS_Store", "Thumbs.db", "desktop.ini", "__MACOSX", "._x.tiff", ".hidden"):
        assert is_system_file(name)
    for name in ("masks_preds", "x.tiff", "data_cvqa_sys.json", "_x"):
        assert not is_system_file(name)


# ---- CVQA records: values under suffixed ids are read ------------------------------------------

TARGETS = SplitTargets.build([Encounter("ENC00001", ())], "split")  # full_record's encounter


def test_values_under_a_suffixed_id_are_checked() -> None:
    from test_validator_limits import full_record

    record = {**full_record(), "encounter_id": "ENC00001-2", "CQID010-001": "2"}
    found = check_records([record], TARGETS)[0]
    assert sorted((p.code, p.encounter_id) for p in found) == [
        ("cvqa-encounter-suffix", "ENC00001"), ("cvqa-value-type", "ENC00001")]
    assert check_records([record], TARGETS)[1] == 1  # the cut id answers the split encounter
    split = [full_record(), {"encounter_id": "ENC00001-2", "CQID034-001": 12}]
    codes = sorted(p.code for p in check_records(split, TARGETS)[0])
    assert codes == ["cvqa-duplicate-encounter", "cvqa-encounter-suffix", "cvqa-value-range"]


def test_values_outside_the_split_are_not_read_but_keys_are() -> None:
    from test_validator_limits import full_record

    extra = {"encounter_id": "ENC00999", "CQID010-001": "2", "CQID10-1": 1}
    found = check_records([full_record(), extra], TARGETS)[0]
    assert sorted(p.code for p in found) == ["cvqa-extra-encounter", "cvqa-ignored-key"]


def test_loose_keys_are_matched_to_qids() -> None:
    assert suggest_qid("cqid10-1") == "CQID010-001"
    assert suggest_qid(" CQID011_002 ") == "CQID011-002"
    assert suggest_qid("CQID11 6") == "CQID011-006"
    assert suggest_qid("CQID11-7") is None  # CQID011 has 6 slots
    assert suggest_qid("question 1") is None


# ---- JSON files: read as json.load reads them --------------------------------------------------

_BOM_HINT = "save the file as UTF-8 without BOM (json.dump(..., open(f, 'w')))"
_EMPTY_HINT = "write a JSON list ([] when the subtask is skipped)"
_DIGITS_MESSAGE = ("CVQA file holds an integer of 5000 digits: json.load refuses it (ValueError: "
                   "Python's limit of 4300 digits), so the official scorer crashes")


@pytest.mark.parametrize("raw, code, message, hint", [
    (b"\xef\xbb\xbf[]", "json-bom",
     "CVQA file starts with a UTF-8 byte-order mark, which json.load rejects", _BOM_HINT),
    (b"[\"\xe9\"]", "json-encoding", "CVQA file is not UTF-8 (byte 2)", "write the file as UTF-8"),
    (b"", "json-empty", "CVQA file is empty", _EMPTY_HINT),
    (b" \n\t", "json-empty", "CVQA file is empty", _EMPTY_HINT),
    (b"[1 2]", "json-syntax", "CVQA file is not valid JSON: Expecting ',' delimiter at line 1 "
     "column 4", "write it with json.dump"),
    (b"[" * 100_000 + b"]" * 100_000, "json-syntax", "CVQA file nests too deeply to be read "
     "(json.load raises RecursionError: the official scorer crashes)", None),
    (b"[" + b"9" * 5000 + b"]", "json-syntax", _DIGITS_MESSAGE,
     "write option indices as small ints (0 .. 11)"),
])
def test_json_bytes_that_json_load_refuses(raw: bytes, code: str, message: str,
                                           hint: str | None) -> None:
    """Each refusal compared whole: its code, message, file and hint (not only a prefix)."""
    with pytest.raises(JsonFileError) as info:
        parse_json_bytes(raw, file="f.json", what="CVQA file")
    error = info.value
    assert (error.code, error.message, error.file, error.hint) == (code, message, "f.json", hint)


def test_json_messages_name_the_place_of_the_fault() -> None:
    with pytest.raises(JsonFileError) as info:
        parse_json_bytes(b'[\n  {"a": 1,}\n]', file="f.json")
    assert info.value.message == ("JSON file is not valid JSON: Expecting property name enclosed "
                                  "in double quotes at line 2 column 11")
    with pytest.raises(JsonFileError) as info:  # json's wording of this one changed in 3.13
        parse_json_bytes(b"[1,]", file="f.json")
    assert info.value.code == "json-syntax"
    assert info.value.message.startswith("JSON file is not valid JSON: ")
    with pytest.raises(JsonFileError) as info:
        parse_json_bytes(b"[\"ok\", \"\xff\"]", file="f.json")
    assert info.value.message == "JSON file is not UTF-8 (byte 8)"
    with pytest.raises(JsonFileError) as info:
        parse_json_bytes(b"[" + b"7" * 4400 + b"]", file="f.json")
    assert "holds an integer of 4400 digits" in info.value.message
    assert parse_json_bytes(b' [1, "\xc3\xa9"] ', file="f.json") == [1, "é"]


def test_read_json_refuses_what_it_cannot_read_whole(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def refusal(path: Path, **what: str) -> tuple:
        with pytest.raises(JsonFileError) as info:
            read_json(path, **what)
        return info.value.code, info.value.message, info.value.file, info.value.hint

    assert refusal(tmp_path / "none.json", what="gold CVQA file") == (
        "file-missing", "gold CVQA file not found", str(tmp_path / "none.json"), None)
    assert refusal(tmp_path, what="gold CVQA file") == (
        "not-a-file", "gold CVQA file is a folder, not a file: not opened", str(tmp_path), None)
    blank = tmp_path / "blank.json"
    blank.write_text(" ")
    assert refusal(blank, what="gold CVQA file") == (
        "json-empty", "gold CVQA file is empty", str(blank), _EMPTY_HINT)
    (tmp_path / "ok.json").write_text('{"a": [1]}')
    assert read_json(tmp_path / "ok.json") == {"a": [1]}
    reasons = [PermissionError(13, "Permission denied"), OSError("no reason given")]

    def refuse(path: Path) -> None:
        raise reasons.pop(0)

    monkeypatch.setattr("magic_submit.jsonio.open_regular", refuse)
    assert refusal(blank, what="gold CVQA file") == (
        None, "gold CVQA file cannot be read (Permission denied)", str(blank), None)
    assert refusal(blank)[1] == "JSON file cannot be read (no reason given)"


def test_strict_json_writes_nan_as_null() -> None:
    value = {"a": float("nan"), "b": [1.0, float("inf"), (float("-inf"),)], "c": "x"}
    assert nan_to_none(value) == {"a": None, "b": [1.0, None, [None]], "c": "x"}
    assert json.loads(dumps_strict(value)) == {"a": None, "b": [1.0, None, [None]], "c": "x"}
    assert dumps_strict({"é": 1}, indent=None) == '{"é": 1}'
    assert dumps_strict({"é": 1}, indent=None, ensure_ascii=True) == '{"\\u00e9": 1}'
    assert dumps_strict([1]) == "[\n  1\n]"  # two spaces by default
    assert dumps_strict([1], indent=None) == "[1]"


def test_masks_read_back_as_written(tmp_path: Path) -> None:
    from magic_submit.masks import read_mask, write_mask

    mask = np.array([[0, 1, 1], [1, 0, 0]], np.uint8)
    write_mask(tmp_path / "deep" / "m.tiff", mask)
    assert read_mask(tmp_path / "deep" / "m.tiff").tolist() == mask.tolist()
    assert tifffile.imread(tmp_path / "deep" / "m.tiff").dtype == np.uint8


def test_every_name_problem_message() -> None:
    cases = {
        "readme.txt": (None, "file-ignored",
                       "not a *.tiff mask of the split: the scorer ignores it"),
        f"{ID}": (ID, "mask-extension", f"'no extension' is not read: the scorer reads only "
                                        f"'*.tiff'; expected {ID}_mask_t1.tiff"),
        f"{ID}.png": (ID, "mask-extension", f"'.png' is not read: the scorer reads only '*.tiff'; "
                                            f"expected {ID}_mask_t1.tiff"),
        "IMG_ENC00999_00001_mask_t1.tiff": ("IMG_ENC00999_00001", "mask-extra-image",
                                            "IMG_ENC00999_00001 is not an image of the split"),
        "other_mask_t1.tiff": (None, "file-ignored",
                               "read as image 'other', which is not in the split"),
        f"{ID}.jpg_mask_t1.tiff": (ID, "mask-name-image-extension",
                                   f"the scorer reads the image id '{ID}.jpg'; expected "
                                   f"{ID}_mask_t1.tiff"),
        f"{ID}_v2_mask_t1.tiff": (ID, "mask-name-format", f"the scorer reads the image id "
                                                          f"'{ID}_v2'; expected {ID}_mask_t1.tiff"),
        f"{ID}_t1.tiff": (ID, "mask-name-format", f"no '_mask_t1' in the name; expected "
                                                  f"{ID}_mask_t1.tiff"),
        f"{ID}_mask_sys.tiff": (ID, "mask-wrong-suffix", f"suffix 'sys' instead of 't1'; expected "
                                                         f"{ID}_mask_t1.tiff"),
    }
    for name, expected in cases.items():
        assert name_problem(name, KNOWN, "t1") == expected, name


def test_intended_images_of_a_split_with_other_ids() -> None:
    known = {"photo_A", "photo_B.v2"}
    assert intended_image_id("photo_A.png", known) == "photo_A"
    assert intended_image_id("photo_A_mask_x.tiff", known) == "photo_A"
    assert intended_image_id("photo_A_MASK.png", known) is None
    assert intended_image_id("photo_B.v2.png", known) is None  # the id is cut at its first '.'
    assert intended_image_id("x.photo_A", known) is None
