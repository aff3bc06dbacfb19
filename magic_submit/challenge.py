"""The challenge's facts, in one place: question families, qids, slots, options, layout names.

Everything here mirrors the organisers' definitions file
(``closedquestions_definitions_imageclef2025.json``) and their scorer; :mod:`magic_submit.definitions`
checks a definitions file against this table. File-name patterns live in :mod:`magic_submit.naming`.

>>> PARENT_BY_ID["CQID011"].qids[:2]
('CQID011-001', 'CQID011-002')
>>> nm_index("CQID011-003")
7
>>> len(QIDS), len(PARENTS)
(27, 9)
"""

from __future__ import annotations

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
PARENT_IDS: tuple[str, ...] = tuple(p.id for p in PARENTS)
QIDS: tuple[str, ...] = tuple(q for p in PARENTS for q in p.qids)
QID_TO_PARENT: dict[str, Parent] = {q: p for p in PARENTS for q in p.qids}
MULTI_SLOT_PARENTS: tuple[Parent, ...] = tuple(p for p in PARENTS if p.multi_slot)

# The official CVQA scorer keeps every key of exactly this length (other than ``encounter_id``)
# and splits it at "-" into parent and slot ("CQID010-001" has 11 characters).
SCORED_KEY_LENGTH = 11
ENCOUNTER_KEY = "encounter_id"

SPLITS: tuple[str, ...] = ("train", "valid", "test")
ANNOTATORS: tuple[str, ...] = ("ann0", "ann1", "ann2", "ann3")
DEFAULT_SUFFIX = "sys"
# Threads that read masks (scoring, validation, packing): the 2 cores of a typical grader.
DEFAULT_WORKERS = 2

# Platform layout of a submission and of the organisers' reference.
MASKS_PRED_DIR = "masks_preds"
CVQA_SUBMISSION_FILE = "data_cvqa_sys.json"
MASKS_REF_DIR = "masks_refs"
CVQA_REFERENCE_FILE = "data_cvqa_ref.json"

# Dataset layout as participants receive it.
DEFINITIONS_FILE = "closedquestions_definitions_imageclef2025.json"
SEGMENTATIONS_DIR = "dermavqa-segmentations"


def queries_file(split: str) -> str:
    return f"{split}.json"


def cvqa_gold_file(split: str) -> str:
    return f"{split}_cvqa.json"


def images_dir_name(split: str) -> str:
    return f"images_{split}"


def n_options(qid: str) -> int:
    return QID_TO_PARENT[qid].n_options


def nm_index(qid: str) -> int:
    return QID_TO_PARENT[qid].nm_index


def is_scored_key(key: str) -> bool:
    """Whether the official scorer reads this record key as an answer."""
    return key != ENCOUNTER_KEY and len(key) == SCORED_KEY_LENGTH
