"""CVQA scoring of two JSON files: read them as ``json.load`` does, score with :mod:`evaluation.cvqa`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.cvqa import CvqaResult, score_cvqa
from evaluation.errors import ScoringError
from magic_submit.errors import MagicError
from magic_submit.jsonio import read_json


@dataclass
class CvqaReport:
    scores: dict[str, float | int]
    result: CvqaResult
    notes: list[str] = field(default_factory=list)


def _records(data: object, path: Path) -> list[Mapping]:
    if not isinstance(data, list):
        raise MagicError(f"holds a {type(data).__name__}, not a list of encounter records",
                         file=path, hint="write a JSON list with one object per encounter")
    return data


def score_cvqa_files(pred_file: str | Path, ref_file: str | Path, *,
                     allow_missing: bool = False) -> CvqaReport:
    """Official CVQA figures of a submission file against a gold file."""
    pred_file, ref_file = Path(pred_file), Path(ref_file)
    gold = _records(read_json(ref_file, what="gold CVQA file"), ref_file)
    system = _records(read_json(pred_file, what="submission CVQA file"), pred_file)
    try:
        result = score_cvqa(gold, system, allow_missing=allow_missing, gold_source=str(ref_file),
                            system_source=str(pred_file))
    except ScoringError as error:
        raise MagicError.from_scoring(error) from None
    notes: list[str] = []
    if not system:
        notes.append(f"{pred_file.name} is an empty list: the platform scores CVQA 0.0")
    elif result.missing:
        notes.append(f"--allow-missing: {len(result.missing)} encounter(s)/parent(s) without an "
                     "answer scored as wrong")
    return CvqaReport(result.scores, result, notes)
