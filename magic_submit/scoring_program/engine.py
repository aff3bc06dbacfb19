"""The scorer's whole-submission functions, imported in this one place.

They are what ``magic score`` calls (:mod:`magic_submit.scoring`); if they move again, only these
imports change.
"""

from __future__ import annotations

from evaluation.facts import OFFICIAL_KEYS
from magic_submit.scoring import ScoreReport, score_submission, write_scores_json

__all__ = ["OFFICIAL_KEYS", "ScoreReport", "score_submission", "write_scores_json"]
