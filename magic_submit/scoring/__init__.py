"""Scoring a submission as the official scorer does: the toolkit's I/O around :mod:`evaluation`.

The two entry points:

* :func:`score_submission` scores an opened submission against an opened reference and returns a
  :class:`ScoreReport` (official figures, per-image and per-encounter detail, notes);
* :func:`write_scores_json` writes the official ``scores.json`` of a report
  (:func:`write_score_outputs` adds ``per_image.csv`` and ``per_encounter.csv``).

>>> from magic_submit.submission import open_reference, open_submission
>>> with open_submission("sample_data/submission") as sub:
...     report = score_submission(sub, open_reference("sample_data", "test"))
>>> report.official()["number_cvqa_instances"], round(report.official()["dice"], 4)
(12, 0.7099)
"""

from magic_submit.scoring.outputs import write_score_outputs, write_scores_json
from magic_submit.scoring.report import METRIC_DESCRIPTIONS, ScoreReport, score_submission

__all__ = ["METRIC_DESCRIPTIONS", "ScoreReport", "score_submission", "write_score_outputs",
           "write_scores_json"]
