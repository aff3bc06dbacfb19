"""The challenge's facts as the toolkit uses them: the official ones and the file layout.

The question families, qids, slots, options, the scored-key rule and the annotators are the
official facts of :mod:`evaluation.facts` (their one home), re-exported here for the rest of
``magic_submit`` and ``baselines``. This module adds what only the toolkit needs: the platform's
and the dataset's folder and file names, the split names and the default worker count.
:mod:`magic_submit.definitions` checks a definitions file against the table; file-name patterns
live in :mod:`magic_submit.naming`.

>>> PARENT_BY_ID["CQID011"].qids[:2]
('CQID011-001', 'CQID011-002')
>>> cvqa_gold_file("valid"), images_dir_name("test")
('valid_cvqa.json', 'images_test')
"""

from __future__ import annotations

from evaluation.facts import (
    ANNOTATORS, DEFAULT_SUFFIX, ENCOUNTER_KEY, MULTI_SLOT_PARENTS, PARENT_BY_ID, PARENT_IDS,
    PARENTS, QID_TO_PARENT, QIDS, SCORED_KEY_LENGTH, Parent, is_scored_key, n_options, nm_index,
)

__all__ = [
    "ANNOTATORS", "CVQA_REFERENCE_FILE", "CVQA_SUBMISSION_FILE", "DEFAULT_SUFFIX",
    "DEFAULT_WORKERS", "DEFINITIONS_FILE", "ENCOUNTER_KEY", "MASKS_PRED_DIR", "MASKS_REF_DIR",
    "MULTI_SLOT_PARENTS", "PARENT_BY_ID", "PARENT_IDS", "PARENTS", "QID_TO_PARENT", "QIDS",
    "SCORED_KEY_LENGTH", "SEGMENTATIONS_DIR", "SPLITS", "Parent", "cvqa_gold_file",
    "images_dir_name", "is_scored_key", "n_options", "nm_index", "queries_file",
]

SPLITS: tuple[str, ...] = ("train", "valid", "test")
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
