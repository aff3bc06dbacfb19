"""Opening a submission (folder or zip) and a reference (platform folder or dataset split).

A submission holds, at its root, ``masks_preds/`` and/or ``data_cvqa_sys.json``; a zip is
unpacked safely into a private temporary folder that disappears when the ``with`` block ends.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp()); (folder / "data_cvqa_sys.json").write_text("[]")
2
>>> with open_submission(folder) as sub:
...     sub.masks_dir is None, sub.cvqa_file.name
(True, 'data_cvqa_sys.json')
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from magic_submit import challenge as ch
from magic_submit.archive import ZipLimits, extract_zip, is_system_file
from magic_submit.dataset import DatasetLayout, split_name
from magic_submit.errors import MagicError, UsageError
from magic_submit.files import FILE, FOLDER, MISSING, entry_kind
from magic_submit.naming import TIFF_EXTENSIONS, parse_mask_file_name


@dataclass
class SubmissionFiles:
    """Where the two parts of an opened submission are (None: part absent or unusable).

    ``masks_kind`` and ``cvqa_kind`` say what stands at the two official paths
    (:mod:`magic_submit.files` kinds: ``"folder"``, ``"file"``, ``"FIFO"``, ``"missing"``...):
    ``masks_dir`` is set only for a folder and ``cvqa_file`` only for a regular file.
    """

    source: Path
    root: Path
    masks_dir: Path | None
    cvqa_file: Path | None
    is_zip: bool = False
    notes: list[str] = field(default_factory=list)
    masks_kind: str | None = None  # None: derived from masks_dir
    cvqa_kind: str | None = None  # None: derived from cvqa_file

    def __post_init__(self) -> None:
        if self.masks_kind is None:
            self.masks_kind = FOLDER if self.masks_dir is not None else MISSING
        if self.cvqa_kind is None:
            self.cvqa_kind = FILE if self.cvqa_file is not None else MISSING

    @property
    def masks_path(self) -> Path:
        return self.root / ch.MASKS_PRED_DIR

    @property
    def cvqa_path(self) -> Path:
        return self.root / ch.CVQA_SUBMISSION_FILE


def _wrapped_folder(root: Path, markers: tuple[str, ...]) -> Path | None:
    """The single top folder holding the expected entries, when the user zipped a folder."""
    children = [c for c in root.iterdir() if not is_system_file(c.name)]
    if len(children) == 1 and children[0].is_dir():
        if any((children[0] / m).exists() for m in markers):
            return children[0]
    return None


def _reference_given(root: Path) -> str | None:
    """What makes ``root`` look like gold rather than predictions (None: it does not)."""
    if is_platform_reference(root):
        return f"it holds {ch.MASKS_REF_DIR}/ or {ch.CVQA_REFERENCE_FILE}"
    annotator_masks = [p.name for p in root.iterdir()
                       if p.suffix.lower() in TIFF_EXTENSIONS
                       and parse_mask_file_name(p.name)[1] in ch.ANNOTATORS]
    if annotator_masks:
        return (f"{len(annotator_masks)} annotator mask(s) such as {annotator_masks[0]} "
                "(IMG_..._mask_annK.tiff)")
    if (root / ch.SEGMENTATIONS_DIR).is_dir():
        return f"it holds {ch.SEGMENTATIONS_DIR}/ (a dataset root)"
    return None


def _nested_zip(root: Path) -> Path | None:
    """The one entry at ``root`` when it is itself a zip (a zip uploaded inside a zip)."""
    children = [c for c in root.iterdir() if not is_system_file(c.name)]
    if len(children) == 1 and entry_kind(children[0]) == FILE and zipfile.is_zipfile(children[0]):
        return children[0]
    return None


def locate_submission_parts(root: Path, source: Path, *, is_zip: bool) -> SubmissionFiles:
    """Find ``masks_preds/`` and ``data_cvqa_sys.json`` at ``root`` or explain where they went.

    Nothing is opened: what stands at the two paths is found with ``stat``. When neither path
    exists at all the submission has no part (an error naming what was found instead); any other
    oddity (a file named ``masks_preds``, a folder named ``data_cvqa_sys.json``, a FIFO) is
    recorded in the kinds for the scorer and the validator to judge.
    """
    masks = root / ch.MASKS_PRED_DIR
    cvqa = root / ch.CVQA_SUBMISSION_FILE
    masks_kind, cvqa_kind = entry_kind(masks), entry_kind(cvqa)
    files = SubmissionFiles(source, root, masks if masks_kind == FOLDER else None,
                            cvqa if cvqa_kind == FILE else None, is_zip, masks_kind=masks_kind,
                            cvqa_kind=cvqa_kind)
    if masks_kind != MISSING or cvqa_kind != MISSING:
        return files
    nested = _nested_zip(root)
    if nested is not None:
        holder = "the zip" if is_zip else "the folder"
        raise MagicError(f"{holder} holds only a zip, '{nested.name}': the platform does not "
                         f"unpack nested zips and finds neither {ch.MASKS_PRED_DIR}/ nor "
                         f"{ch.CVQA_SUBMISSION_FILE} (the official scorer crashes: no "
                         f"{ch.CVQA_SUBMISSION_FILE})", file=source, code="submission-nested-zip",
                         hint=f"upload {nested.name} itself, or zip {ch.MASKS_PRED_DIR}/ and "
                              f"{ch.CVQA_SUBMISSION_FILE} directly")
    markers = (ch.MASKS_PRED_DIR, ch.CVQA_SUBMISSION_FILE)
    wrapped = _wrapped_folder(root, markers)
    if wrapped is not None:
        hint = (f"zip the contents, not the folder: cd {wrapped.name} && zip -r ../submission.zip "
                f"{ch.MASKS_PRED_DIR} {ch.CVQA_SUBMISSION_FILE}" if is_zip else
                f"point at {source / wrapped.name}")
        raise MagicError(f"{ch.MASKS_PRED_DIR}/ and {ch.CVQA_SUBMISSION_FILE} are inside the folder "
                         f"'{wrapped.name}/', not at the root", file=source,
                         code="submission-wrapped-folder", hint=hint)
    reference = _reference_given(root)
    if reference is not None:
        raise MagicError(f"this is a reference, not a submission: {reference}", file=source,
                         code="submission-no-parts",
                         hint="pass it as --reference; the submission is the folder or zip that "
                         f"holds your {ch.MASKS_PRED_DIR}/ and {ch.CVQA_SUBMISSION_FILE}")
    if any(p.suffix.lower() in TIFF_EXTENSIONS for p in root.iterdir()):
        raise MagicError(f"mask files lie at the root; the platform reads them only from "
                         f"{ch.MASKS_PRED_DIR}/", file=source, code="submission-no-parts",
                         hint=f"move the masks into {ch.MASKS_PRED_DIR}/")
    raise MagicError(f"neither {ch.MASKS_PRED_DIR}/ nor {ch.CVQA_SUBMISSION_FILE} found at the root "
                     f"(the official scorer crashes: no {ch.CVQA_SUBMISSION_FILE})",
                     file=source, code="submission-no-parts",
                     hint=f"put {ch.MASKS_PRED_DIR}/ and {ch.CVQA_SUBMISSION_FILE} at the top level")


@contextmanager
def open_submission(path: str | Path, *, limits: ZipLimits = ZipLimits(),
                    unpacked: bool = False) -> Iterator[SubmissionFiles]:
    """Yield the parts of a submission folder or zip (unpacked into a private temporary folder).

    ``unpacked``: the folder is an uploaded zip as the platform unpacked it, so hints speak of
    the zip (``/app/input/res`` of the scoring program).
    """
    path = Path(path)
    if path.is_dir():
        yield locate_submission_parts(path, path, is_zip=unpacked)
        return
    if not path.exists():
        raise MagicError("submission not found", file=path, code="submission-missing",
                         hint="pass a submission folder or .zip")
    if not zipfile.is_zipfile(path):
        raise MagicError("submission is neither a folder nor a zip archive", file=path,
                         code="zip-corrupt", hint="pass the folder or the .zip you will upload")
    with tempfile.TemporaryDirectory(prefix="magic-submission-") as tmp:
        extraction = extract_zip(path, tmp, limits)
        files = locate_submission_parts(Path(tmp), path, is_zip=True)
        if extraction.skipped:
            files.notes.append(f"ignored {len(extraction.skipped)} macOS/system entries "
                               f"(__MACOSX/, .DS_Store)")
        yield files


@dataclass
class ReferenceFiles:
    """Where the gold masks and gold CVQA file are (None: part absent).

    ``is_platform``: the organisers' folder (``masks_refs/`` + ``data_cvqa_ref.json``), not a
    dataset root + split.
    """

    masks_dir: Path | None
    cvqa_file: Path | None
    description: str
    is_platform: bool = False


def is_platform_reference(path: Path) -> bool:
    return (path / ch.MASKS_REF_DIR).is_dir() or (path / ch.CVQA_REFERENCE_FILE).is_file()


def open_reference(path: str | Path, split: str | None = None) -> ReferenceFiles:
    """The organisers' folder (``masks_refs/`` + ``data_cvqa_ref.json``) or a dataset root + split."""
    path = Path(path)
    if not path.is_dir():
        raise MagicError("reference folder not found", file=path, code="reference-missing",
                         hint="pass the organisers' folder or the dataset root with --split")
    if is_platform_reference(path):
        masks = path / ch.MASKS_REF_DIR
        cvqa = path / ch.CVQA_REFERENCE_FILE
        return ReferenceFiles(masks if masks.is_dir() else None, cvqa if cvqa.is_file() else None,
                              f"platform reference {path}", is_platform=True)
    if split is None:  # the one place this rule lives: every command maps it to exit status 2
        raise UsageError(f"{path} has no {ch.MASKS_REF_DIR}/ or {ch.CVQA_REFERENCE_FILE}: a "
                         "dataset root needs --split (train, valid or test)", file=path,
                         code="reference-needs-split",
                         hint="pass --split, or the organisers' folder holding masks_refs/")
    layout = DatasetLayout(path)
    masks, cvqa = layout.find_masks(split), layout.find_cvqa(split)
    if masks is None and cvqa is None:
        tried = ", ".join(str(p) for p in layout.masks_candidates(split) + layout.cvqa_candidates(split))
        raise MagicError(f"no gold masks or CVQA answers for split '{split_name(split)}' (looked "
                         f"for {tried})", file=path, code="reference-missing",
                         hint=layout.split_hint(split))
    return ReferenceFiles(masks, cvqa, f"dataset {path}, split {split_name(split)}")
