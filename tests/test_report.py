"""``magic report``: the files it writes, what the page references, overlays, confusion, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from builders import platform_reference, zip_folder
from PIL import Image
from typer.testing import CliRunner

from evaluation.cvqa import EncounterParentResult
from evaluation.segmentation import score_image
from magic_submit.cli import app
from magic_submit.reporting import html_report
from magic_submit.reporting.confusion import cvqa_confusions
from magic_submit.reporting.gallery import worst_images
from magic_submit.reporting.overlay import (
    BACKGROUND_GREY, PREDICTION_COLOUR, boundary, display_size, downscale_mask, render_overlay,
)

runner = CliRunner()


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links.extend(v for k, v in attrs if k in ("src", "href") and v)


def referenced_files(page_text: str) -> list[str]:
    """Every ``src``/``href`` value of a page other than in-page anchors (``#...``)."""
    collector = _LinkCollector()
    collector.feed(page_text)
    return [link for link in collector.links if not link.startswith("#")]


def run_report(*args: str):
    return runner.invoke(app, ["report", *map(str, args)])


def assert_page_is_whole(folder: Path) -> str:
    """index.html exists, references at least one file, and every reference exists under folder."""
    page = (folder / "index.html").read_text(encoding="utf-8")
    links = referenced_files(page)
    assert links
    for link in links:
        assert "://" not in link and not link.startswith("/"), link  # no network, no absolute path
        target = (folder / link).resolve()
        assert target.is_file(), link
        assert folder.resolve() in target.parents, link
    return page


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory, sample_data: Path, sample_submission: Path) -> Path:
    out = tmp_path_factory.mktemp("report")
    result = run_report(sample_submission, "--reference", sample_data, "--split", "test",
                        "--output", out, "--worst", 6)
    assert result.exit_code == 0, result.output
    return out


def test_report_files_exist_and_page_references_only_them(sample_report: Path) -> None:
    page = assert_page_is_whole(sample_report)
    for name in ("scores.json", "per_image.csv", "per_encounter.csv", "confusion.csv",
                 "plots/jaccard_hist.png", "plots/dice_hist.png", "plots/cvqa_accuracy.png"):
        assert (sample_report / name).is_file(), name
    for plot in (sample_report / "plots").glob("*.png"):
        with Image.open(plot) as im:
            assert im.format == "PNG" and min(im.size) > 100
    gallery = sorted((sample_report / "gallery").iterdir())
    assert len(gallery) == 6 and page.count('class="gallery-item"') == 6
    for item in gallery:
        with Image.open(item) as im:
            assert max(im.size) <= 384
    assert page.count('class="confusion-matrix"') == 9
    assert 'id="gallery"' in page and "<script src" not in page
    assert '<a href="per_image.csv">' in page


def test_report_scores_are_the_scorers(sample_report: Path, sample_data: Path,
                                       sample_submission: Path) -> None:
    from reference_impl import score_cvqa_files, score_segmentation_folders

    official = score_segmentation_folders(str(sample_data / "dermavqa-segmentations" / "test"),
                                          str(sample_submission / "masks_preds"))
    official |= score_cvqa_files(str(sample_data / "test_cvqa.json"),
                                 str(sample_submission / "data_cvqa_sys.json"))
    written = json.loads((sample_report / "scores.json").read_text())
    assert list(written) == list(official)
    assert written == pytest.approx(official, rel=1e-12)
    page = (sample_report / "index.html").read_text()
    assert f"{official['dice_meanofmax']:.4f}" in page


def test_gallery_holds_the_worst_images_in_order(sample_report: Path) -> None:
    rows = (sample_report / "per_image.csv").read_text().splitlines()
    header = rows[0].split(",")
    values = [dict(zip(header, r.split(","))) for r in rows[1:]]
    worst = sorted(values, key=lambda r: (float(r["jaccard_max"]), r["image_id"]))[:6]
    page = (sample_report / "index.html").read_text()
    positions = [page.index(f'id="img-{r["image_id"]}"') for r in worst]
    assert positions == sorted(positions)


def test_nan_image_is_named_and_shown_first(tmp_path: Path, sample_data: Path,
                                            sample_submission: Path) -> None:
    import tifffile

    masks = sample_data / "dermavqa-segmentations" / "test"
    empty_gold = next(p for p in sorted(masks.glob("*.tiff")) if not tifffile.imread(p).any())
    image_id = empty_gold.name.split("_mask_")[0]
    team = shutil.copytree(sample_submission, tmp_path / "team")
    pred = team / "masks_preds" / f"{image_id}_mask_sys.tiff"
    tifffile.imwrite(pred, np.zeros_like(tifffile.imread(pred)))
    result = run_report(team, "--reference", sample_data, "--split", "test", "--output",
                        tmp_path / "out", "--worst", 2)
    assert result.exit_code == 0, result.output
    page = assert_page_is_whole(tmp_path / "out")
    assert f"{image_id}. With both empty = 1.0" in page and "jaccard_meanofmax_empty_is_one" in page
    first = re.search(r'<figure class="gallery-item" id="img-([^"]+)"', page)
    assert first and first.group(1) == image_id  # NaN images lead the gallery


def test_platform_reference_with_and_without_photos(tmp_path: Path, sample_data: Path,
                                                    sample_submission: Path) -> None:
    ref = platform_reference(sample_data, tmp_path / "platform")
    with_photos = run_report(sample_submission, "--reference", ref, "--images",
                             sample_data / "images_test", "--output", tmp_path / "a", "--worst", 3)
    assert with_photos.exit_code == 0, with_photos.output
    page = assert_page_is_whole(tmp_path / "a")
    assert "no photo" not in page and page.count('class="gallery-item"') == 3
    bare = run_report(sample_submission, "--reference", ref, "--output", tmp_path / "b",
                      "--worst", 2)
    assert bare.exit_code == 0, bare.output
    assert "masks drawn on grey" in bare.output
    page = assert_page_is_whole(tmp_path / "b")
    assert page.count("no photo: grey background") == 2
    with Image.open(next((tmp_path / "b" / "gallery").iterdir())) as im:
        assert np.asarray(im)[0, 0].tolist() == pytest.approx(list(BACKGROUND_GREY), abs=6)


def test_zip_and_cvqa_only_submissions(tmp_path: Path, sample_data: Path,
                                       sample_submission: Path) -> None:
    archive = zip_folder(sample_submission, tmp_path / "team.zip")
    zipped = run_report(archive, "--reference", sample_data, "--split", "test", "--output",
                        tmp_path / "zip", "--worst", 1)
    assert zipped.exit_code == 0, zipped.output
    assert_page_is_whole(tmp_path / "zip")
    cvqa_only = tmp_path / "cvqa_only<b>"
    cvqa_only.mkdir()
    shutil.copy(sample_submission / "data_cvqa_sys.json", cvqa_only)
    result = run_report(cvqa_only, "--reference", sample_data, "--split", "test", "--output",
                        tmp_path / "c")
    assert result.exit_code == 0, result.output
    page = assert_page_is_whole(tmp_path / "c")
    assert 'id="gallery"' not in page and 'id="confusion"' in page
    assert "cvqa_only&lt;b&gt;" in page and "cvqa_only<b>" not in page


def test_dataset_root_without_query_file_and_no_gallery(tmp_path: Path, sample_data: Path,
                                                         sample_submission: Path) -> None:
    root = tmp_path / "dataset"
    shutil.copytree(sample_data / "dermavqa-segmentations" / "test",
                    root / "dermavqa-segmentations" / "test")
    shutil.copy(sample_data / "test_cvqa.json", root)
    shutil.copytree(sample_data / "images_test", root / "images_test")
    result = run_report(sample_submission, "--reference", root, "--split", "test", "--output",
                        tmp_path / "out", "--worst", 0)
    assert result.exit_code == 0, result.output
    page = assert_page_is_whole(tmp_path / "out")
    assert 'id="gallery"' not in page and not (tmp_path / "out" / "gallery").exists()
    assert 'id="distributions"' in page and 'id="confusion"' in page
    # Photos are found by id in images_test/ (the split comes from the gold files here).
    shown = run_report(sample_submission, "--reference", root, "--split", "test", "--output",
                       tmp_path / "out2", "--worst", 1)
    assert shown.exit_code == 0 and "no photo" not in assert_page_is_whole(tmp_path / "out2")


def test_report_without_matplotlib_leaves_plots_out(tmp_path: Path, sample_data: Path,
                                                    sample_submission: Path, monkeypatch) -> None:
    monkeypatch.setattr(html_report, "matplotlib_available", lambda: False)
    result = run_report(sample_submission, "--reference", sample_data, "--split", "test",
                        "--output", tmp_path, "--worst", 1)
    assert result.exit_code == 0, result.output
    assert "matplotlib is not installed" in result.output
    page = assert_page_is_whole(tmp_path)
    assert "plots/" not in page and not (tmp_path / "plots").exists()


def test_bad_input(tmp_path: Path, sample_data: Path, sample_submission: Path) -> None:
    no_split = run_report(sample_submission, "--reference", sample_data, "--output", tmp_path)
    assert no_split.exit_code == 2 and "--split" in no_split.output
    no_images = run_report(sample_submission, "--reference", sample_data, "--split", "test",
                           "--images", tmp_path / "nope", "--output", tmp_path)
    assert no_images.exit_code == 2
    missing_ref = run_report(sample_submission, "--reference", tmp_path / "nope", "--output",
                             tmp_path / "x")
    assert missing_ref.exit_code == 1 and "reference folder not found" in missing_ref.output
    partial = tmp_path / "partial"
    shutil.copytree(sample_submission, partial)
    sorted((partial / "masks_preds").iterdir())[0].unlink()
    refused = run_report(partial, "--reference", sample_data, "--split", "test", "--output",
                         tmp_path / "p")
    assert refused.exit_code == 1 and "--allow-missing" in refused.output
    assert not (tmp_path / "p" / "index.html").exists()
    allowed = run_report(partial, "--reference", sample_data, "--split", "test", "--output",
                         tmp_path / "p", "--allow-missing", "--worst", 1)
    assert allowed.exit_code == 0, allowed.output
    page = assert_page_is_whole(tmp_path / "p")
    assert "no prediction" in page  # the missing image is the worst one


def test_report_through_a_subprocess(tmp_path: Path, sample_data: Path,
                                     sample_submission: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "magic_submit", "report", str(sample_submission),
                           "--reference", str(sample_data), "--split", "test", "--output",
                           str(tmp_path), "--worst", "2"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "index.html" in done.stdout
    assert_page_is_whole(tmp_path)


# --- pure pieces ---------------------------------------------------------------------------

def test_boundary_display_size_and_downscale() -> None:
    square = np.zeros((6, 6), bool)
    square[1:5, 1:5] = True
    edge = boundary(square)
    assert edge.sum() == 12 and not edge[2:4, 2:4].any()
    assert boundary(np.ones((2, 2), bool)).all()  # the image border counts as background
    assert display_size(768, 1536) == (192, 384)
    assert display_size(100, 50) == (100, 50)  # never enlarged
    big = np.zeros((40, 40), np.uint8)
    big[:20] = 1
    small = downscale_mask(big, (4, 4))
    assert small.tolist() == [[True] * 4] * 2 + [[False] * 4] * 2
    assert not downscale_mask(big * 255, (4, 4)).any()  # 0/255 has no official foreground
    with pytest.raises(ValueError):
        boundary(np.zeros((2, 2, 2)))


def test_overlay_draws_prediction_and_annotators_on_grey() -> None:
    gold = np.zeros((50, 80), np.uint8)
    gold[10:30, 10:40] = 1
    pred = np.zeros((50, 80), np.uint8)
    pred[20:45, 45:75] = 1
    picture = np.asarray(render_overlay(None, {"ann0": gold}, pred))
    assert picture.shape == (50, 80, 3)
    colours = {tuple(c) for c in picture.reshape(-1, 3)}
    assert tuple(PREDICTION_COLOUR) in colours and (0, 114, 178) in colours
    assert tuple(picture[0, 0]) == BACKGROUND_GREY
    hidden = np.asarray(render_overlay(None, {"ann0": gold}, pred, outline_annotators=False))
    colours = {tuple(c) for c in hidden.reshape(-1, 3)}
    assert colours == {tuple(PREDICTION_COLOUR), BACKGROUND_GREY}  # the reference is not drawn


def test_worst_images_put_nan_first_then_lowest_best_jaccard() -> None:
    def img(name, pred, gold):
        return score_image(name, np.array(pred, np.uint8), {"ann0": np.array(gold, np.uint8)})

    good = img("IMG_ENC00001_00001", [[1, 0]], [[1, 0]])
    half = img("IMG_ENC00002_00001", [[1, 1]], [[1, 0]])
    nan = img("IMG_ENC00003_00001", [[0, 0]], [[0, 0]])
    assert [r.image_id for r in worst_images([good, half, nan], 2)] == [
        "IMG_ENC00003_00001", "IMG_ENC00002_00001"]
    assert worst_images([good], 0) == []


def test_confusion_multi_slot_pairs_and_other_column() -> None:
    rows = [EncounterParentResult("ENC1", "CQID011", (2, 7, 7), (2, 3), 0.5),
            EncounterParentResult("ENC2", "CQID011", (7,), ("7", 9), 0.0)]
    matrix = cvqa_confusions(rows)[0]
    assert matrix.parent == "CQID011" and matrix.counts.shape == (8, 9)
    expected = np.zeros((8, 9), int)
    expected[2, 2] = expected[2, 3] = expected[7, 2] = expected[7, 3] = 1  # every gold x pred pair
    expected[7, 8] = 2  # "7" (a string) and 9 (out of range) are no option
    assert matrix.counts.tolist() == expected.tolist()
    assert matrix.column_labels[-1] == "other"


@pytest.mark.parametrize("module", ["magic_submit.reporting.overlay",
                                    "magic_submit.reporting.confusion"])
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_unreadable_photo_is_drawn_on_grey_with_a_note(tmp_path: Path, sample_data: Path,
                                                       sample_submission: Path) -> None:
    photos = Path(shutil.copytree(sample_data / "images_test", tmp_path / "photos"))
    for photo in photos.iterdir():  # every photo damaged: the worst image's is among them
        photo.write_bytes(photo.read_bytes()[:300] if photo.name.endswith("1.jpg") else b"junk")
    result = run_report(sample_submission, "--reference", sample_data, "--split", "test",
                        "--images", photos, "--output", tmp_path / "out", "--worst", 2)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "photo not shown" in result.output
    assert "cannot" in result.output and "photos/IMG_ENC" in result.output
    page = assert_page_is_whole(tmp_path / "out")
    assert page.count("no photo: grey background") == 2


def test_slips_get_a_banner_naming_the_culprits_and_the_fix(tmp_path: Path, sample_data: Path,
                                                            sample_submission: Path) -> None:
    """0/255 masks and string answers score as officially (0 foreground, wrong answers), and the
    page says so above the scores; stderr says it too."""
    import tifffile

    sub = Path(shutil.copytree(sample_submission, tmp_path / "sub"))
    masks = sorted((sub / "masks_preds").glob("*.tiff"))
    for path in masks[:2]:
        tifffile.imwrite(path, tifffile.imread(path) * 255)
    records = json.loads((sub / "data_cvqa_sys.json").read_text())
    records[0]["CQID025-001"] = str(records[0]["CQID025-001"])
    (sub / "data_cvqa_sys.json").write_text(json.dumps(records))
    result = run_report(sub, "--reference", sample_data, "--split", "test", "--output",
                        tmp_path / "out", "--worst", 0)
    assert result.exit_code == 0, result.output
    page = assert_page_is_whole(tmp_path / "out")
    banner = page[page.index('id="warnings"'):page.index('<section id="summary"')]
    assert "0/255" in banner and masks[0].name in banner and masks[1].name in banner
    assert f"{records[0]['encounter_id']} CQID025-001" in banner and "write 0-based int" in banner
    assert "magic pack --fix maps 0/255 to 0/1" in banner
    assert "warning:" in result.stderr and masks[0].name in result.stderr


def test_a_clean_submission_has_no_banner(sample_report: Path) -> None:
    assert 'id="warnings"' not in (sample_report / "index.html").read_text(encoding="utf-8")
