"""The summary detail tells no more about a hidden reference than ``scores.json`` does.

The rule: two references that give an upload the same ``scores.json`` give it the same page
and the same log, byte for byte. Each test builds a second reference that differs from the
sample's where the figures cannot see it (the same masks under other annotator numbers; gold
answers changed only where the upload is wrong either way), checks that ``scores.json`` is
indeed the same, then compares. ``--detail full`` is run on the same pairs to show that the
comparison can fail: its page does differ.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from evaluation.facts import ANNOTATORS, PARENTS
from magic_submit.scoring_program.details_page import PAGE_NAME
from magic_submit.scoring_program.platform_run import main
from scoring_program_cases import make_app, platform_arguments

# Uploads whose pages must not depend on the hidden reference: clean, misread (errors), a
# relation to the reference (an extra mask), the empty-mask probe, a warning per answer, and
# one refused for a missing mask (its page has no scores.json to go by).
UPLOADS = ("sample", "values-255", "extra-mask", "empty-masks", "nm-repeated", "missing-mask")
REFERENCE_IDS = re.compile(r"IMG_ENC\d{5}_\d{5}|ENC\d{5}")


def renumber_annotators(ref: Path) -> int:
    """The same gold masks of each image under other annotator numbers, in the same order (a
    mean over annotators is then summed in the same order); the number of images changed."""
    masks = ref / "masks_refs"
    by_image: dict[str, list[str]] = {}
    for path in sorted(masks.glob("*.tiff")):
        image, _, annotator = path.stem.rpartition("_mask_")
        by_image.setdefault(image, []).append(annotator)
    changed = 0
    for image, annotators in by_image.items():
        k = len(annotators)
        numbers = ANNOTATORS[-k:] if list(ANNOTATORS[-k:]) != annotators else ANNOTATORS[:k]
        if list(numbers) == annotators:
            continue
        changed += 1
        for old, new in zip(annotators, numbers):
            (masks / f"{image}_mask_{old}.tiff").rename(masks / f"{image}_mask_{new}.new")
        for new in numbers:
            (masks / f"{image}_mask_{new}.new").rename(masks / f"{image}_mask_{new}.tiff")
    return changed


def change_gold_where_wrong(ref: Path, res: Path) -> int:
    """Change each single-slot gold answer that the upload gets wrong to another wrong one;
    the number changed."""
    gold = json.loads((ref / "data_cvqa_ref.json").read_text())
    answers = {r["encounter_id"]: r for r in json.loads((res / "data_cvqa_sys.json").read_text())}
    changed = 0
    for record in gold:
        given = answers.get(record["encounter_id"], {})
        for parent in PARENTS:
            qid = parent.qids[0]
            if parent.slots == 1 and given.get(qid) != record[qid]:
                other = next(v for v in range(parent.n_options) if v not in (record[qid],
                                                                             given.get(qid)))
                record[qid] = other
                changed += 1
    (ref / "data_cvqa_ref.json").write_text(json.dumps(gold))
    return changed


def run(app_dir: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[int, str, bytes,
                                                                          bytes | None]:
    """(status, log, page, scores.json or None)."""
    status = main([*platform_arguments(app_dir), "sys", *extra])
    captured = capsys.readouterr()
    output = app_dir / "output"
    scores = output / "scores.json"
    return (status, captured.out + captured.err, (output / PAGE_NAME).read_bytes(),
            scores.read_bytes() if scores.exists() else None)


def twin_apps(tmp_path: Path, sample_data: Path, upload: str, change: str) -> tuple[Path, Path]:
    first = make_app(tmp_path / "first", sample_data, upload)
    second = tmp_path / "second"
    shutil.copytree(first, second, symlinks=True)
    ref = second / "input" / "ref"
    if change == "annotators":
        assert renumber_annotators(ref) > 0
    else:
        assert change_gold_where_wrong(ref, second / "input" / "res") > 0
    return first, second


@pytest.mark.parametrize("change", ["annotators", "gold answers"])
@pytest.mark.parametrize("upload", UPLOADS)
def test_same_scores_give_the_same_page_and_log(tmp_path: Path, sample_data: Path, capsys,
                                                upload: str, change: str) -> None:
    first, second = twin_apps(tmp_path, sample_data, upload, change)
    status, log, page, scores = run(first, capsys)
    other_status, other_log, other_page, other_scores = run(second, capsys)
    assert (status, scores) == (other_status, other_scores)  # the same figures: the premise
    assert other_log == log and other_page == page


@pytest.mark.parametrize("upload", ["sample", "empty-masks"])
def test_full_detail_does_show_the_difference(tmp_path: Path, sample_data: Path, capsys,
                                              upload: str) -> None:
    """The comparison above can fail: the full page shows which annotator drew what."""
    first, second = twin_apps(tmp_path, sample_data, upload, "annotators")
    _, _, page, scores = run(first, capsys, "--detail", "full")
    _, _, other_page, other_scores = run(second, capsys, "--detail", "full")
    assert scores == other_scores and page != other_page


@pytest.mark.parametrize("upload", ["sample", "empty-masks"])
def test_clean_upload_page_names_nothing_of_the_reference(tmp_path: Path, sample_data: Path,
                                                          capsys, upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, log, page, _ = run(app_dir, capsys)
    text = page.decode("utf-8")
    assert status == 0 and "Detail: summary" in text
    for shown in (text, log):
        assert not REFERENCE_IDS.search(shown)
        assert not re.search(r"\bann[0-3]\b|gold px|masks_refs|data_cvqa_ref", shown)
    # The full page of the same upload does name them (the pattern would catch a leak).
    _, _, full, _ = run(app_dir, capsys, "--detail", "full")
    assert REFERENCE_IDS.search(full.decode("utf-8"))
