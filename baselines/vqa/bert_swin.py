"""The ``bert-swin`` baseline: the seed paper's option scorer, with options and images aligned.

Every option j of a family is scored by one shared feed-forward head over
``[proj(text_j) ; proj(image) ; proj(query)]`` (:class:`OptionScorer`; the query part is this
toolkit's addition, off with ``query_context=False``), so the scores follow the options of the
definitions file wherever they sit: permuting the options permutes the scores. Objectives:

* single-slot family: k-way cross-entropy over its options (NM is an ordinary answer);
* multi-slot family: one sigmoid per option (binary cross-entropy): 1 for each real answer in
  the gold set, and NM = 1 only when the gold holds no real answer. Decoding keeps the real
  options with p >= 0.5 (at most the family's slots); when none passes, the best option (NM:
  no real answer); then NM padding as the gold (:mod:`baselines.vqa.decoding`).

AdamW (lr 5e-4, betas 0.9/0.999, weight decay 0.01), dropout 0.1, gradient clipping 1.0, mixed
precision on CUDA (bf16, else fp16 with a gradient scaler), fp32 on the CPU; early stopping on
the validation ``accuracy_all`` (official scorer maths), the best epoch's weights kept.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from baselines.runtime import Runtime, session, train_step
from baselines.vqa.bert_swin_features import (SplitFeatures, build_features, encode_options,
                                               load_encoders)
from baselines.vqa.data import FamilyAnswers, FamilyOptions, SplitData, family_answers
from baselines.vqa.decoding import (SetPolicy, decode_scores, nm_pads, padded_set, real_answers,
                                    to_record)
from baselines.vqa.tiny import model_sources
from evaluation.cvqa import score_cvqa
from magic_submit.challenge import PARENTS, Parent
from magic_submit.dataset import DatasetLayout

AnswerSets = list[dict[str, tuple[int, ...]]]
MULTI_SLOT_THRESHOLD = 0.5


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    batch_size: int = 16
    lr: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.01
    dropout: float = 0.1
    clip: float = 1.0
    patience: int = 3
    hidden: int = 256
    seed: int = 0


class OptionSharedDropout(nn.Dropout):
    """Dropout whose mask is drawn per encounter and shared by all its options (``[b, k, d]``
    inputs): the options are compared under the same mask, and the training stays exactly
    equivariant to the order of the options."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x[:, :1]).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)


class OptionScorer(nn.Module):
    """One logit per option from its text vector, the encounter's image vector and, optionally,
    the encounter's query vector: one shared head, so option order never matters."""

    def __init__(self, text_dim: int, image_dim: int, *, context: bool, hidden: int = 256,
                 dropout: float = 0.1):
        super().__init__()
        self.option_proj = nn.Linear(text_dim, hidden)
        self.image_proj = nn.Linear(image_dim, hidden)
        self.context_proj = nn.Linear(text_dim, hidden) if context else None
        width = hidden * (3 if context else 2)
        self.head = nn.Sequential(nn.GELU(), OptionSharedDropout(dropout), nn.Linear(width, hidden),
                                  nn.GELU(), OptionSharedDropout(dropout), nn.Linear(hidden, 1))

    def forward(self, options: torch.Tensor, image: torch.Tensor,
                context: torch.Tensor | None = None) -> torch.Tensor:
        """``options`` [k, dt], ``image`` [b, di], ``context`` [b, dt] -> logits [b, k]."""
        k, b = options.shape[0], image.shape[0]
        parts = [self.option_proj(options).unsqueeze(0).expand(b, k, -1),
                 self.image_proj(image).unsqueeze(1).expand(b, k, -1)]
        if self.context_proj is not None:
            parts.append(self.context_proj(context).unsqueeze(1).expand(b, k, -1))
        return self.head(torch.cat(parts, dim=-1)).squeeze(-1)

    def score(self, options: torch.Tensor, features: SplitFeatures, rows: Any = slice(None)):
        context = features.context[rows] if features.context is not None else None
        return self(options, features.image[rows], context)


@dataclass(frozen=True)
class Scaling:
    """Per-dimension centring and scaling by a reference's rows (float64 statistics: the same to
    the last bit in any row order). Frozen [CLS] and pooled vectors share a large common
    component (random or not); removing it lets the head tell options and encounters apart
    from its first step."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, reference: torch.Tensor) -> "Scaling":
        wide = reference.double()
        std = wide.std(dim=0, keepdim=True).nan_to_num(1.0).clamp(min=1e-6)  # 1 row: std NaN
        return cls(wide.mean(dim=0, keepdim=True), std)

    def apply(self, tensor: torch.Tensor) -> torch.Tensor:
        return ((tensor.double() - self.mean.to(tensor.device)) / self.std.to(tensor.device)
                ).to(tensor.dtype)


def standardize(reference: torch.Tensor, *tensors: torch.Tensor) -> list[torch.Tensor]:
    """Each tensor centred and scaled per dimension by ``reference``'s rows (:class:`Scaling`)."""
    scaling = Scaling.fit(reference)
    return [scaling.apply(t) for t in tensors]


def standardize_features(options: dict[str, torch.Tensor], train: SplitFeatures,
                         others: Sequence[SplitFeatures]) -> dict[str, Scaling | None]:
    """In place: options by all options' statistics, images and queries by the training split's.
    Returns the image and query scalings (what a saved run applies to a new split)."""
    options.update(zip(options, standardize(torch.cat(list(options.values())), *options.values())))
    scalings: dict[str, Scaling | None] = {"image": Scaling.fit(train.image), "context": None}
    if train.context is not None:
        scalings["context"] = Scaling.fit(train.context)
    for split in [train, *others]:
        apply_scalings(split, scalings)
    return scalings


def apply_scalings(features: SplitFeatures, scalings: Mapping[str, Scaling | None]) -> None:
    """In place: a split's image (and query) vectors scaled as the training split's were."""
    features.image = scalings["image"].apply(features.image)
    if features.context is not None and scalings["context"] is not None:
        features.context = scalings["context"].apply(features.context)


def family_targets(gold: Sequence[FamilyAnswers], parent: Parent) -> torch.Tensor:
    """Single slot: option index per encounter. Multi-slot: 0/1 over all options (NM = no real)."""
    if not parent.multi_slot:
        return torch.tensor([g[parent.id][0] for g in gold], dtype=torch.long)
    targets = torch.zeros((len(gold), parent.n_options))
    for row, answers in enumerate(gold):
        real = real_answers(answers[parent.id], parent)
        for option in real or (parent.nm_index,):
            targets[row, option] = 1.0
    return targets


def family_loss(logits: torch.Tensor, targets: torch.Tensor, parent: Parent) -> torch.Tensor:
    logits = logits.float()
    if parent.multi_slot:
        return nn.functional.binary_cross_entropy_with_logits(logits, targets)
    return nn.functional.cross_entropy(logits, targets)


def decode_family(logits: torch.Tensor, parent: Parent, pad_nm: bool) -> tuple[int, ...]:
    """One encounter's answer set from its option logits (see the module docstring)."""
    if not parent.multi_slot:
        return (int(torch.argmax(logits)),)
    probs = torch.sigmoid(logits.float()).tolist()
    real_probs, nm_prob = probs[: parent.nm_index], probs[parent.nm_index]
    best_real = max(real_probs)
    if best_real < MULTI_SLOT_THRESHOLD and nm_prob > best_real:  # NM wins: no real answer
        return padded_set((), parent, pad_nm=pad_nm)
    policy = SetPolicy(threshold=MULTI_SLOT_THRESHOLD, top_k=parent.slots, fallback="top1")
    return padded_set(decode_scores(real_probs, policy), parent, pad_nm=pad_nm)


@torch.no_grad()
def predict_sets(model: OptionScorer, options: Mapping[str, torch.Tensor],
                 features: SplitFeatures, runtime: Runtime, pad: Mapping[str, bool]) -> AnswerSets:
    """Answer sets per family for every encounter of ``features``."""
    model.eval()
    out: AnswerSets = [{} for _ in range(len(features))]
    for parent in PARENTS:
        with runtime.autocast():
            logits = model.score(options[parent.id], features).float().cpu()
        for row, encounter_logits in enumerate(logits):
            out[row][parent.id] = decode_family(encounter_logits, parent, pad[parent.id])
    return out


def score_sets(encounter_ids: Sequence[str], sets: AnswerSets,
               gold_records: Sequence[dict]) -> dict:
    """Official CVQA figures of predicted answer sets against gold records."""
    records = [to_record(enc, answers) for enc, answers in zip(encounter_ids, sets)]
    return score_cvqa(gold_records, records).scores


@dataclass
class TrainOutcome:
    model: OptionScorer
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False


def train_scorer(options: Mapping[str, torch.Tensor], train: SplitFeatures,
                 gold: Sequence[FamilyAnswers], valid: SplitFeatures | None,
                 valid_gold: Sequence[dict] | None, settings: TrainSettings, runtime: Runtime,
                 pad: Mapping[str, bool],
                 on_epoch: Callable[[dict[str, Any]], None] | None = None) -> TrainOutcome:
    """Train the head; with validation gold, stop after ``patience`` epochs without a better
    ``accuracy_all`` and return the best epoch's weights, else the last epoch's."""
    torch.manual_seed(settings.seed)
    model = OptionScorer(options[PARENTS[0].id].shape[-1], train.image.shape[-1],
                         context=train.context is not None, hidden=settings.hidden,
                         dropout=settings.dropout).to(runtime.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, betas=settings.betas,
                                  weight_decay=settings.weight_decay)
    scaler = runtime.make_scaler()
    targets = {p.id: family_targets(gold, p).to(runtime.device) for p in PARENTS}
    generator = torch.Generator().manual_seed(settings.seed)
    outcome = TrainOutcome(model)
    best_value, best_state, waited = -1.0, None, 0
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(train), generator=generator).to(runtime.device)
        total, batches = 0.0, 0
        for start in range(0, len(train), settings.batch_size):
            rows = order[start:start + settings.batch_size]
            with runtime.autocast():
                losses = [family_loss(model.score(options[p.id], train, rows),
                                      targets[p.id][rows], p) for p in PARENTS]
                loss = torch.stack(losses).mean()
            train_step(loss, optimizer, scaler, model.parameters(), settings.clip)
            total, batches = total + float(loss.detach()), batches + 1
        record: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(batches, 1)}
        if valid is not None and valid_gold is not None:
            record["valid"] = score_sets(
                valid.encounter_ids, predict_sets(model, options, valid, runtime, pad), valid_gold)
            value = record["valid"]["accuracy_all"]
            if value > best_value:
                best_value, best_state, waited = value, copy.deepcopy(model.state_dict()), 0
                outcome.best_epoch, record["best"] = epoch, True
            else:
                waited += 1
        record["seconds"] = round(time.perf_counter() - started, 3)
        outcome.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if valid_gold is not None and waited >= settings.patience:
            outcome.stopped_early = epoch < settings.epochs
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:  # no validation gold: the last epoch
        outcome.best_epoch = len(outcome.history)
    return outcome


@dataclass
class BertSwinResult:
    valid_sets: AnswerSets | None
    predict_sets: AnswerSets
    outcome: TrainOutcome
    device: str
    precision: str
    images: dict[str, int]  # split -> photos encoded
    checkpoint: dict[str, Any] = field(default_factory=dict)  # what predicting again needs


def fit_predict(train: SplitData, valid: SplitData | None, predict: SplitData,
                layout: DatasetLayout, families: dict[str, FamilyOptions], *, model_text: str,
                model_image: str, device: str, query_context: bool, with_responses: bool,
                settings: TrainSettings, log: Callable[[str], None],
                on_epoch: Callable[[dict[str, Any]], None] | None = None) -> BertSwinResult:
    """Load (or build) the encoders, encode every split once, train the scorer, predict.

    Runs in a :func:`baselines.runtime.session` (one process, seeded, deterministic kernels),
    which gives torch its previous determinism setting back at the end.
    """
    with session(device, settings.seed, distributed=False) as runtime:
        with model_sources(model_text, model_image, seed=settings.seed) as (text, image):
            encoders = load_encoders(text, image, runtime.device)
        log(f"encoders {model_text} + {model_image} on {runtime.device} ({runtime.precision}), "
            "frozen")

        options = encode_options(encoders, families, runtime)

        def features(split: SplitData) -> SplitFeatures:
            started = time.perf_counter()
            feats = build_features(encoders, split, layout.require_images(split.split), runtime,
                                   query_context=query_context, with_responses=with_responses)
            log(f"{split.split}: {len(feats)} encounters, {sum(feats.images_per_encounter)} photos "
                f"encoded in {time.perf_counter() - started:.1f}s")
            return feats

        train_features = features(train)
        valid_features = features(valid) if valid is not None and valid.gold is not None else None
        same = valid_features is not None and predict.encounter_ids == valid.encounter_ids
        predict_features = valid_features if same else features(predict)
        others = [] if valid_features is None else [valid_features]
        if not same:
            others.append(predict_features)
        scalings = standardize_features(options, train_features, others)
        gold = [family_answers(train.gold[e]) for e in train.encounter_ids]
        pad = {p.id: nm_pads((g[p.id] for g in gold), p) for p in PARENTS}
        outcome = train_scorer(options, train_features, gold, valid_features,
                               valid.gold_records() if valid_features is not None else None,
                               settings, runtime, pad, on_epoch)
        valid_sets = (predict_sets(outcome.model, options, valid_features, runtime, pad)
                      if valid_features is not None else None)
        images = {s.split: sum(f.images_per_encounter) for s, f in
                  ((train, train_features), (valid, valid_features), (predict, predict_features))
                  if f is not None}
        checkpoint = make_checkpoint(outcome.model, options, scalings, pad, encoders, {
            "model_text": model_text, "model_image": model_image, "seed": settings.seed,
            "query_context": query_context, "with_responses": with_responses,
            "hidden": settings.hidden, "dropout": settings.dropout})
        return BertSwinResult(valid_sets, predict_sets(outcome.model, options, predict_features,
                                                       runtime, pad),
                              outcome, str(runtime.device), runtime.precision, images, checkpoint)


def make_checkpoint(model: OptionScorer, options: Mapping[str, torch.Tensor],
                    scalings: Mapping[str, Scaling | None], pad: Mapping[str, bool],
                    encoders: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Everything :mod:`baselines.vqa.bert_swin_saved` needs to answer a new split: the head's
    weights, the scaled option vectors, the scalings, the NM padding, the encoders' names and
    fingerprints (tensors on the CPU; ``torch.load(weights_only=True)`` reads it back)."""
    from baselines.hub import state_fingerprint

    def cpu(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.detach().to("cpu", copy=True)

    return {
        "format": 1, "settings": dict(settings), "pad": dict(pad),
        "head": {k: cpu(v) for k, v in model.state_dict().items()},
        "options": {k: cpu(v) for k, v in options.items()},
        "scalings": {k: None if v is None else {"mean": cpu(v.mean), "std": cpu(v.std)}
                     for k, v in scalings.items()},
        "fingerprints": {"text": state_fingerprint(encoders.text_model),
                         "image": state_fingerprint(encoders.image_model)},
    }
