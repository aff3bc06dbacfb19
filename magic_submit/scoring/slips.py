"""Slips that ``magic score`` scores as the official scorer does, but says out loud.

``magic score`` gives the official figure wherever the official scorer gives one. When the input
is something ``magic validate-submission`` would refuse (a 0/255 mask, a transposed one, a
string answer...) or that scores other than a team surely meant (a float answer), the report
carries a :class:`ScoreWarning` naming every culprit and the fix. The classification is the
validator's own (:func:`~magic_submit.validation.mask_content.content_problems`,
:func:`~magic_submit.validation.cvqa_check.value_problem`): one rule for each slip.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from evaluation.facts import ENCOUNTER_KEY, PARENT_BY_ID, encounter_key, is_scored_key
from magic_submit.challenge import CVQA_SUBMISSION_FILE, MASKS_PRED_DIR
from magic_submit.files import FOLDER, MISSING, masks_not_folder
from magic_submit.scoring.cvqa_files import CvqaReport
from magic_submit.scoring.segmentation_files import SegmentationReport
from magic_submit.submission import SubmissionFiles
from magic_submit.validation.cvqa_check import value_problem
from magic_submit.validation.mask_content import content_problems
from magic_submit.validation.problems import ERROR

_REFUSED = "magic validate-submission refuses"

# code -> (what it does to the official figure, the fix). Commands are named only where they
# really repair the slip (magic pack --fix, given the split and the images, rewrites the masks).
_EFFECTS: dict[str, tuple[str, str]] = {
    "mask-duplicate": (
        "come as two identical files read as one mask: the official result does not depend on "
        "which one its directory listing gives last", "keep exactly one file per image"),
    "mask-one-pixel": (
        "hold a single pixel: numpy broadcasts it over every pixel of the reference, so the "
        "official scorer scores each as a full mask of that value (all foreground if it is 1)",
        "write each mask at its image's height x width"),
    "mask-values-255": (
        "hold 0/255 values: the official scorer counts only pixels equal to 1 (after a uint8 "
        "cast), so it sees no foreground in them",
        "write 0/1 masks: (mask > 0).astype('uint8'); magic pack --fix maps 0/255 to 0/1"),
    "mask-values-probability": (
        "hold probabilities: the official uint8 cast truncates them, so only pixels of exactly "
        "1.0 count as foreground",
        "threshold them: (prob > 0.5).astype('uint8'); magic pack --fix thresholds at 0.5"),
    "mask-values": (
        "hold values other than 0/1: only pixels equal to 1 after a uint8 cast count as "
        "foreground", "write 0/1 masks, foreground = 1"),
    "mask-size": (
        "have another height x width than the reference with the same pixel count: the official "
        "scorer compares them flattened, pixel by pixel in memory order, so they do not line up",
        "write each mask at its image's height x width (a swapped one: mask.T)"),
    "mask-not-2d": (
        "are not 2-D: the official scorer compares them flattened",
        "write one 2-D page per mask; magic pack --fix drops single pages and identical channels"),
    "cvqa-value-type": (
        "are not int option indices: a string, a non-integral float or null never equals the "
        "gold's int, so each scores as a wrong answer (a boolean counts as 0 or 1)",
        'write 0-based int option indices, e.g. 3 (not "3", 3.5 or true)'),
    "cvqa-value-range": (
        "are out of the option range: they never match the gold",
        "use 0 .. n_options-1; NM is the last index"),
    "cvqa-value-float": (
        "are floats equal to ints: scored as the ints, as meant",
        "write ints: int(value); magic pack --fix converts them"),
}


@dataclass(frozen=True)
class ScoreWarning:
    """A slip in a scored submission: what it does to the figure, who is at fault, the fix."""

    code: str
    message: str
    culprits: tuple[str, ...] = ()
    fix: str | None = None

    def text(self, limit: int = 10) -> str:
        """One line: the message, at most ``limit`` culprits (0 = all), the fix."""
        shown = self.culprits if limit <= 0 else self.culprits[:limit]
        head = f"{self.message}: {', '.join(shown)}" if shown else self.message
        if len(shown) < len(self.culprits):
            head += f" (+{len(self.culprits) - len(shown)} more)"
        return f"{head}; fix: {self.fix}" if self.fix else head

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "culprits": list(self.culprits),
                "fix": self.fix}


def _grouped(found: list[tuple[str, str, bool]], where: str) -> list[ScoreWarning]:
    """(code, culprit, refused) triples -> one warning per code, in the order of ``_EFFECTS``."""
    warnings = []
    for code, (effect, fix) in _EFFECTS.items():
        culprits = tuple(c for k, c, _ in found if k == code)
        if culprits:
            refused = any(r for k, _, r in found if k == code)
            tail = f" ({_REFUSED} them)" if refused else ""
            warnings.append(ScoreWarning(code, f"{len(culprits)} {where} {effect}{tail}", culprits,
                                         fix))
    return warnings


def mask_warnings(report: SegmentationReport) -> list[ScoreWarning]:
    """The scored predictions that the validator would refuse, grouped by slip."""
    found = [("mask-duplicate", pair, True) for pair in report.identical_duplicates]
    for result in report.images:
        facts = report.predictions.get(result.image_id)
        if facts is None:
            continue
        name = report.prediction_files[result.image_id].name
        if math.prod(facts.shape) == 1 and math.prod(result.shape) != 1:
            found.append(("mask-one-pixel", name, True))
            continue
        expected = result.shape if len(result.shape) == 2 else None
        for problem in content_problems(facts, expected, file=name, image_id=result.image_id):
            if problem.code in _EFFECTS:  # each of them an error of the validator
                found.append((problem.code, name, True))
    return _grouped(found, f"prediction(s) in {MASKS_PRED_DIR}/")


def cvqa_warnings(report: CvqaReport) -> list[ScoreWarning]:
    """Answers of scored (gold encounter, family) pairs that are not int option indices.

    The file was scored, so it holds a list of objects with string ids (JSON: string keys), or a
    value of length 0 (no answer to look at).
    """
    gold = {row.encounter_id for row in report.result.rows}
    found: list[tuple[str, str, bool]] = []
    for record in report.system_data or []:
        enc = encounter_key(record[ENCOUNTER_KEY])
        if enc not in gold:
            continue
        for key, value in record.items():
            parent = PARENT_BY_ID.get(key.split("-")[0])
            if parent is None or not is_scored_key(key):
                continue
            problem, _ = value_problem(value, key, parent.n_options, {"file": CVQA_SUBMISSION_FILE})
            if problem is not None and problem.code in _EFFECTS:
                found.append((problem.code, f"{enc} {key} ({value!r:.20})",
                              problem.severity == ERROR))
    return _grouped(found, f"answer(s) in {CVQA_SUBMISSION_FILE}")


def part_warnings(submission: SubmissionFiles, cvqa: CvqaReport | None) -> list[ScoreWarning]:
    """A ``masks_preds`` that is not a folder; a CVQA file of length 0 that is not a list."""
    warnings = []
    if submission.masks_kind not in (FOLDER, MISSING):
        warnings.append(ScoreWarning(
            "masks-not-folder", f"{masks_not_folder(submission.masks_kind)} ({_REFUSED} it)",
            (str(submission.masks_path),),
            f"make {MASKS_PRED_DIR}/ a folder holding the masks"))
    data = cvqa.system_data if cvqa is not None else None
    if isinstance(data, (dict, str)) and not data:
        warnings.append(ScoreWarning(
            "cvqa-not-list", f"{CVQA_SUBMISSION_FILE} holds {json.dumps(data)}, not a list: the "
            "official scorer takes any value of length 0 as no answer and scores CVQA 0.0 with "
            f"number_cvqa_instances = 0 ({_REFUSED} it)", (str(submission.cvqa_path),),
            "write [] to skip CVQA, or one record per encounter"))
    return warnings


def find_warnings(submission: SubmissionFiles, segmentation: SegmentationReport | None,
                  cvqa: CvqaReport | None) -> list[ScoreWarning]:
    """Every slip of a scored submission, parts first, then masks, then answers."""
    warnings = part_warnings(submission, cvqa)
    if segmentation is not None:
        warnings.extend(mask_warnings(segmentation))
    if cvqa is not None:
        warnings.extend(cvqa_warnings(cvqa))
    return warnings
