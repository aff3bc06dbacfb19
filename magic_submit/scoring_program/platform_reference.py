"""The reference as the platform mounts it in ``/app/input/ref``.

Either the organisers' platform layout, named by the command's two reference paths
(``masks_refs/`` and ``data_cvqa_ref.json``), or, when neither path exists, one dataset split in
their folder (``dermavqa-segmentations/test/``, ``test_cvqa.json``, optionally ``test.json`` and
``images_test/``). Photos shown in the gallery come from an ``images/`` (or ``images_{split}/``)
folder beside the platform layout, or from the dataset's image folder.
"""

from __future__ import annotations

from pathlib import Path

from magic_submit import challenge as ch
from magic_submit.dataset import DatasetLayout
from magic_submit.errors import UsageError
from magic_submit.reporting.reference import ReferenceContext, derive_split, open_reference_context
from magic_submit.submission import ReferenceFiles

PHOTO_FOLDERS: tuple[str, ...] = ("images",) + tuple(ch.images_dir_name(s) for s in ch.SPLITS)


def photos_folder(root: Path) -> Path | None:
    """The first photo folder found beside a platform reference (None: masks drawn on grey)."""
    return next((root / name for name in PHOTO_FOLDERS if (root / name).is_dir()), None)


def dataset_split(root: Path) -> str:
    """The one split whose gold files lie under a dataset root; an error when none or several."""
    layout = DatasetLayout(root)
    found = [s for s in ch.SPLITS if layout.find_masks(s) or layout.find_cvqa(s)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(f"neither {ch.MASKS_REF_DIR}/ + {ch.CVQA_REFERENCE_FILE} nor a dataset "
                         "split found in the reference", file=root, code="reference-missing",
                         hint=f"put {ch.MASKS_REF_DIR}/ and {ch.CVQA_REFERENCE_FILE} at the "
                         "root of the reference bundle")
    raise UsageError(f"the reference holds the splits {', '.join(found)}: which one to score "
                     "against is ambiguous", file=root, code="reference-ambiguous",
                     hint="keep only the phase's split in the reference bundle")


def _require_both(files: ReferenceFiles, where: Path) -> None:
    parts = (("the gold masks", files.masks_dir), ("the gold CVQA answers", files.cvqa_file))
    missing = [part for part, found in parts if found is None]
    if missing:
        raise UsageError(f"{files.description} lacks {' and '.join(missing)}; the official scorer "
                         "reads both", file=where, code="reference-missing",
                         hint=f"put {ch.MASKS_REF_DIR}/ (the annotators' masks) and "
                         f"{ch.CVQA_REFERENCE_FILE} (the gold answers) in the reference bundle")


def open_platform_reference(masks: Path, cvqa: Path) -> ReferenceContext:
    """The reference named by the command's paths, or the dataset split in their folder.

    Raises :class:`UsageError` (a setup problem of the organisers, not of the upload) when a part
    is missing or the split is ambiguous.
    """
    masks, cvqa = Path(masks), Path(cvqa)
    if masks.is_dir() or cvqa.is_file() or masks.parent != cvqa.parent:
        files = ReferenceFiles(masks if masks.is_dir() else None, cvqa if cvqa.is_file() else None,
                               f"platform reference {masks.parent}", is_platform=True)
        _require_both(files, masks.parent)
        return ReferenceContext(files, derive_split(files), photos_folder(masks.parent), None)
    root = masks.parent
    if not root.is_dir():
        raise UsageError("reference folder not found", file=root, code="reference-missing",
                         hint="check the reference paths of the metadata.yaml command")
    context = open_reference_context(root, dataset_split(root))
    _require_both(context.files, root)
    return context


def upload_root(masks: Path, cvqa: Path) -> Path:
    """The folder the platform unpacked the upload into: the parent of the command's two upload
    paths, which must be the challenge's names (``masks_preds``, ``data_cvqa_sys.json``)."""
    masks, cvqa = Path(masks), Path(cvqa)
    if masks.parent != cvqa.parent or (masks.name, cvqa.name) != (ch.MASKS_PRED_DIR,
                                                                 ch.CVQA_SUBMISSION_FILE):
        raise UsageError(f"the upload paths must be UPLOAD/{ch.MASKS_PRED_DIR} and "
                         f"UPLOAD/{ch.CVQA_SUBMISSION_FILE}, not {masks} and {cvqa}",
                         code="usage", hint="use the command of the exported metadata.yaml")
    return masks.parent

