"""CVQA confusion per question family: gold option versus predicted option.

A cell (g, p) counts the encounters whose gold set holds option g and whose predicted set holds
option p. For a one-slot family that is the usual confusion matrix (one count per encounter);
for a multi-slot family (site location, size, skin description) an encounter adds one count per
(gold option, predicted option) pair, so the diagonal counts hits and a row shows what was said
instead. A predicted value that is not an option index (a string, out of range) goes to "other".

>>> from evaluation.cvqa import EncounterParentResult
>>> rows = [EncounterParentResult("ENC1", "CQID025", (0,), (1,), 0.0),
...         EncounterParentResult("ENC2", "CQID025", (0,), (0,), 1.0)]
>>> matrix = cvqa_confusions(rows)[0]
>>> matrix.counts.tolist()
[[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.cvqa import EncounterParentResult
from magic_submit.challenge import PARENT_BY_ID, PARENT_IDS
from magic_submit.definitions import Definitions

OTHER_LABEL = "other"


@dataclass(frozen=True)
class ConfusionMatrix:
    """Rows: gold options; columns: predicted options, then "other"."""

    parent: str
    title: str
    labels: tuple[str, ...]
    counts: np.ndarray
    n_encounters: int

    @property
    def column_labels(self) -> tuple[str, ...]:
        return self.labels + (OTHER_LABEL,)


def option_index(value: object, n_options: int) -> int | None:
    """The option a value names (Python equality, as the scorer compares: 1.0 and True count)."""
    if isinstance(value, (int, float)) and float(value).is_integer() and 0 <= value < n_options:
        return int(value)
    return None


def option_labels(parent: str, definitions: Definitions | None) -> tuple[str, ...]:
    """Option names from the definitions file (the family's first qid), else the indices."""
    n_options = PARENT_BY_ID[parent].n_options
    if definitions is None:
        return tuple(str(i) for i in range(n_options))
    names = definitions.options(PARENT_BY_ID[parent].qids[0])
    return tuple(f"{i}: {name}" for i, name in enumerate(names))


def cvqa_confusions(rows: Sequence[EncounterParentResult],
                    definitions: Definitions | None = None) -> list[ConfusionMatrix]:
    """One matrix per family present in ``rows``, in the official family order."""
    by_parent: dict[str, list[EncounterParentResult]] = {}
    for row in rows:
        by_parent.setdefault(row.parent, []).append(row)
    matrices = []
    for parent in (p for p in PARENT_IDS if p in by_parent):
        info = PARENT_BY_ID[parent]
        counts = np.zeros((info.n_options, info.n_options + 1), dtype=np.int64)
        for row in by_parent[parent]:
            gold = {option_index(v, info.n_options) for v in set(row.gold)} - {None}
            predicted = [option_index(v, info.n_options) for v in set(row.system)]
            for g in gold:
                for p in predicted:
                    counts[g, info.n_options if p is None else p] += 1
        matrices.append(ConfusionMatrix(parent, f"{parent} {info.type_en}",
                                        option_labels(parent, definitions), counts,
                                        len(by_parent[parent])))
    return matrices
