"""Frozen Bio_ClinicalBERT and Swin features for the ``bert-swin`` baseline, computed once per run.

* Options: for every option j of a family, ``question || option_j`` (the family's question and
  the option text at index j, both from the definitions file), tokenised to at most 128 tokens,
  the [CLS] vector of the last layer. The same for every encounter: encoded once per run.
* Query (unless ``query_context`` is off, the paper's text alone): the encounter's cleaned English
  title + content, cut at 128 tokens, its [CLS] vector. Encoded apart from the options, so BERT
  runs once per encounter instead of once per (encounter, option).
* Image: every photo of the encounter (from ``image_ids``), upright, through Swin, patch tokens
  of the last stage mean-pooled, then averaged over the encounter's photos.

Both encoders stay frozen, so their outputs are computed once and the scorer trains on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from baselines.hub import load_pretrained
from baselines.runtime import Runtime
from baselines.seg.images import Preprocessing, decoded_batches
from baselines.vqa.data import FamilyOptions, SplitData
from magic_submit.challenge import PARENTS

MAX_TOKENS = 128
TEXT_BATCH = 64
IMAGE_BATCH = 32


@dataclass
class Encoders:
    tokenizer: Any
    text_model: Any
    prep: Preprocessing
    image_model: Any

    @property
    def text_dim(self) -> int:
        return int(self.text_model.config.hidden_size)

    @property
    def image_dim(self) -> int:
        config = self.image_model.config  # Swin: embed_dim doubled at each stage after the first
        width = getattr(config, "hidden_size", 0)
        return int(width or config.embed_dim * 2 ** (len(config.depths) - 1))


def load_encoders(text_source: str, image_source: str, device: Any) -> Encoders:
    """Tokenizer + BERT and image processor + Swin, frozen, in eval mode, on ``device``."""
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    tokenizer = load_pretrained(AutoTokenizer.from_pretrained, text_source, "text tokenizer")
    text_model = load_pretrained(AutoModel.from_pretrained, text_source, "text model")
    processor = load_pretrained(AutoImageProcessor.from_pretrained, image_source, "image processor")
    image_model = load_pretrained(AutoModel.from_pretrained, image_source, "image model")
    for model in (text_model, image_model):
        model.requires_grad_(False)
        model.eval()
        model.to(device)
    return Encoders(tokenizer, text_model, Preprocessing.from_processor(processor), image_model)


@torch.no_grad()
def encode_texts(encoders: Encoders, texts: Sequence[str], runtime: Runtime) -> torch.Tensor:
    """[CLS] vectors of the last layer (float32, on the device), texts cut at 128 tokens."""
    out = []
    for start in range(0, len(texts), TEXT_BATCH):
        batch = encoders.tokenizer(list(texts[start:start + TEXT_BATCH]), max_length=MAX_TOKENS,
                                   padding=True, truncation=True, return_tensors="pt")
        batch = {k: v.to(runtime.device) for k, v in batch.items()}
        with runtime.autocast():
            hidden = encoders.text_model(**batch).last_hidden_state
        out.append(hidden[:, 0].float())
    if not out:
        return torch.zeros((0, encoders.text_dim), device=runtime.device)
    return torch.cat(out)


@torch.no_grad()
def encode_images(encoders: Encoders, paths: Sequence[Path], runtime: Runtime) -> torch.Tensor:
    """Mean-pooled last-stage patch tokens (float32, on the device), one row per photo, each
    photo upright (EXIF orientation applied, as a person sees it)."""
    out = []
    for pixels, _ in decoded_batches(paths, encoders.prep, IMAGE_BATCH, upright=True):
        values = encoders.prep.normalize(torch.from_numpy(pixels).to(runtime.device))
        with runtime.autocast():
            tokens = encoders.image_model(pixel_values=values).last_hidden_state
        out.append(tokens.float().mean(dim=1))
    if not out:
        return torch.zeros((0, encoders.image_dim), device=runtime.device)
    return torch.cat(out)


def average_by_owner(vectors: torch.Tensor, owners: Sequence[int], n_owners: int) -> torch.Tensor:
    """Mean of the rows that share an owner; an owner without rows gets zeros."""
    index = torch.as_tensor(list(owners), dtype=torch.long, device=vectors.device)
    sums = torch.zeros((n_owners, vectors.shape[1]), device=vectors.device)
    sums.index_add_(0, index, vectors)
    counts = torch.zeros(n_owners, device=vectors.device).index_add_(
        0, index, torch.ones(len(owners), device=vectors.device))
    return sums / counts.clamp(min=1).unsqueeze(1)


def option_texts(family: FamilyOptions) -> list[str]:
    """``question || option_j`` for every option j, in the definitions file's order."""
    return [f"{family.question} {option}" for option in family.options]


def encode_options(encoders: Encoders, families: dict[str, FamilyOptions],
                   runtime: Runtime) -> dict[str, torch.Tensor]:
    """Per family, one [CLS] vector per option (``[k, text_dim]``), in the definitions' order."""
    return {p.id: encode_texts(encoders, option_texts(families[p.id]), runtime)
            for p in PARENTS}


@dataclass
class SplitFeatures:
    """Per encounter: the averaged image vector and the query's [CLS] vector (or None)."""

    encounter_ids: list[str]
    image: torch.Tensor  # [n, image_dim]
    context: torch.Tensor | None  # [n, text_dim]; None: the paper's text (question || option) only
    images_per_encounter: list[int]

    def __len__(self) -> int:
        return len(self.encounter_ids)


def build_features(encoders: Encoders, split: SplitData, images_dir: Path, runtime: Runtime, *,
                   query_context: bool, with_responses: bool = False) -> SplitFeatures:
    """Encode the split's photos (averaged per encounter) and queries once."""
    owners = [row for row, enc in enumerate(split.encounters) for _ in enc.image_files]
    paths = [images_dir / f for enc in split.encounters for f in enc.image_files]
    image = average_by_owner(encode_images(encoders, paths, runtime), owners, len(split.encounters))
    context = (encode_texts(encoders, split.texts(with_responses=with_responses), runtime)
               if query_context else None)
    return SplitFeatures(split.encounter_ids, image, context,
                         [len(enc.image_files) for enc in split.encounters])
