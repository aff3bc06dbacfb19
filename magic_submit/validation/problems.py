"""The one table of submission problems: each code's severity, title and how to fix it.

Severities: ``error`` (the platform would crash, ignore the file or score it other than meant:
the submission is not valid), ``warning`` (scored, but probably not what the team meant) and
``note`` (information). Every check builds its findings with :func:`Problem.of`, which takes the
severity and the default fix sentence from :data:`CODES`; nothing else defines a code.

>>> p = Problem.of("mask-values-255", "values 0 and 255", file="masks_preds/x.tiff", image_id="IMG_A")
>>> p.severity, p.hint.startswith("write 0/1")
('error', True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from magic_submit.challenge import CVQA_SUBMISSION_FILE as CVQA_FILE
from magic_submit.challenge import MASKS_PRED_DIR as MASKS_DIR

ERROR, WARNING, NOTE = "error", "warning", "note"
SEVERITIES: tuple[str, ...] = (ERROR, WARNING, NOTE)


@dataclass(frozen=True)
class CodeInfo:
    severity: str
    title: str
    fix: str


def _e(title: str, fix: str) -> CodeInfo:
    return CodeInfo(ERROR, title, fix)


def _w(title: str, fix: str) -> CodeInfo:
    return CodeInfo(WARNING, title, fix)


def _n(title: str, fix: str = "") -> CodeInfo:
    return CodeInfo(NOTE, title, fix)


_ZIP_FIX = f"zip the files themselves: cd FOLDER && zip -r ../submission.zip {MASKS_DIR} {CVQA_FILE}"

CODES: dict[str, CodeInfo] = {
    # The submission as a whole (folder or zip).
    "submission-missing": _e("submission not found", "pass the folder or the .zip you will upload"),
    "submission-no-parts": _e(f"neither {MASKS_DIR}/ nor {CVQA_FILE} at the root",
                              f"put {MASKS_DIR}/ and {CVQA_FILE} at the top level of the zip"),
    "submission-wrapped-folder": _e("the parts are inside a top folder", _ZIP_FIX),
    "submission-nested-zip": _e("a zip inside the zip: the platform does not unpack it",
                                "upload the inner zip itself"),
    # The upload as the platform unpacked it (magic's scoring program only).
    "submission-enclosing-folder": _w("the parts sit inside one folder: magic's scoring program "
                                      "reads them there, the official scorer crashes", _ZIP_FIX),
    "upload-unreadable": _e("upload entry that cannot be listed, or too many entries",
                            f"zip only {MASKS_DIR}/ and {CVQA_FILE}"),
    "zip-missing": _e("zip not found", "pass the .zip you will upload"),
    "zip-corrupt": _e("not a readable zip", "re-create the zip (python -m zipfile -c ...)"),
    "zip-absolute-path": _e("zip entry with an absolute path", _ZIP_FIX),
    "zip-parent-path": _e("zip entry pointing outside the archive ('..')", _ZIP_FIX),
    "zip-unsafe-path": _e("zip entry with a backslash path", "build the zip with forward-slash names"),
    "zip-symlink": _e("zip entry that is a symbolic link", "zip the files themselves, not links"),
    "zip-too-large": _e("zip unpacks beyond the size limit", "zip only masks_preds/ and the JSON file"),
    "zip-too-many-entries": _e("zip holds too many entries", "zip only masks_preds/ and the JSON file"),
    "zip-encrypted": _e("encrypted zip entry", "zip without a password"),
    "zip-duplicate-entry": _e("zip entry stored twice", "re-create the zip from a clean folder"),
    "zip-ignored-entries": _n("system entries ignored (__MACOSX/, .DS_Store)"),
    # Segmentation: where the masks are and how they are named.
    "masks-folder-misplaced": _e(f"mask files outside {MASKS_DIR}/",
                                 f"move the masks into {MASKS_DIR}/ at the root"),
    "masks-not-folder": _e(f"{MASKS_DIR} is not a folder: segmentation scores 0.0",
                           f"make {MASKS_DIR}/ a folder holding the masks"),
    "segmentation-absent": _w("no mask at all: segmentation will score 0.0",
                              f"write one mask per image into {MASKS_DIR}/ (magic pack)"),
    "mask-missing": _e("image of the split without a mask (the scorer crashes)",
                       "write one IMG_..._mask_sys.tiff per image id of the split (magic pack)"),
    "mask-extension": _e("mask not named *.tiff: the scorer does not see it",
                         "write a TIFF named IMG_..._mask_sys.tiff (magic pack --fix converts)"),
    "mask-name-double-mask": _e("name with '_mask_mask_': the scorer reads the suffix 'mask_sys'",
                                "name it image id + '_mask_sys.tiff' (do not split names on '_ann')"),
    "mask-name-image-extension": _e("image extension kept in the mask name",
                                    "drop the .jpg/.png from the image id: IMG_..._00001_mask_sys.tiff"),
    "mask-wrong-suffix": _e("mask with another system suffix", "rename to IMG_..._mask_sys.tiff"),
    "mask-name-format": _e("name without '_mask_<suffix>'", "rename to IMG_..._mask_sys.tiff"),
    "mask-nested-folder": _e(f"mask in a subfolder of {MASKS_DIR}/ (the scorer does not look there)",
                             f"put every mask directly in {MASKS_DIR}/"),
    "mask-duplicate": _e("two files read as the mask of one image", "keep one file per image"),
    "mask-unreadable": _e("not a readable TIFF", "write the mask with tifffile.imwrite(path, "
                          "mask.astype('uint8'))"),
    "mask-not-a-file": _e("a folder, FIFO, device or broken link named as a mask (the scorer "
                          "crashes or hangs on it)", "put a regular TIFF file under this name"),
    "mask-too-large": _e("mask header claims more bytes of pixels than any mask needs (not decoded)",
                         "write the mask at its image's height x width"),
    "mask-not-2d": _e("mask is not 2-D", "write one 2-D page per mask (mask[..., 0] of an RGB array)"),
    "mask-size": _e("mask size differs from the image's",
                    "resize to the image's height x width with nearest-neighbour (magic pack --fix)"),
    "mask-values-255": _e("values 0/255: the scorer sees no foreground",
                          "write 0/1 values: (mask > 0).astype('uint8') (magic pack --fix)"),
    "mask-values-probability": _e("probabilities, not 0/1: the scorer truncates them to 0",
                                  "threshold: (prob > 0.5).astype('uint8') (magic pack --fix)"),
    "mask-values": _e("values other than 0/1", "write 0/1 values, foreground = 1"),
    "mask-extra-image": _w("mask for an image outside the split (ignored by the scorer)",
                           "check that you predicted the right split; extra masks are ignored"),
    "file-ignored": _w("file the scorer ignores", "remove it from the submission"),
    "masks-all-empty": _w("every mask is empty", "check the threshold and the value range of your "
                          "model's output"),
    "mask-dtype": _n("mask dtype is not uint8 or bool (scored correctly)",
                     "write uint8 to halve the upload: mask.astype('uint8')"),
    "system-file-ignored": _n("system file ignored (.DS_Store, ._*)"),
    "size-unchecked": _w("image size unknown: mask size not checked",
                         "pass the split's image folder with --images"),
    "masks-one-square-size": _w("every mask has one square size: the model's, not the photos'?",
                                "resize each prediction back to its photo's height x width "
                                "(magic pack --fix does it given --images); check with --images"),
    "sizes-not-checked": _n("mask sizes not checked", "pass --images DIR (or --data with the "
                            "dataset root) to check every mask's size"),
    # CVQA file.
    "cvqa-missing": _e(f"{CVQA_FILE} missing (the scorer crashes)",
                       f"write {CVQA_FILE} at the root; a segmentation-only team sends []"),
    "cvqa-not-file": _e(f"{CVQA_FILE} is not a regular file (the scorer crashes or hangs)",
                        f"write {CVQA_FILE} as a JSON file at the root"),
    "cvqa-bom": _e("starts with a UTF-8 byte-order mark (json.load rejects it)",
                   "save as UTF-8 without BOM: json.dump(records, open(path, 'w'))"),
    "cvqa-not-utf8": _e("not UTF-8", "write the file as UTF-8 with json.dump"),
    "cvqa-empty-file": _e("empty file", "write a JSON list ([] when CVQA is skipped)"),
    "cvqa-not-json": _e("not valid JSON", "write the file with json.dump"),
    "cvqa-not-list": _e("not a JSON list of records", "write a list with one object per encounter"),
    "cvqa-absent": _w("empty list: CVQA will score 0.0", "answer all 27 qids for every encounter"),
    "cvqa-record-not-object": _e("record that is not an object",
                                 "write one JSON object per encounter"),
    "cvqa-no-encounter-id": _e("record without 'encounter_id' (the scorer crashes)",
                               "add 'encounter_id' to every record"),
    "cvqa-encounter-id-type": _e("'encounter_id' is not a string (the scorer crashes)",
                                 'write ids as strings, e.g. "ENC00908"'),
    "cvqa-missing-encounter": _e("encounter of the split without answers (the scorer crashes)",
                                 "write one record per encounter of the split"),
    "cvqa-missing-parent": _e("question family without an answer (the scorer crashes)",
                              "answer every qid of all 9 families (NM when unsure)"),
    "cvqa-malformed-key": _e("11-character key that is not PARENT-SLOT (the scorer crashes)",
                             "use the qids of the definitions file, e.g. CQID010-001"),
    "cvqa-value-type": _e("answer that is not an int option index",
                          "write a 0-based int option index, e.g. 3 (not \"3\", 3.5, true or null)"),
    "cvqa-value-range": _e("option index out of range", "use 0 .. n_options-1; NM is the last index"),
    "cvqa-value-float": _w("float answer equal to an int (scored as the int)",
                           "write ints: int(value)"),
    "cvqa-unpadded": _w("multi-slot family not padded with NM",
                        "fill every slot: real answers first, then the NM index (magic pack --fix)"),
    "cvqa-repeated-answer": _w("multi-slot family repeats an answer instead of padding with NM",
                               "write each real answer once, then NM in the free slots"),
    "cvqa-nm-before-answer": _w("NM before a real answer in a family",
                                "put real answers in the first slots, NM after them"),
    "cvqa-duplicate-encounter": _w("several records for one encounter (merged into one set)",
                                   "write exactly one record per encounter"),
    "cvqa-encounter-suffix": _w("'encounter_id' with a '-' suffix (cut by the scorer)",
                                "write the plain encounter id, e.g. ENC00908"),
    "cvqa-extra-encounter": _w("answers for an encounter outside the split (ignored)",
                               "check that you answered the right split"),
    "cvqa-ignored-key": _w("key the scorer ignores", "use exactly the 27 qids, e.g. CQID010-001"),
    "cvqa-unknown-qid": _w("qid not among the 27", "use exactly the 27 qids of the definitions"),
    # Inputs of magic pack.
    "pack-ambiguous-mask": _e("several input files for one image", "keep one mask file per image"),
    "pack-no-input": _e("no input mask for an image", "predict a mask for every image of the split"),
    "pack-unpadded": _e("multi-slot family not padded with NM (pack refuses it: it scores lower)",
                        "pass --fix to pad with NM, or write NM in every free slot"),
}
_CODE_ORDER: dict[str, int] = {code: index for index, code in enumerate(CODES)}


@dataclass(frozen=True)
class Problem:
    """One finding: a stable ``code``, its severity, what is wrong, where, and how to fix it.

    ``file`` is relative to the submission root (``masks_preds/IMG_..._mask_sys.tiff``,
    ``data_cvqa_sys.json``), or the submission path itself for problems of the whole upload.
    """

    code: str
    severity: str
    message: str
    file: str | None = None
    image_id: str | None = None
    encounter_id: str | None = None
    qid: str | None = None
    hint: str | None = None

    @classmethod
    def of(cls, code: str, message: str, *, file: str | None = None, image_id: str | None = None,
           encounter_id: str | None = None, qid: str | None = None,
           hint: str | None = None) -> Problem:
        """A problem whose severity and default hint come from :data:`CODES`."""
        info = CODES[code]
        return cls(code, info.severity, message, file, image_id, encounter_id, qid,
                   hint or info.fix or None)

    @property
    def title(self) -> str:
        return CODES[self.code].title if self.code in CODES else self.code

    def where(self) -> str:
        """``file [image or encounter, qid]`` for one-line displays."""
        ids = [x for x in (self.image_id or self.encounter_id, self.qid) if x]
        place = self.file or ""
        if ids:
            place = f"{place} [{' '.join(ids)}]" if place else " ".join(ids)
        return place

    def to_dict(self) -> dict:
        return asdict(self)


def sort_key(problem: Problem) -> tuple:
    """Errors first, then by the order of codes in :data:`CODES`, then by place."""
    return (SEVERITIES.index(problem.severity), _CODE_ORDER.get(problem.code, len(_CODE_ORDER)),
            problem.file or "", problem.image_id or problem.encounter_id or "", problem.qid or "")
