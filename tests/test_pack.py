"""``magic pack`` / ``pack_submission``: a correct zip from predictions, repairs only with --fix."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from magic_submit.challenge import PARENT_BY_ID
from magic_submit.cli import app
from magic_submit.dataset import load_encounters
from magic_submit.errors import MagicError
from magic_submit.masks import image_size, read_mask
from magic_submit.packing import PackError, pack_submission
from magic_submit.validation import validate_submission
from submission_cases import CVQA, FIRST_ID, FIRST_MASK, MASKS, load_records, runner

SECOND_ID = "IMG_ENC00908_00002"


@pytest.fixture()
def inputs(tmp_path: Path, sample_submission: Path) -> tuple[Path, Path]:
    """A team's predictions: a masks folder and a CVQA file (copies of the sample submission)."""
    masks = Path(shutil.copytree(sample_submission / MASKS, tmp_path / "preds"))
    cvqa = Path(shutil.copy(sample_submission / CVQA, tmp_path / "answers.json"))
    return masks, cvqa


def pack(sample_data: Path, output: Path, **kwargs):
    return pack_submission(sample_data / "test.json", sample_data / "images_test", output=output,
                           **kwargs)


def zipped_masks(archive: Path) -> dict[str, np.ndarray]:
    import io

    with zipfile.ZipFile(archive) as handle:
        return {Path(n).name: tifffile.imread(io.BytesIO(handle.read(n)))
                for n in handle.namelist() if n.endswith(".tiff")}


def test_pack_sample_is_valid_and_equal(inputs, sample_data: Path, sample_submission: Path,
                                        tmp_path: Path) -> None:
    masks, cvqa = inputs
    result = pack(sample_data, tmp_path / "out" / "submission.zip", masks_dir=masks, cvqa=cvqa)
    assert result.report.valid and result.fixes == [] and result.report.warnings == []
    with zipfile.ZipFile(result.output) as handle:
        names = handle.namelist()
        assert CVQA in names and f"{MASKS}/{FIRST_MASK}" in names
        assert json.loads(handle.read(CVQA)) == load_records(sample_submission)
    packed = zipped_masks(result.output)
    assert len(packed) == 20
    for name, mask in packed.items():
        assert mask.dtype == np.uint8 and mask.ndim == 2
        np.testing.assert_array_equal(mask, read_mask(sample_submission / MASKS / name))
    assert validate_submission(result.output, sample_data / "test.json",
                               images_dir=sample_data / "images_test").valid


def test_in_memory_masks_and_records(sample_data: Path, sample_submission: Path,
                                     tmp_path: Path) -> None:
    encounters = load_encounters(sample_data / "test.json")
    masks = {f"{i}.jpg" if n % 2 else i: read_mask(sample_submission / MASKS / f"{i}_mask_sys.tiff"
                                                   ).astype(bool)
             for n, i in enumerate(i for e in encounters for i in e.image_ids)}
    records = load_records(sample_submission)
    records[0] = {k: np.int64(v) if k != "encounter_id" else v for k, v in records[0].items()}
    result = pack_submission(encounters, sample_data / "images_test", masks=masks, cvqa=records,
                             output=tmp_path / "s.zip")
    assert result.report.valid and result.fixes == []  # bool needs no repair: written as 0/1
    assert {m.dtype for m in zipped_masks(result.output).values()} == {np.dtype(np.uint8)}
    with zipfile.ZipFile(result.output) as handle:
        assert json.loads(handle.read(CVQA)) == load_records(sample_submission)


def _broken_inputs(masks: Path, cvqa: Path) -> None:
    """0/255, probabilities, 352x352, PNG, .tif, identical RGB channels, unpadded family."""
    first = tifffile.imread(masks / FIRST_MASK)
    tifffile.imwrite(masks / FIRST_MASK, first * 255)
    second = masks / f"{SECOND_ID}_mask_sys.tiff"
    tifffile.imwrite(second, tifffile.imread(second) * np.float32(0.9))
    tifffile.imwrite(masks / "IMG_ENC00909_00001_mask_sys.tiff", np.ones((352, 352), np.uint8))
    png = masks / "IMG_ENC00909_00002_mask_sys.tiff"
    Image.fromarray(tifffile.imread(png) * 255).save(masks / "IMG_ENC00909_00002.png")
    png.unlink()
    (masks / "IMG_ENC00910_00001_mask_sys.tiff").rename(masks / "IMG_ENC00910_00001.tif")
    rgb = masks / "IMG_ENC00910_00002_mask_sys.tiff"
    tifffile.imwrite(rgb, np.stack([tifffile.imread(rgb)] * 3, -1))
    records = json.loads(cvqa.read_text())
    for qid in PARENT_BY_ID["CQID020"].qids[3:]:
        del records[0][qid]
    records[1]["CQID010-001"] = 1.0
    cvqa.write_text(json.dumps(records))


def test_without_fix_repairable_inputs_are_errors_and_nothing_is_written(
        inputs, sample_data: Path, tmp_path: Path) -> None:
    masks, cvqa = inputs
    _broken_inputs(masks, cvqa)
    output = tmp_path / "submission.zip"
    output.write_bytes(b"previous upload")
    with pytest.raises(PackError) as caught:
        pack(sample_data, output, masks_dir=masks, cvqa=cvqa)
    errors = {(p.code, p.image_id or p.encounter_id) for p in caught.value.report.errors}
    assert errors == {("mask-values-255", FIRST_ID), ("mask-values-probability", SECOND_ID),
                      ("mask-size", "IMG_ENC00909_00001"), ("mask-extension", "IMG_ENC00909_00002"),
                      ("mask-extension", "IMG_ENC00910_00001"), ("mask-not-2d", "IMG_ENC00910_00002"),
                      ("pack-unpadded", "ENC00908")}
    assert isinstance(caught.value, MagicError) and len(caught.value.ids) == 7
    assert output.read_bytes() == b"previous upload"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.json", "preds", "submission.zip"]


def test_fix_repairs_without_guessing(inputs, sample_data: Path, sample_submission: Path,
                                      tmp_path: Path) -> None:
    masks, cvqa = inputs
    _broken_inputs(masks, cvqa)
    result = pack(sample_data, tmp_path / "submission.zip", masks_dir=masks, cvqa=cvqa, fix=True)
    assert result.report.valid and result.report.warnings == []
    text = "\n".join(result.fixes)
    for expected in (f"{FIRST_ID}: values 0/255 mapped to 0/1",
                     f"{SECOND_ID}: probabilities thresholded at 0.5",
                     "IMG_ENC00909_00001: resized 352x352 to 409x390 (nearest neighbour)",
                     "IMG_ENC00910_00002: shape (520, 239, 3) reduced to (520, 239)",
                     "ENC00908 CQID020: 6 slot(s) padded with NM (9)",
                     "ENC00909 CQID010-001: 1.0 written as 1"):
        assert expected in text
    packed = zipped_masks(result.output)
    original = read_mask(sample_submission / MASKS / FIRST_MASK)
    np.testing.assert_array_equal(packed[FIRST_MASK], original)
    for name in ("IMG_ENC00909_00002_mask_sys.tiff", "IMG_ENC00910_00001_mask_sys.tiff"):
        np.testing.assert_array_equal(packed[name], read_mask(sample_submission / MASKS / name))
    resized = packed["IMG_ENC00909_00001_mask_sys.tiff"]
    assert resized.shape == image_size(sample_data / "images_test" / "IMG_ENC00909_00001.jpg")
    assert set(np.unique(resized)) == {1}
    with zipfile.ZipFile(result.output) as handle:
        first = json.loads(handle.read(CVQA))[0]
    assert [first[q] for q in PARENT_BY_ID["CQID020"].qids][3:] == [9] * 6


@pytest.mark.parametrize("array, code", [
    (lambda m: np.ascontiguousarray(m.T), "mask-size"),  # transposed: resizing would be a guess
    (lambda m: m * 2, "mask-values"),  # labels 0/2: no rule says which is foreground
    (lambda m: np.stack([m, 1 - m, m], -1), "mask-not-2d"),  # channels differ
])
def test_fix_refuses_to_guess(array, code: str, sample_data: Path, sample_submission: Path,
                              tmp_path: Path) -> None:
    encounters = load_encounters(sample_data / "test.json")
    masks = {i: read_mask(sample_submission / MASKS / f"{i}_mask_sys.tiff")
             for e in encounters for i in e.image_ids}
    masks[FIRST_ID] = array(masks[FIRST_ID])
    with pytest.raises(PackError) as caught:
        pack(sample_data, tmp_path / "s.zip", masks=masks, fix=True)
    assert [(p.code, p.image_id) for p in caught.value.report.errors] == [(code, FIRST_ID)]
    assert not (tmp_path / "s.zip").exists()


def test_missing_and_ambiguous_inputs(inputs, sample_data: Path, tmp_path: Path) -> None:
    masks, cvqa = inputs
    (masks / FIRST_MASK).unlink()
    shutil.copy(masks / f"{SECOND_ID}_mask_sys.tiff", masks / f"{SECOND_ID}.tiff")
    (masks / "notes.txt").write_text("ignored")
    with pytest.raises(PackError) as caught:
        pack(sample_data, tmp_path / "s.zip", masks_dir=masks, cvqa=cvqa, fix=True)
    report = caught.value.report
    assert {(p.code, p.image_id) for p in report.errors} == {("pack-no-input", FIRST_ID),
                                                            ("pack-ambiguous-mask", SECOND_ID)}
    assert [p.code for p in report.warnings] == ["file-ignored"]


def test_one_subtask_only(inputs, sample_data: Path, tmp_path: Path) -> None:
    masks, cvqa = inputs
    result = pack(sample_data, tmp_path / "cvqa-only.zip", cvqa=cvqa)
    assert result.report.valid and result.report.codes("warning") == {"segmentation-absent"}
    result = pack(sample_data, tmp_path / "seg-only.zip", masks_dir=masks)
    assert result.report.valid and result.report.codes("warning") == {"cvqa-absent"}
    with zipfile.ZipFile(result.output) as handle:
        assert json.loads(handle.read(CVQA)) == []


def _pack_cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["pack", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_exit_statuses(inputs, sample_data: Path, tmp_path: Path) -> None:
    masks, cvqa = inputs
    base = ["--split", str(sample_data / "test.json"), "--images", str(sample_data / "images_test")]
    output = tmp_path / "submission.zip"
    code, out, err = _pack_cli(*base, "--masks", str(masks), "--cvqa", str(cvqa), "-o", str(output))
    assert code == 0 and f"wrote {output}" in out and "VALID" in err
    tifffile.imwrite(masks / FIRST_MASK, tifffile.imread(masks / FIRST_MASK) * 255)
    output.unlink()
    code, out, err = _pack_cli(*base, "--masks", str(masks), "--cvqa", str(cvqa), "-o", str(output),
                               "--json")
    assert code == 1 and not output.exists()
    assert json.loads(out)["report"]["errors"][0]["code"] == "mask-values-255"
    code, out, err = _pack_cli(*base, "--masks", str(masks), "-o", str(output), "--fix")
    assert code == 0 and "fixed: IMG_ENC00908_00001: values 0/255 mapped to 0/1" in err
    for bad in (base + ["-o", str(output)],  # neither --masks nor --cvqa
                base + ["--masks", str(masks), "-o", str(tmp_path / "s.tar")],
                base + ["--cvqa", str(tmp_path / "none.json"), "-o", str(output)],
                ["--split", str(sample_data / "test.json"), "--images", str(tmp_path / "none"),
                 "--masks", str(masks), "-o", str(output)]):
        code, _, err = _pack_cli(*bad)
        assert code == 2 and "Traceback" not in err


def test_subprocess_pack_then_validate(inputs, sample_data: Path, tmp_path: Path) -> None:
    masks, cvqa = inputs
    output = tmp_path / "submission.zip"
    done = subprocess.run([sys.executable, "-m", "magic_submit", "pack", "--split",
                           str(sample_data / "test.json"), "--images", str(sample_data / "images_test"),
                           "--masks", str(masks), "--cvqa", str(cvqa), "--output", str(output)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert validate_submission(output, sample_data / "test.json",
                               images_dir=sample_data / "images_test").valid
