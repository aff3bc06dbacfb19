"""The ``text`` baseline: TF-IDF features of the encounter's query, one linear model per family.

* Features: word 1-2-gram and character 2-5-gram TF-IDF (sublinear tf) of the cleaned English
  query title + content (optionally the responses), fitted on the training texts only.
* Per family, one-vs-rest binary logistic regressions, one per option (liblinear, dual: fast
  when features outnumber texts). Single-slot family: the most probable option (NM included).
  Multi-slot family: real options only (NM excluded), decoded into a set by a
  :class:`~baselines.vqa.decoding.SetPolicy` (threshold / top-k / fallback), then padded with
  NM as the gold is.
* Per family, K-fold cross-validation on the training split alone chooses the regularisation
  (C), the class weighting and the set policy by mean IoM (the official per-family score), and
  keeps the prior (:mod:`baselines.vqa.prior`) unless a model beats it out of fold. Seeded.

Option indices are used as opaque labels and ties fall to the lower score-sorted position, so a
permuted definitions file (with its gold permuted alike) permutes the predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from baselines.vqa.data import FamilyAnswers
from baselines.vqa.decoding import (SetPolicy, answer_set, candidate_policies, decode_scores,
                                    nm_pads, padded_set, real_answers)
from baselines.vqa.prior import most_frequent_set
from evaluation.cvqa import iom
from magic_submit.challenge import PARENTS, Parent
from magic_submit.errors import MagicError

Predictor = Callable[[object], np.ndarray]  # features -> P(option) per encounter


@dataclass(frozen=True)
class LinearConfig:
    """Regularisation of one logistic regression."""

    C: float
    class_weight: str | None

    def describe(self) -> str:
        return f"C={self.C:g}" + (", balanced" if self.class_weight else "")


@dataclass(frozen=True)
class TextModelConfig:
    folds: int = 5
    c_grid: tuple[float, ...] = (0.25, 1.0, 4.0, 16.0, 64.0)
    class_weights: tuple[str | None, ...] = (None, "balanced")
    with_responses: bool = False
    seed: int = 0

    def linear_configs(self) -> list[LinearConfig]:
        return [LinearConfig(c, w) for w in self.class_weights for c in self.c_grid]


@dataclass(frozen=True)
class FamilyChoice:
    """What cross-validation chose for one family; its out-of-fold mean IoM and the prior's."""

    parent: str
    linear: LinearConfig | None  # None: the prior answer set
    policy: SetPolicy | None  # multi-slot families only
    cv_iom: float
    prior_cv_iom: float

    def describe(self) -> str:
        if self.linear is None:
            return f"prior (cv {self.prior_cv_iom:.3f})"
        policy = f", {self.policy.describe()}" if self.policy else ""
        return (f"logreg {self.linear.describe()}{policy} (cv {self.cv_iom:.3f} vs prior "
                f"{self.prior_cv_iom:.3f})")


def make_featurizer(n_docs: int):
    """Word 1-2-gram + char 2-5-gram TF-IDF; rare terms kept only on tiny corpora."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    min_df = 2 if n_docs >= 20 else 1  # fewer than 20 texts: a term seen once may still matter
    return FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True,
                                 strip_accents="unicode")),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                 sublinear_tf=True, max_features=50000)),
    ])


def fit_featurizer(train_texts: Sequence[str]):
    """The featurizer fitted on ``train_texts``, and the transformed training texts."""
    featurizer = make_featurizer(len(train_texts))
    try:
        x_train = featurizer.fit_transform(list(train_texts))
    except ValueError:  # sklearn: "empty vocabulary"
        raise MagicError("the training queries hold no English text to learn from",
                         hint="check query_title_en / query_content_en, or use --method prior")
    return featurizer, x_train


@dataclass(frozen=True)
class OptionProbability:
    """features -> P(option): a fitted logistic regression, or a constant when the option was
    always or never the answer in training. A plain object, so a fitted model can be saved."""

    model: object = None  # sklearn LogisticRegression, or None for the constant
    constant: float = 0.0

    def __call__(self, features) -> np.ndarray:
        if self.model is None:
            return np.full(features.shape[0], self.constant)
        return self.model.predict_proba(features)[:, 1]


def option_probability(x, y: np.ndarray, config: LinearConfig, seed: int) -> Predictor:
    """A fitted binary logistic regression (liblinear, dual: features outnumber texts) as
    features -> P(option); constant when the option is always or never the answer in training."""
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():  # one class in training: its frequency, 0.0 or 1.0
        return OptionProbability(constant=float(y[0]))
    return OptionProbability(LogisticRegression(
        C=config.C, class_weight=config.class_weight, solver="liblinear", dual=True,
        max_iter=1000, random_state=seed).fit(x, y))


def option_predictors(x_train, targets: np.ndarray, config: LinearConfig,
                      seed: int) -> list[Predictor]:
    """One fitted :func:`option_probability` per option (column of ``targets``)."""
    return [option_probability(x_train, targets[:, j], config, seed)
            for j in range(targets.shape[1])]


def option_scores(predictors: Sequence[Predictor], x) -> np.ndarray:
    """One-vs-rest option probabilities of the rows of ``x`` (encounters x options)."""
    return np.stack([predict(x) for predict in predictors], axis=1)


def family_targets(gold: Sequence[FamilyAnswers], parent: Parent) -> np.ndarray:
    """A 0/1 matrix (encounters x options): single slot, every option (NM too, a real answer
    there); multi-slot, the real options only (NM comes from the padding convention)."""
    width = parent.nm_index if parent.multi_slot else parent.n_options
    targets = np.zeros((len(gold), width), dtype=int)
    for row, answers in enumerate(gold):
        values = answers[parent.id]
        for option in real_answers(values, parent) if parent.multi_slot else values:
            targets[row, option] = 1
    return targets


def decode_family(scores: np.ndarray, parent: Parent, policy: SetPolicy | None,
                  prior: Sequence[int], pad_nm: bool) -> tuple[int, ...]:
    """One encounter's answer set from its option probabilities: the best option (single slot,
    ties to the lower index) or a padded set chosen by ``policy`` (multi-slot)."""
    if not parent.multi_slot:
        return (int(np.argmax(scores)),)
    real = decode_scores(scores.tolist(), policy, real_answers(prior, parent))
    return padded_set(real, parent, pad_nm=pad_nm)


def mean_iom(gold_sets: Sequence[Sequence[int]], predicted: Sequence[Sequence[int]]) -> float:
    return float(np.mean([iom(g, p) for g, p in zip(gold_sets, predicted)]))


class TextModel:
    """Fit with :meth:`fit`, then :meth:`predict` answer sets per family for new texts."""

    def __init__(self, config: TextModelConfig = TextModelConfig()) -> None:
        self.config = config
        self.choices: dict[str, FamilyChoice] = {}
        self._featurizer = None
        self._predictors: dict[str, list[Predictor]] = {}  # families where a model won
        self._priors: dict[str, tuple[int, ...]] = {}
        self._pad: dict[str, bool] = {}

    def fit(self, texts: Sequence[str], gold: Sequence[FamilyAnswers]) -> "TextModel":
        """Choose per family by cross-validation, then fit the featurizer and the chosen
        models once on all the training texts."""
        if len(texts) != len(gold) or not texts:
            raise ValueError("texts and gold must be non-empty and of equal length")
        self._pad = {p.id: nm_pads((g[p.id] for g in gold), p) for p in PARENTS}
        self.choices = self._cross_validate(texts, gold, self._pad)
        self._priors = {p.id: most_frequent_set((g[p.id] for g in gold), p) for p in PARENTS}
        self._featurizer, x_train = fit_featurizer(texts)
        self._predictors = {
            p.id: option_predictors(x_train, family_targets(gold, p), self.choices[p.id].linear,
                                    self.config.seed)
            for p in PARENTS if self.choices[p.id].linear is not None}
        return self

    def predict(self, texts: Sequence[str]) -> list[dict[str, tuple[int, ...]]]:
        """Answer sets per family for each text (the fitted models only transform and score)."""
        if self._featurizer is None:
            raise RuntimeError("call fit() first")
        if not len(texts):
            return []
        x_new = self._featurizer.transform(list(texts))
        out: list[dict[str, tuple[int, ...]]] = [{} for _ in texts]
        for parent in PARENTS:
            prior = self._priors[parent.id]
            if parent.id not in self._predictors:  # the prior won out of fold
                for row in out:
                    row[parent.id] = prior
                continue
            scores = option_scores(self._predictors[parent.id], x_new)
            for row, score in zip(out, scores):
                row[parent.id] = decode_family(score, parent, self.choices[parent.id].policy,
                                               prior, self._pad[parent.id])
        return out

    def _cross_validate(self, texts: Sequence[str], gold: Sequence[FamilyAnswers],
                        pad: dict[str, bool]) -> dict[str, FamilyChoice]:
        """Out-of-fold scores of every configuration; per family the best, or the prior."""
        from sklearn.model_selection import KFold

        n = len(texts)
        configs = self.config.linear_configs()
        folds = KFold(n_splits=max(2, min(self.config.folds, n)), shuffle=True,
                      random_state=self.config.seed).split(np.arange(n)) if n >= 2 else []
        targets = {p.id: family_targets(gold, p) for p in PARENTS}
        # out-of-fold outputs: [family][config index] -> labels or probabilities; prior sets
        oof = {p.id: [np.zeros(targets[p.id].shape) for _ in configs] for p in PARENTS}
        oof_prior: dict[str, list[tuple[int, ...]]] = {p.id: [()] * n for p in PARENTS}
        for train_idx, test_idx in folds:
            featurizer, x_train = fit_featurizer([texts[i] for i in train_idx])
            x_test = featurizer.transform([texts[i] for i in test_idx])
            for parent in PARENTS:
                prior = most_frequent_set((gold[i][parent.id] for i in train_idx), parent)
                for i in test_idx:
                    oof_prior[parent.id][i] = prior
                for k, config in enumerate(configs):
                    predictors = option_predictors(x_train, targets[parent.id][train_idx], config,
                                                   self.config.seed)
                    oof[parent.id][k][test_idx] = option_scores(predictors, x_test)
        choices: dict[str, FamilyChoice] = {}
        for parent in PARENTS:
            gold_sets = [answer_set(g[parent.id], parent) for g in gold]
            if n < 2:  # nothing to cross-validate on: keep the prior
                choices[parent.id] = FamilyChoice(parent.id, None, None, 1.0, 1.0)
                continue
            prior_score = mean_iom(gold_sets, oof_prior[parent.id])
            best = FamilyChoice(parent.id, None, None, prior_score, prior_score)
            policies = candidate_policies(parent) if parent.multi_slot else [None]
            for k, config in enumerate(configs):
                for policy in policies:
                    predicted = [decode_family(oof[parent.id][k][i], parent, policy,
                                               oof_prior[parent.id][i], pad[parent.id])
                                 for i in range(n)]
                    score = mean_iom(gold_sets, predicted)
                    if score > best.cv_iom + 1e-12:  # strictly better, else the simpler choice
                        best = FamilyChoice(parent.id, config, policy, score, prior_score)
            choices[parent.id] = best
        return choices
