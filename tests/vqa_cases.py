"""Copies of the sample dataset for the CVQA baseline tests, optionally with permuted options.

A permuted copy rotates the real options of every family in the definitions file (NM stays
last, as the challenge fixes it) and rewrites the gold through the same permutation, so that
both files still say the same thing: an aligned baseline must then give the same answers, as
indices into the permuted lists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from magic_submit.challenge import (
    DEFINITIONS_FILE, PARENT_BY_ID, PARENTS, QID_TO_PARENT, SPLITS, Parent, images_dir_name,
)


def old_of_new(parent: Parent) -> list[int]:
    """Position i of the permuted list holds old option ``old_of_new[i]`` (real options rotated)."""
    real = list(range(parent.nm_index))
    return real[1:] + real[:1] + [parent.nm_index]


def new_of_old(parent: Parent) -> list[int]:
    mapping = old_of_new(parent)
    return [mapping.index(old) for old in range(parent.n_options)]


def _permuted_definitions(definitions: list[dict]) -> list[dict]:
    out = []
    for item in definitions:
        order = old_of_new(QID_TO_PARENT[item["qid"]])
        out.append({**item, **{key: [item[key][i] for i in order]
                               for key in ("options_en", "options_zh") if key in item}})
    return out


def _permuted_gold(records: list[dict]) -> list[dict]:
    return [{k: (new_of_old(QID_TO_PARENT[k])[v] if k in QID_TO_PARENT else v)
             for k, v in record.items()} for record in records]


def copy_dataset(source: Path, target: Path, *, permute: bool = False,
                 images: bool = False) -> Path:
    """Copy the JSON files of ``source`` (images linked when asked), options permuted if asked."""
    target.mkdir(parents=True, exist_ok=True)
    definitions = json.loads((source / DEFINITIONS_FILE).read_text(encoding="utf-8"))
    if permute:
        definitions = _permuted_definitions(definitions)
    (target / DEFINITIONS_FILE).write_text(json.dumps(definitions), encoding="utf-8")
    for split in SPLITS:
        (target / f"{split}.json").write_bytes((source / f"{split}.json").read_bytes())
        gold = source / f"{split}_cvqa.json"
        if gold.is_file():
            records = json.loads(gold.read_text(encoding="utf-8"))
            records = _permuted_gold(records) if permute else records
            (target / gold.name).write_text(json.dumps(records), encoding="utf-8")
        if images:
            os.symlink(source.resolve() / images_dir_name(split), target / images_dir_name(split))
    return target


def assert_permuted_predictions(original: list[dict], permuted: list[dict]) -> None:
    """A run on the permuted copy answers the same as the original, re-indexed (and the
    indices did move, so the check is not vacuous)."""
    for before, after in zip(original, permuted, strict=True):
        expected = {parent: set(values) for parent, values in family_sets(before).items()}
        assert unpermute_sets(family_sets(after)) == expected, before["encounter_id"]
    assert original != permuted


def unpermute_sets(answers: dict[str, list[int]]) -> dict[str, set[int]]:
    """Per family, the answer set of a permuted run expressed in the original option indices."""
    return {parent: {old_of_new(PARENT_BY_ID[parent])[v] for v in values}
            for parent, values in answers.items()}


def family_sets(record: dict) -> dict[str, list[int]]:
    """A submission record's answers grouped per family (order kept)."""
    return {p.id: [record[q] for q in p.qids] for p in PARENTS}
