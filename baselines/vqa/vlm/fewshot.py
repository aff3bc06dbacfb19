"""Worked examples for ``--shots K``: the K training encounters whose queries are most similar.

Similarity is the cosine of the ``text`` method's TF-IDF features
(:func:`baselines.vqa.text_model.fit_featurizer`, fitted on the training texts only); ties go to
the earlier training encounter, and an encounter is never its own example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from baselines.vqa.data import SplitData, encounter_text, family_answers
from baselines.vqa.vlm.prompt import Example
from magic_submit.dataset import Encounter


def nearest(train_texts: Sequence[str], texts: Sequence[str], k: int,
            exclude: Sequence[int | None] = ()) -> list[list[int]]:
    """For each text, the indices of the ``k`` most similar training texts, best first.

    ``exclude[i]``: a training index that text ``i`` must not get (itself), or None.
    """
    from baselines.vqa.text_model import fit_featurizer

    if k <= 0 or not texts:
        return [[] for _ in texts]
    featurizer, x_train = fit_featurizer(train_texts)
    similarity = (featurizer.transform(list(texts)) @ x_train.T).toarray()
    out = []
    for row, scores in enumerate(similarity):
        banned = exclude[row] if row < len(exclude) else None
        order = sorted(range(len(scores)), key=lambda j: (-scores[j], j))
        out.append([j for j in order if j != banned][:k])
    return out


def examples_for(train: SplitData, records: Sequence[dict], k: int, *, with_responses: bool,
                 photos: Callable[[Encounter], tuple[Path, ...]] | None = None,
                 ) -> list[list[Example]]:
    """The ``k`` worked examples of each encounter record (text, gold answers, and the photos
    ``photos(encounter)`` gives when it is given)."""
    if k <= 0:
        return [[] for _ in records]
    train_ids = train.encounter_ids
    position = {enc: i for i, enc in enumerate(train_ids)}
    texts = [encounter_text(r, with_responses=with_responses) for r in records]
    exclude = [position.get(r.get("encounter_id")) for r in records]
    chosen = nearest(train.texts(with_responses=with_responses), texts, k, exclude)
    gold = train.gold or {}
    return [[Example(train.encounters[j].record, family_answers(gold[train_ids[j]]),
                     photos(train.encounters[j]) if photos is not None else ())
             for j in indices] for indices in chosen]

