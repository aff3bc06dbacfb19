"""A leaderboard of several submissions with bootstrap intervals and paired flip rates.

Each submission is opened once, validated, then scored (:func:`evaluate_submission`) against
checks built once for the board (:func:`leaderboard_checks`); the ranking and
every interval come from the per-image and per-encounter tables of those scores
(:func:`rank_contenders`), resampling encounters with one shared seed so that neighbours are
compared on the same resamples.

Rules kept here:

* a submission is ranked on a metric only when it holds that part (no ``masks_preds/``: no
  segmentation ranks; no ``data_cvqa_sys.json``: no CVQA ranks, although the validator calls that
  file's absence an error for an upload); an empty ``masks_preds/`` scores 0.0 on every
  resample, as on the platform;
* ties share a rank (1, 2, 2, 4); a NaN figure (official NaN semantics) ranks last, without a rank;
* a neighbour difference is called real when the paired flip rate is below ``alpha`` (0.05).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluation.bootstrap import (
    DEFAULT_CONFIDENCE, build_metric_table, evaluate, flip_rate, interval, resample_counts,
)
from evaluation.facts import CVQA_ACCURACY_KEYS, FLOAT_SEG_KEYS, encounter_key
from evaluation.segmentation import EMPTY_IS_ONE_SUFFIX
from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.errors import MagicError
from magic_submit.naming import encounter_of_image
from magic_submit.reporting.reference import ReferenceContext
from magic_submit.scoring import ScoreReport, score_submission
from magic_submit.submission import open_submission
from magic_submit.validation import Problem, ValidationChecks, prepare_checks
from magic_submit.validation.core import check_opened, unopenable_problem
from magic_submit.validation.problems import ERROR

RANKED_METRICS: tuple[str, ...] = FLOAT_SEG_KEYS + CVQA_ACCURACY_KEYS
HEADLINE_METRICS: tuple[str, ...] = FLOAT_SEG_KEYS + ("accuracy_all",)
# A submission without a CVQA file is ranked on its masks alone (the symmetric case of no
# masks_preds/, a warning): its absence does not disqualify it here.
NOT_DISQUALIFYING = frozenset({"cvqa-missing"})
DEFAULT_ALPHA = 0.05


@dataclass
class Contender:
    """One submission on the board: its scores, or why it is not scored."""

    name: str
    source: Path
    report: ScoreReport | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.report is not None and not self.problems


def default_names(paths: Sequence[Path]) -> list[str]:
    """Each submission's file or folder name without ``.zip``; the path as given where names clash."""
    stems = [p.stem if p.suffix.lower() == ".zip" else p.name for p in paths]
    return [s if stems.count(s) == 1 else str(p) for s, p in zip(stems, paths)]


def _problem_text(problem: Problem) -> str:
    """One validator problem as a line: code, where, what, how to fix."""
    where = problem.where()
    text = f"[{problem.code}] {where + ': ' if where else ''}{problem.message}"
    return f"{text} (fix: {problem.hint})" if problem.hint else text


def leaderboard_checks(reference: ReferenceContext) -> ValidationChecks:
    """The validator's checks for every submission of a board: the split and the mask sizes
    (from the reference masks' headers; from the photos only without gold masks), read once."""
    masks = reference.files.masks_dir
    return prepare_checks(reference.encounters, reference_masks=masks,
                          images_dir=reference.images_dir if masks is None else None,
                          definitions=reference.definitions_file)


def evaluate_submission(path: Path, name: str, reference: ReferenceContext, *,
                        suffix: str = DEFAULT_SUFFIX,
                        checks: ValidationChecks | None = None) -> Contender:
    """Open one submission once, validate it (when ``checks`` are given), then score it.

    A broken one comes back with its problems, unscored.
    """
    contender = Contender(name, path)
    with ExitStack() as stack:
        try:
            sub = stack.enter_context(open_submission(path))
        except (MagicError, OSError) as error:  # missing, hostile zip, wrong layout
            contender.problems = [_problem_text(unopenable_problem(error, path))]
            return contender
        if checks is not None:
            found, _ = check_opened(sub, checks.targets, checks.sizes, suffix)
            errors = [p for p in found if p.severity == ERROR and p.code not in NOT_DISQUALIFYING]
            if errors:
                contender.problems = [_problem_text(p) for p in errors]
                return contender
        contender.notes.extend(sub.notes)
        try:
            contender.report = score_submission(sub, reference.files, suffix=suffix,
                                                only_held_parts=True)
        except MagicError as error:  # anything the official scorer would crash on
            contender.problems = [error.render()]
            return contender
        contender.notes.extend(f"warning: {w.text()}" for w in contender.report.warnings)
        contender.notes.extend(contender.report.all_notes())
    return contender


@dataclass(frozen=True)
class Standing:
    """One submission's place on one metric."""

    metric: str
    rank: int | None
    name: str
    value: float
    low: float
    high: float
    next_name: str | None = None
    flip_next: float = math.nan  # how often the next one down wins on a resample

    def differs_from_next(self, alpha: float = DEFAULT_ALPHA) -> bool | None:
        """Whether the gap to the next one is real (flip rate < alpha); None without a neighbour."""
        if self.next_name is None or math.isnan(self.flip_next):
            return None
        return self.flip_next < alpha


@dataclass
class Leaderboard:
    standings: dict[str, list[Standing]]
    contenders: list[Contender]
    encounters: list[str]
    n_resamples: int
    seed: int | None
    confidence: float
    empty_is_one: bool

    @property
    def invalid(self) -> list[Contender]:
        return [c for c in self.contenders if not c.valid]


def resampling_units(reference: ReferenceContext, contenders: Sequence[Contender]) -> list[str]:
    """The encounters to resample: the split's, plus any the scores mention (sorted, appended)."""
    units = list(dict.fromkeys(reference.encounter_ids))
    seen = set(units)
    extra: set[str] = set()
    for c in contenders:
        if c.report is None:
            continue
        if c.report.segmentation is not None:
            extra.update(encounter_of_image(r.image_id) for r in c.report.segmentation.images)
        if c.report.cvqa is not None:
            extra.update(encounter_key(r.encounter_id) for r in c.report.cvqa.result.rows)
    return units + sorted(extra - seen)


def bootstrap_samples(report: ScoreReport, encounters: Sequence[str], counts: np.ndarray, *,
                      empty_is_one: bool = False) -> dict[str, np.ndarray]:
    """Every scored metric of one submission on every resample (metric -> values)."""
    seg, cvqa = report.segmentation, report.cvqa
    table = build_metric_table(seg.images if seg else [], cvqa.result.rows if cvqa else (),
                               encounters, empty_is_one=empty_is_one, seg_scored=seg is not None,
                               cvqa_scored=cvqa is not None)
    values = evaluate(table, counts)
    samples = {m: values[:, i] for i, m in enumerate(table.metrics)}
    if seg is not None and not seg.images:  # no mask at all: the platform's 0.0, on every resample
        samples.update({m: np.zeros(len(counts)) for m in FLOAT_SEG_KEYS})
    return samples


def _point(report: ScoreReport, metric: str, empty_is_one: bool) -> float:
    if empty_is_one and metric in FLOAT_SEG_KEYS:
        return float(report.segmentation.scores[metric + EMPTY_IS_ONE_SUFFIX])
    return float(report.official()[metric])


def _order_key(item: tuple[float, str]) -> tuple[bool, float, str]:
    value, name = item
    return (math.isnan(value), -value if not math.isnan(value) else 0.0, name)


def rank_metric(metric: str, points: dict[str, float], samples: dict[str, np.ndarray],
                confidence: float = DEFAULT_CONFIDENCE) -> list[Standing]:
    """Order by value (highest first, NaN last), competition ranks, flip rate to the next one."""
    order = sorted(((v, n) for n, v in points.items()), key=_order_key)
    standings: list[Standing] = []
    for position, (value, name) in enumerate(order):
        rank = None if math.isnan(value) else 1 + sum(v > value for v, _ in order)
        low, high = interval(samples[name], confidence)
        next_name, flip = None, math.nan
        if position + 1 < len(order):
            next_name = order[position + 1][1]
            flip = flip_rate(samples[name], samples[next_name])
        standings.append(Standing(metric, rank, name, value, low, high, next_name, flip))
    return standings


def rank_contenders(contenders: Sequence[Contender], reference: ReferenceContext, *,
                    n_resamples: int = 1000, seed: int | None = 0,
                    confidence: float = DEFAULT_CONFIDENCE,
                    empty_is_one: bool = False) -> Leaderboard:
    """Rank the valid contenders on each metric they hold, with intervals and flip rates."""
    encounters = resampling_units(reference, contenders)
    counts = resample_counts(len(encounters), n_resamples, seed)
    samples: dict[str, dict[str, np.ndarray]] = {}
    points: dict[str, dict[str, float]] = {}
    for c in contenders:
        if not c.valid:
            continue
        for metric, values in bootstrap_samples(c.report, encounters, counts,
                                                empty_is_one=empty_is_one).items():
            samples.setdefault(metric, {})[c.name] = values
            points.setdefault(metric, {})[c.name] = _point(c.report, metric, empty_is_one)
    standings = {m: rank_metric(m, points[m], samples[m], confidence)
                 for m in RANKED_METRICS if m in points}
    return Leaderboard(standings, list(contenders), encounters, n_resamples, seed, confidence,
                       empty_is_one)
