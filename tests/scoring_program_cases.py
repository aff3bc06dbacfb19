"""Uploads as the platform unpacks them into ``/app/input/res``, and ``/app`` trees to run the
exported scoring program on (``/app`` mapped to a temporary folder)."""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import tifffile
from typer.testing import CliRunner

from builders import platform_reference, write_json, zip_folder
from evaluation.facts import MULTI_SLOT_PARENTS, OFFICIAL_KEYS
from magic_submit.challenge import CVQA_SUBMISSION_FILE, MASKS_PRED_DIR
from magic_submit.cli import app as cli_app
from magic_submit.scoring_program.platform_run import PLATFORM_ARGUMENTS
from reference_impl import score_cvqa_files, score_segmentation_folders


def _sample(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res)


def _values_255(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res)
    for path in sorted((res / MASKS_PRED_DIR).glob("*.tiff")):
        tifffile.imwrite(path, tifffile.imread(path) * 255)


def _no_cvqa(sub: Path, res: Path) -> None:
    shutil.copytree(sub / MASKS_PRED_DIR, res / MASKS_PRED_DIR)


def _missing_mask(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res)
    sorted((res / MASKS_PRED_DIR).glob("*.tiff"))[-1].unlink()


def _nested_zip(sub: Path, res: Path) -> None:
    res.mkdir(parents=True)
    zip_folder(sub, res / "submission.zip")


def _top_folder(sub: Path, res: Path) -> None:
    shutil.copytree(sub, res / "my_submission")


def _no_masks(sub: Path, res: Path) -> None:
    res.mkdir(parents=True)
    shutil.copy(sub / CVQA_SUBMISSION_FILE, res / CVQA_SUBMISSION_FILE)


def _empty_parts(sub: Path, res: Path) -> None:
    (res / MASKS_PRED_DIR).mkdir(parents=True)
    write_json(res / CVQA_SUBMISSION_FILE, [])


def _extra_mask(sub: Path, res: Path) -> None:
    """A warning only: a mask for an image outside the split (the official scorer ignores it)."""
    shutil.copytree(sub, res)
    first = sorted((res / MASKS_PRED_DIR).glob("*.tiff"))[0]
    shutil.copy(first, res / MASKS_PRED_DIR / "IMG_ENC09999_00001_mask_sys.tiff")


def _leftover_zip(sub: Path, res: Path) -> None:
    """A warning only: an earlier zip left beside the parts (the official scorer ignores it)."""
    shutil.copytree(sub, res)
    zip_folder(sub, res / "submission.zip")


def _linked_answers(sub: Path, res: Path) -> None:
    """The gold answers read through a link (it would score accuracy 1.0 if followed)."""
    shutil.copytree(sub / MASKS_PRED_DIR, res / MASKS_PRED_DIR)
    os.symlink("../ref/data_cvqa_ref.json", res / CVQA_SUBMISSION_FILE)
    os.symlink("/etc", res / MASKS_PRED_DIR / "elsewhere")


def _zipped_link(sub: Path, res: Path) -> None:
    """A zip whose CVQA entry is a symbolic link, unpacked by ``unzip`` as the platform does
    (``unzip`` restores links; Python's zipfile would not)."""
    archive = res.parent / "upload.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted((sub / MASKS_PRED_DIR).glob("*.tiff")):
            handle.write(path, f"{MASKS_PRED_DIR}/{path.name}")
        link = zipfile.ZipInfo(CVQA_SUBMISSION_FILE)
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(link, "../ref/data_cvqa_ref.json")
    res.mkdir(parents=True)
    subprocess.run(["unzip", "-q", str(archive), "-d", str(res)], check=True, timeout=60)
    archive.unlink()
    assert (res / CVQA_SUBMISSION_FILE).is_symlink()


def _stray_files(sub: Path, res: Path) -> None:
    """What a Finder zip and a hurried team leave beside the parts."""
    shutil.copytree(sub, res)
    (res / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (res / "__MACOSX" / MASKS_PRED_DIR).mkdir(parents=True)
    (res / "__MACOSX" / MASKS_PRED_DIR / "._x.tiff").write_bytes(b"x")
    (res / "notes.txt").write_text("model v3, threshold 0.4")
    write_json(res / "data_cvqa_sys_old.json", [])


def _odd_names(sub: Path, res: Path) -> None:
    """Names that are not valid UTF-8, and one with a terminal escape, beside the parts."""
    shutil.copytree(sub, res)
    first = sorted((res / MASKS_PRED_DIR).glob("*.tiff"))[0]
    shutil.copy(first, os.fsencode(res / MASKS_PRED_DIR) + b"/IMG_\xff\xfe_mask_sys.tiff")
    (Path(os.fsdecode(os.fsencode(res) + b"/notes-\xe9t\xe9.txt"))).write_text("x")
    (res / "readme\x1b[2J.txt").write_text("x")


def _nm_repeated(sub: Path, res: Path) -> None:
    """Valid, but every multi-slot family repeats its answer instead of padding with NM: one
    warning per (encounter, family), 36 on the sample."""
    shutil.copytree(sub, res)
    records = json.loads((res / CVQA_SUBMISSION_FILE).read_text())
    for record in records:
        for parent in MULTI_SLOT_PARENTS:
            first = parent.nm_index - 1
            record.update({qid: first for qid in parent.qids})
    write_json(res / CVQA_SUBMISSION_FILE, records)


def _empty_masks(sub: Path, res: Path) -> None:
    """The probe of a hidden reference: every mask empty (a page with per-image figures would
    give away each gold mask's size)."""
    shutil.copytree(sub, res)
    for path in sorted((res / MASKS_PRED_DIR).glob("*.tiff")):
        tifffile.imwrite(path, tifffile.imread(path) * 0)


UPLOADS: dict[str, Callable[[Path, Path], None]] = {
    "sample": _sample, "values-255": _values_255, "no-cvqa": _no_cvqa,
    "missing-mask": _missing_mask,
    "nested-zip": _nested_zip, "top-folder": _top_folder, "no-masks": _no_masks,
    "empty-parts": _empty_parts, "extra-mask": _extra_mask, "leftover-zip": _leftover_zip,
    "linked-answers": _linked_answers, "zipped-link": _zipped_link, "stray-files": _stray_files,
    "odd-names": _odd_names, "nm-repeated": _nm_repeated, "empty-masks": _empty_masks,
}
# Uploads scored with a warning: the validator's code and what the summary log says of it
# (a culprit of the upload, or the count of a problem relative to the hidden reference).
WARNED: dict[str, tuple[str, str]] = {
    "extra-mask": ("mask-extra-image", "1 mask(s) for images that this phase does not score"),
    "leftover-zip": ("file-ignored", "submission.zip"),
    "top-folder": ("submission-enclosing-folder", "inside the folder 'my_submission/': read "
                   "there, but they belong at the top of the zip"),
    "stray-files": ("file-ignored", ".DS_Store: a system entry (macOS or Windows clutter): "
                    "the scorer reads only masks_preds/"),
    "odd-names": ("file-ignored", "masks_preds/IMG_\\xff\\xfe_mask_sys.tiff"),
    "nm-repeated": ("cvqa-repeated-answer", "multi-slot family repeats an answer instead of "
                    "padding with NM (36)"),
    "empty-masks": ("masks-all-empty", "all 20 masks read hold no foreground pixel"),
}
# Uploads refused: the official scorer crashes on them, or they hold a link; the code and a
# piece of what the summary log says (the fix or the culprit).
REFUSED: dict[str, tuple[str, str]] = {
    "no-cvqa": ("cvqa-missing", "a segmentation-only team sends []"),
    "missing-mask": ("mask-missing", "1 image(s) of this phase have no mask that the scorer reads"),
    "nested-zip": ("submission-nested-zip", "upload submission.zip itself"),
    "linked-answers": ("zip-symlink", "data_cvqa_sys.json: a symbolic link: never followed"),
    "zipped-link": ("zip-symlink", "data_cvqa_sys.json: a symbolic link: never followed"),
}
# Every other culprit of an upload (the page names them all; the log, the first few).
ALSO_SAID: dict[str, tuple[str, ...]] = {
    "linked-answers": ("masks_preds/elsewhere: a symbolic link",),
    "stray-files": ("__MACOSX/: a system entry", "data_cvqa_sys_old.json: a file",
                    "notes.txt: a file"),
    "odd-names": ("notes-\\xe9t\\xe9.txt: a file", "readme\\x1b[2J.txt: a file"),
}
# Uploads the official scorer silently misreads: scored as officially, with the validator's
# errors (refused with --strict).
MISREAD: dict[str, tuple[str, str]] = {
    "values-255": ("mask-values-255", "(mask > 0).astype('uint8')"),
}

# Every broken upload: the exit status of the scoring program, the code, a piece of its text.
BROKEN: dict[str, tuple[int, str, str]] = {
    **{upload: (1, *said) for upload, said in REFUSED.items()},
    **{upload: (0, *said) for upload, said in (MISREAD | WARNED).items()},
}


def make_app(root: Path, sample_data: Path, upload: str, *, reference: str = "platform") -> Path:
    """``root/input/ref`` (``platform``: masks_refs/ + data_cvqa_ref.json; ``dataset``: the
    sample's test split as distributed, with its photos), ``root/input/res`` holding ``upload``,
    and an empty ``root/output``."""
    ref = root / "input" / "ref"
    if reference == "platform":
        platform_reference(sample_data, ref)
    else:
        ref.mkdir(parents=True)
        for name in ("test.json", "test_cvqa.json", "images_test"):
            source = sample_data / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, ref / name)
        shutil.copytree(sample_data / "dermavqa-segmentations" / "test",
                        ref / "dermavqa-segmentations" / "test")
    UPLOADS[upload](sample_data / "submission", root / "input" / "res")
    (root / "output").mkdir()
    return root


def magic_score_output(app: Path, out: Path, upload: str = "") -> bytes:
    """``scores.json`` of ``magic score --output`` for the upload (``upload``: a folder inside
    it) and reference of ``app``."""
    done = CliRunner().invoke(cli_app, ["score", str(app / "input" / "res" / upload),
                                        "--reference", str(app / "input" / "ref"), "--output",
                                        str(out), "-q"])
    assert done.exit_code == 0, done.output
    return (out / "scores.json").read_bytes()


def assert_plain_scores(app: Path, written: bytes, upload: str = "") -> None:
    """``scores.json`` holds the official keys, in order, with the figures of the independent
    plain scorer (tests/reference_impl.py) for the reference of ``app`` (either layout)."""
    ref, res = app / "input" / "ref", app / "input" / "res" / upload
    masks, cvqa = ref / "masks_refs", ref / "data_cvqa_ref.json"
    if not masks.is_dir():  # the dataset layout
        masks, cvqa = ref / "dermavqa-segmentations" / "test", ref / "test_cvqa.json"
    expected = score_segmentation_folders(str(masks), str(res / MASKS_PRED_DIR))
    expected |= score_cvqa_files(str(cvqa), str(res / CVQA_SUBMISSION_FILE))
    got = json.loads(written)
    assert list(got) == list(OFFICIAL_KEYS)
    for key in OFFICIAL_KEYS:
        if isinstance(expected[key], float) and math.isnan(expected[key]):
            assert math.isnan(got[key]), key
        else:
            assert math.isclose(got[key], expected[key], rel_tol=1e-12, abs_tol=1e-15), key


def mapped(words: list[str] | tuple[str, ...], app: Path) -> list[str]:
    """The platform's ``/app/...`` paths of a command moved under ``app``."""
    return [w.replace("/app/", f"{app}/", 1) if w.startswith("/app/") else w for w in words]


def platform_arguments(app: Path) -> list[str]:
    return mapped(PLATFORM_ARGUMENTS, app)
