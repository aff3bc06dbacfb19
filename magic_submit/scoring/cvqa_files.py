"""CVQA scoring of two JSON files: read them as ``json.load`` does, score with :mod:`evaluation.cvqa`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.cvqa import CvqaResult, score_cvqa
from evaluation.errors import ScoringError
from evaluation.facts import CVQA_COUNT_KEY
from magic_submit.errors import MagicError
from magic_submit.jsonio import read_json


@dataclass
class CvqaReport:
    """The figures, the per-(encounter, parent) rows behind them, notes, and the system file's
    loaded content (``system_data``, which :mod:`magic_submit.scoring.slips` inspects)."""

    scores: dict[str, float | int]
    result: CvqaResult
    notes: list[str] = field(default_factory=list)
    system_data: Any = None


def score_cvqa_files(pred_file: str | Path, ref_file: str | Path, *,
                     allow_missing: bool = False) -> CvqaReport:
    """Official CVQA figures of a submission file against a gold file.

    Raises :class:`MagicError` wherever the official scorer crashes or hangs, naming the file.
    """
    pred_file, ref_file = Path(pred_file), Path(ref_file)
    gold = read_json(ref_file, what="gold CVQA file")
    system = read_json(pred_file, what="submission CVQA file")
    try:
        result = score_cvqa(gold, system, allow_missing=allow_missing, gold_source=str(ref_file),
                            system_source=str(pred_file))
    except ScoringError as error:
        raise MagicError.from_scoring(error) from None
    notes: list[str] = []
    if result.scores[CVQA_COUNT_KEY] == 0:  # a system value of length 0: nothing is missing
        if isinstance(system, list):  # {} and "" get a warning instead (scoring.slips)
            notes.append(f"{pred_file.name} is an empty list: the official scorer scores CVQA 0.0 "
                         "with number_cvqa_instances = 0")
    elif result.missing:
        notes.append(f"--allow-missing: {len(result.missing)} encounter(s)/parent(s) without an "
                     "answer scored as wrong")
    return CvqaReport(result.scores, result, notes, system)
