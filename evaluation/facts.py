"""The official facts the metric needs, in one place: question families, qids, keys, thresholds.

They mirror the organisers' definitions file (``closedquestions_definitions_imageclef2025.json``)
and their scorer (github.com/wyim/ImageCLEF-MAGIC-2025, ``evaluation/``). Everything else in the
project (``magic_submit.challenge`` first) takes them from here.

>>> PARENT_BY_ID["CQID011"].qids[:2]
('CQID011-001', 'CQID011-002')
>>> nm_index("CQID011-003")
7
>>> len(QIDS), len(PARENTS), majority_threshold(3)
(27, 9, 2)
>>> is_scored_key("CQID010-001"), is_scored_key("CQID10-1"), encounter_key("ENC00908-2")
(True, False, 'ENC00908')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Parent:
    """One question family ("parent"): its qids share options and are scored together as a set."""

    id: str
    type_en: str
    slots: int
    n_options: int

    @property
    def nm_index(self) -> int:
        """Index of "Not mentioned": always the last option."""
        return self.n_options - 1

    @property
    def qids(self) -> tuple[str, ...]:
        return tuple(f"{self.id}-{slot:03d}" for slot in range(1, self.slots + 1))

    @property
    def multi_slot(self) -> bool:
        return self.slots > 1

    def padded(self, answers: list[int] | tuple[int, ...]) -> list[int]:
        """Slot values as the gold writes them: the answers first, NM in every free slot.

        >>> PARENT_BY_ID["CQID012"].padded([1])
        [1, 3, 3, 3, 3, 3]
        """
        if len(answers) > self.slots:
            raise ValueError(f"{self.id} has {self.slots} slots, got {len(answers)} answers")
        return list(answers) + [self.nm_index] * (self.slots - len(answers))


PARENTS: tuple[Parent, ...] = (
    Parent("CQID010", "Site", 1, 4),
    Parent("CQID011", "Site Location", 6, 8),
    Parent("CQID012", "Size", 6, 4),
    Parent("CQID015", "Onset", 1, 7),
    Parent("CQID020", "Skin Description", 9, 10),
    Parent("CQID025", "Itch", 1, 3),
    Parent("CQID034", "Lesion Color", 1, 12),
    Parent("CQID035", "Lesion Count", 1, 3),
    Parent("CQID036", "Texture", 1, 3),
)
PARENT_BY_ID: dict[str, Parent] = {p.id: p for p in PARENTS}
# The official scorer iterates ``sorted(set(parents))``: this order, so CVQA is deterministic.
PARENT_IDS: tuple[str, ...] = tuple(p.id for p in PARENTS)
QIDS: tuple[str, ...] = tuple(q for p in PARENTS for q in p.qids)
QID_TO_PARENT: dict[str, Parent] = {q: p for p in PARENTS for q in p.qids}
MULTI_SLOT_PARENTS: tuple[Parent, ...] = tuple(p for p in PARENTS if p.multi_slot)

# The official CVQA scorer keeps every key of exactly this length (other than ``encounter_id``)
# and splits it at "-" into parent and slot ("CQID010-001" has 11 characters).
SCORED_KEY_LENGTH = 11
ENCOUNTER_KEY = "encounter_id"

# Annotators of the reference masks, in the order the official scorer visits them.
ANNOTATORS: tuple[str, ...] = ("ann0", "ann1", "ann2", "ann3")
# The system name in IMG_..._mask_{suffix}.tiff that the platform reads.
DEFAULT_SUFFIX = "sys"

# The metric keys of scores.json, in the official order.
SEG_MACRO_KEYS: tuple[str, ...] = ("jaccard_meanofmax", "jaccard_meanofmean", "dice_meanofmax",
                                   "dice_meanofmean")
SEG_MICRO_KEYS: tuple[str, ...] = ("jaccard", "dice")
FLOAT_SEG_KEYS: tuple[str, ...] = SEG_MACRO_KEYS + SEG_MICRO_KEYS
SEG_COUNT_KEY = "number_segmentation_instances"
OFFICIAL_SEG_KEYS: tuple[str, ...] = FLOAT_SEG_KEYS + (SEG_COUNT_KEY,)
CVQA_ACCURACY_KEYS: tuple[str, ...] = tuple(f"accuracy_{p}" for p in PARENT_IDS) + ("accuracy_all",)
CVQA_COUNT_KEY = "number_cvqa_instances"
OFFICIAL_CVQA_KEYS: tuple[str, ...] = CVQA_ACCURACY_KEYS + (CVQA_COUNT_KEY,)
OFFICIAL_KEYS: tuple[str, ...] = OFFICIAL_SEG_KEYS + OFFICIAL_CVQA_KEYS


def n_options(qid: str) -> int:
    return QID_TO_PARENT[qid].n_options


def nm_index(qid: str) -> int:
    return QID_TO_PARENT[qid].nm_index


def is_scored_key(key: object) -> bool:
    """Whether the official scorer reads this record key as an answer.

    JSON keys are strings; a key of another type can only come from records built in memory,
    which are written as JSON (``7`` becomes ``"7"``) before any scorer reads them: not read.
    """
    return isinstance(key, str) and key != ENCOUNTER_KEY and len(key) == SCORED_KEY_LENGTH


def encounter_key(encounter_id: str) -> str:
    """The official grouping key: the id cut at its first ``-`` (``ENC00908-2`` -> ``ENC00908``)."""
    return encounter_id.split("-")[0]


# Image ids, as the organisers name them: IMG_{ENCOUNTERID}_{NNNNN} (README of their repository).
IMAGE_ID_PATTERN = re.compile(r"^IMG_(?P<encounter>ENC\d{5})_(?P<number>\d{5})$")


def encounter_of_image(image_id: str) -> str:
    """``IMG_ENC00852_00001`` -> ``ENC00852``; the part between the first two underscores otherwise.

    >>> encounter_of_image("IMG_ENC00852_00001"), encounter_of_image("IMG_X_1")
    ('ENC00852', 'X')
    """
    parts = image_id.split("_")  # IMAGE_ID_PATTERN's "encounter" group, for a well-formed id
    return parts[1] if len(parts) > 2 else image_id


def majority_threshold(n_annotators: int) -> int:
    """Votes a pixel needs in the official majority mask: ceil(n/2) (2 -> 1, 3 -> 2, 4 -> 2)."""
    return math.ceil(n_annotators / 2)
