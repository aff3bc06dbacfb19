"""The platform scoring program run in-process (``platform_run.main``): what it scores, refuses
and logs, and its page at either detail.

What the summary page may say about a hidden reference is ``test_scoring_program_summary.py``;
the export, the entry script and the pins are ``test_scoring_program_export.py``; the same
program in a fresh environment without magic is ``test_scoring_program_fresh_env.py``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from builders import write_json
from evaluation.facts import OFFICIAL_KEYS
from magic_submit.scoring_program.details_page import PAGE_NAME
from magic_submit.scoring_program.findings import LOG_LIMIT
from magic_submit.scoring_program.platform_run import main
from scoring_program_cases import (
    ALSO_SAID, MISREAD, REFUSED, WARNED, assert_plain_scores, magic_score_output, make_app,
    platform_arguments,
)

SEG_KEYS = OFFICIAL_KEYS[:7]
CVQA_KEYS = OFFICIAL_KEYS[7:]
MAX_LOG_LINES = 40


def run(app_dir: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[int, str, str]:
    """Run the program on ``app_dir``; no traceback and no path of the machine in its log."""
    status = main([*platform_arguments(app_dir), "sys", *extra])
    captured = capsys.readouterr()
    log = captured.out + captured.err
    assert "Traceback" not in log
    assert str(app_dir) not in log and "/tmp" not in log
    return status, captured.out, captured.err


def page_of(app_dir: Path) -> str:
    text = (app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")
    words = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]*", "", text)  # pictures aside
    assert str(app_dir) not in words and "/tmp" not in words
    return text


def gallery_sources(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]*)"', page)


@pytest.mark.parametrize("reference", ["platform", "dataset"])
def test_sample_scores_json_is_the_official_file(tmp_path: Path, sample_data: Path,
                                                 magic_score_file: bytes, capsys,
                                                 reference: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference=reference)
    status, out, err = run(app_dir, capsys)
    assert status == 0, err
    output = app_dir / "output"
    assert sorted(p.name for p in output.iterdir()) == [PAGE_NAME, "scores.json"]
    written = (output / "scores.json").read_bytes()
    assert written == magic_score_file
    assert_plain_scores(app_dir, written)  # and the independent plain scorer's figures
    assert "accuracy_all: 0.5401" in out and "dice_meanofmax: 0.6932" in out
    assert [line.split(":")[0] for line in out.splitlines()] == list(OFFICIAL_KEYS)
    assert "your upload: VALID (0 errors, 0 warnings, 0 notes)" in err
    assert "read in your upload: 20 files in masks_preds/, 20 masks read" in err
    assert "detail summary" in err and len((out + err).splitlines()) <= MAX_LOG_LINES
    page = page_of(app_dir)
    assert "Detail: summary" in page and "0.5401" in page
    assert gallery_sources(page) == [] and 'class="swatch"' not in page


def test_full_detail_shows_todays_page(tmp_path: Path, sample_data: Path, capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample")
    status, _, err = run(app_dir, capsys, "--detail", "full")
    assert status == 0 and "detail full" in err
    page = page_of(app_dir)
    sources = gallery_sources(page)
    assert len(sources) == 20 and all(s.startswith("data:image/jpeg;base64,") for s in sources)
    assert "Detail: full" in page and "(no photo: grey background)" in page
    assert "accuracy per question family" in page and "CQID036" in page
    assert page.count('class="swatch"') > 20 and "ann0</span>" in page and "gold px" in page
    assert run(app_dir, capsys, "--detail", "full", "--worst", "3")[0] == 0
    assert len(gallery_sources(page_of(app_dir))) == 3


def test_full_page_keeps_under_its_size_limit_with_fewer_images(tmp_path: Path, sample_data: Path,
                                                              capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference="dataset")
    status, _, err = run(app_dir, capsys, "--detail", "full", "--max-page-bytes", "150000")
    assert status == 0, err
    page = (app_dir / "output" / PAGE_NAME).read_bytes()
    shown = len(gallery_sources(page.decode("utf-8")))
    assert len(page) <= 150_000 and 0 < shown < 20
    assert f"{20 - shown} more image(s) left out to keep this page under 0.15 MB" in page.decode()
    assert run(app_dir, capsys, "--detail", "full", "--worst", "0")[0] == 0
    assert gallery_sources(page_of(app_dir)) == []


@pytest.mark.parametrize("options, message", [
    (["--show-reference"], "--show-reference is replaced by --detail full"),
    (["--worst", "3"], "--worst shapes the gallery of --detail full"),
    (["--detail", "full", "--worst", "-1"], "--worst must be 0 or more"),
    (["--detail", "everything"], "invalid choice: 'everything'"),
])
def test_option_errors_exit_2_before_reading(tmp_path: Path, sample_data: Path, capsys,
                                             options: list[str], message: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample")
    with pytest.raises(SystemExit) as stop:
        main([*platform_arguments(app_dir), "sys", *options])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert list((app_dir / "output").iterdir()) == []


@pytest.mark.parametrize("upload", sorted(REFUSED))
def test_refused_upload_gives_each_problem_and_fix(tmp_path: Path, sample_data: Path,
                                                   capsys, upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, out, err = run(app_dir, capsys)
    code, said = REFUSED[upload]
    assert status == 1 and out == ""
    assert code in err and said in err and "your upload: INVALID" in err
    assert not (app_dir / "output" / "scores.json").exists()
    page = page_of(app_dir)
    assert code in page and html.escape(said) in page and "not scored" in page
    assert all(html.escape(also) in page for also in ALSO_SAID.get(upload, ()))


def test_links_are_never_followed(tmp_path: Path, sample_data: Path, capsys) -> None:
    """The link points at the gold answers: followed, it would score accuracy 1.0."""
    app_dir = make_app(tmp_path / "app", sample_data, "linked-answers")
    for detail in ("summary", "full"):
        status, out, err = run(app_dir, capsys, "--detail", detail)
        assert status == 1 and out == "" and "zip-symlink" in err
        assert "accuracy" not in err and "CQID" not in page_of(app_dir)


def test_missing_mask_is_counted_in_summary_named_in_full(tmp_path: Path, sample_data: Path,
                                                          capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "missing-mask")
    _, _, err = run(app_dir, capsys)
    assert "IMG_ENC00919_00003" not in err + page_of(app_dir)
    _, _, err = run(app_dir, capsys, "--detail", "full")
    assert "IMG_ENC00919_00003" in err and "IMG_ENC00919_00003" in page_of(app_dir)


@pytest.mark.parametrize("upload", sorted(MISREAD))
def test_misread_upload_is_scored_officially_with_every_error(tmp_path: Path, sample_data: Path,
                                                              capsys, upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, out, err = run(app_dir, capsys)
    code, fix = MISREAD[upload]
    assert status == 0 and "accuracy_all: 0.5401" in out
    scores = app_dir / "output" / "scores.json"
    assert scores.read_bytes() == magic_score_output(app_dir, tmp_path / "magic")
    assert_plain_scores(app_dir, scores.read_bytes())
    assert "holds errors: the figures are not what you meant" in err
    assert code in err and fix in err and "your upload: INVALID (20 errors" in err
    # A few culprits in the log, every one on the page.
    assert err.count("masks_preds/IMG_ENC") == LOG_LIMIT
    assert f"... and {20 - LOG_LIMIT} more (every one on {PAGE_NAME})" in err
    page = page_of(app_dir)
    assert "Errors: these figures are not what you meant" in page and code in page
    assert page.count("masks_preds/IMG_ENC") == 20

    scores.unlink()
    status, out, err = run(app_dir, capsys, "--strict")
    assert status == 1 and out == "" and code in err and fix in err and not scores.exists()


@pytest.mark.parametrize("upload", sorted(WARNED))
def test_warned_upload_is_scored_with_its_warnings(tmp_path: Path, sample_data: Path,
                                                   capsys, upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, out, err = run(app_dir, capsys)
    code, said = WARNED[upload]
    assert status == 0, err
    written = (app_dir / "output" / "scores.json").read_bytes()
    inner = "my_submission" if upload == "top-folder" else ""  # read where the parts are
    assert written == magic_score_output(app_dir, tmp_path / "magic", inner)
    assert_plain_scores(app_dir, written, inner)
    assert f"warning {code}" in err and said in err and "your upload: VALID" in err
    assert len((out + err).splitlines()) <= MAX_LOG_LINES
    page = page_of(app_dir)
    assert code in page and html.escape(said) in page
    assert all(html.escape(also) in page for also in ALSO_SAID.get(upload, ()))


def test_log_of_a_valid_upload_with_a_warning_per_answer_stays_short(
        tmp_path: Path, sample_data: Path, capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "nm-repeated")
    status, out, err = run(app_dir, capsys)
    assert status == 0 and len((out + err).splitlines()) <= MAX_LOG_LINES
    assert err.count("data_cvqa_sys.json [ENC") == LOG_LIMIT and "... and 33 more" in err
    assert page_of(app_dir).count("data_cvqa_sys.json [ENC") == 36


def test_names_that_are_not_utf8_are_escaped_everywhere(tmp_path: Path, sample_data: Path,
                                                        capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "odd-names")
    for detail in ("summary", "full"):
        status, _, err = run(app_dir, capsys, "--detail", detail)
        assert status == 0 and "IMG_\\xff\\xfe_mask_sys.tiff" in err and "\x1b" not in err
        page = page_of(app_dir)  # written, and valid UTF-8
        assert "IMG_\\xff\\xfe_mask_sys.tiff" in page and "notes-\\xe9t\\xe9.txt" in page


def test_missing_masks_folder_scores_like_the_official(tmp_path: Path, sample_data: Path,
                                                       magic_score_file: bytes, capsys) -> None:
    """The official scorer globs an absent masks_preds/ as empty: 0.0 and 0 instances."""
    app_dir = make_app(tmp_path / "app", sample_data, "no-masks")
    status, _, err = run(app_dir, capsys)
    assert status == 0 and "warning segmentation-absent" in err
    expected = {key: 0.0 for key in SEG_KEYS[:6]} | {"number_segmentation_instances": 0}
    full = json.loads(magic_score_file)
    expected |= {key: full[key] for key in CVQA_KEYS}
    written = (app_dir / "output" / "scores.json").read_text()
    assert written == json.dumps(expected, indent=4)
    assert run(app_dir, capsys, "--detail", "full")[0] == 0
    assert "No prediction mask" in page_of(app_dir)


def test_empty_parts_score_zero_everywhere_like_the_official(tmp_path: Path, sample_data: Path,
                                                             capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "empty-parts")
    status, _, err = run(app_dir, capsys)
    assert status == 0 and "cvqa-absent" in err
    scores = json.loads((app_dir / "output" / "scores.json").read_text())
    assert list(scores) == list(OFFICIAL_KEYS)
    assert scores == {k: 0 if k.startswith("number_") else 0.0 for k in OFFICIAL_KEYS}


def test_setup_problems_exit_2_naming_the_reference(tmp_path: Path, sample_data: Path,
                                                    capsys) -> None:
    app_dir = make_app(tmp_path / "a", sample_data, "sample")
    (app_dir / "input" / "ref" / "data_cvqa_ref.json").unlink()
    status, _, err = run(app_dir, capsys)
    assert status == 2 and "lacks the gold CVQA answers" in err and "<reference>" in err
    assert list((app_dir / "output").iterdir()) == []

    app_dir = make_app(tmp_path / "b", sample_data, "sample", reference="dataset")
    write_json(app_dir / "input" / "ref" / "valid_cvqa.json", [])
    status, _, err = run(app_dir, capsys)
    assert status == 2 and "splits valid, test" in err and "ambiguous" in err

    app_dir = make_app(tmp_path / "c", sample_data, "sample")
    (app_dir / "output").rmdir()
    (app_dir / "output").write_text("a file")
    status, _, err = run(app_dir, capsys)
    assert status == 2 and "cannot write here" in err

    status = main([*platform_arguments(app_dir)[:1], str(app_dir / "input" / "res" / "masks"),
                   *platform_arguments(app_dir)[2:]])
    assert status == 2 and "must be UPLOAD/masks_preds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["--worst", "many"])
    assert stop.value.code == 2
