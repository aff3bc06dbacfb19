"""The platform scoring program run in-process (``platform_run.main``), its page, and the export.

The same program in a fresh environment without magic, through the bundle's own command, is
``test_scoring_program_fresh_env.py``.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from typer.testing import CliRunner

from builders import write_json
from evaluation.facts import OFFICIAL_KEYS
from magic_submit.cli import app
from magic_submit.scoring_program import bundle, pins
from magic_submit.scoring_program.details_page import PAGE_NAME
from magic_submit.scoring_program.platform_run import main
from scoring_program_cases import (
    MISREAD, REFUSED, WARNED, magic_score_output, make_app, platform_arguments,
)

# The command of the organisers' metadata.yaml (wyim/ImageCLEF-MAGIC-2025, evaluation/).
OFFICIAL_COMMAND = ("python3 run_segandcvqa_scoring.py /app/input/ref/masks_refs "
                    "/app/input/res/masks_preds /app/input/ref/data_cvqa_ref.json "
                    "/app/input/res/data_cvqa_sys.json /app/output/ sys")
SEG_KEYS = OFFICIAL_KEYS[:7]
CVQA_KEYS = OFFICIAL_KEYS[7:]


def run(app_dir: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[int, str, str]:
    status = main([*platform_arguments(app_dir), "sys", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out, captured.err


def gallery_sources(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]*)"', page)


@pytest.mark.parametrize("reference", ["platform", "dataset"])
def test_sample_scores_json_is_magic_scores_file(tmp_path: Path, sample_data: Path,
                                                magic_score_file: bytes, capsys,
                                                reference: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference=reference)
    status, out, err = run(app_dir, capsys)
    assert status == 0, err
    output = app_dir / "output"
    assert sorted(p.name for p in output.iterdir()) == [PAGE_NAME, "scores.json"]
    assert (output / "scores.json").read_bytes() == magic_score_file
    assert "accuracy_all: 0.5401" in out and "dice_meanofmax: 0.6932" in out
    assert [line.split(":")[0] for line in out.splitlines()] == list(OFFICIAL_KEYS)
    assert "\n\n" not in err
    page = (output / PAGE_NAME).read_text(encoding="utf-8")
    sources = gallery_sources(page)
    assert len(sources) == 20 and all(s.startswith("data:image/jpeg;base64,") for s in sources)
    assert ("(no photo: grey background)" in page) == (reference == "platform")
    assert "accuracy per question family" in page and "CQID036" in page
    # Nothing that gives the hidden reference away by default: no gold sets, no confusion, no
    # annotator outline (the only colour swatch is the prediction's in the legend).
    assert "per_encounter" not in page and "confusion-matrix" not in page
    assert page.count('class="swatch"') == 1


def test_show_reference_draws_the_annotators(tmp_path: Path, sample_data: Path, capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample")
    assert run(app_dir, capsys, "--show-reference", "--worst", "3")[0] == 0
    page = (app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")
    assert len(gallery_sources(page)) == 3
    assert page.count('class="swatch"') > 5 and "ann0</span>" in page


def test_page_keeps_under_its_size_limit_with_fewer_images(tmp_path: Path, sample_data: Path,
                                                         capsys) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference="dataset")
    status, _, err = run(app_dir, capsys, "--max-page-bytes", "150000")
    assert status == 0, err
    page = (app_dir / "output" / PAGE_NAME).read_bytes()
    shown = len(gallery_sources(page.decode("utf-8")))
    assert len(page) <= 150_000 and 0 < shown < 20
    assert f"{20 - shown} more image(s) left out to keep this page under 0.15 MB" in page.decode()
    assert run(app_dir, capsys, "--worst", "0")[0] == 0
    assert gallery_sources((app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("upload", sorted(REFUSED))
def test_broken_upload_is_refused_with_each_problem_and_fix(tmp_path: Path, sample_data: Path,
                                                           capsys, upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, out, err = run(app_dir, capsys)
    code, fix = REFUSED[upload]
    assert status == 1 and out == ""
    assert code in err and fix in err and "your upload: INVALID" in err
    assert not (app_dir / "output" / "scores.json").exists()
    page = (app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")
    assert code in page and html.escape(fix) in page and "not scored" in page


@pytest.mark.parametrize("upload", sorted(MISREAD))
def test_misread_upload_is_scored_officially_with_every_error(tmp_path: Path, sample_data: Path,
                                                              capsys, upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, out, err = run(app_dir, capsys)
    code, fix = MISREAD[upload]
    assert status == 0 and "accuracy_all: 0.5401" in out
    scores = app_dir / "output" / "scores.json"
    assert scores.read_bytes() == magic_score_output(app_dir, tmp_path / "magic")
    assert "holds errors: the figures are not what you meant" in err
    assert code in err and fix in err and "your upload: INVALID" in err
    assert err.count("masks_preds/IMG_ENC") == 20  # one line per mask, each naming its file
    page = (app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")
    assert "Errors: these figures are not what you meant" in page and code in page

    scores.unlink()
    status, out, err = run(app_dir, capsys, "--strict")
    assert status == 1 and out == "" and code in err and fix in err and not scores.exists()


@pytest.mark.parametrize("upload", sorted(WARNED))
def test_warnings_only_upload_is_scored_with_its_warnings(tmp_path: Path, sample_data: Path,
                                                          magic_score_file: bytes, capsys,
                                                          upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    status, _, err = run(app_dir, capsys)
    code, culprit = WARNED[upload]
    assert status == 0
    assert (app_dir / "output" / "scores.json").read_bytes() == magic_score_file
    assert f"warning {code}" in err and culprit in err
    page = (app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")
    assert code in page and culprit in page


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
    page = (app_dir / "output" / PAGE_NAME).read_text(encoding="utf-8")
    assert "No prediction mask" in page


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
    assert status == 2 and "lacks the gold CVQA answers" in err
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


# The export.

def export(tmp_path: Path, *options: str) -> tuple[Path, object]:
    target = tmp_path / "scoring_program.zip"
    done = CliRunner().invoke(app, ["export-scoring-program", str(target), *options])
    return target, done


def test_export_writes_the_bundle_the_platform_runs(tmp_path: Path) -> None:
    target, done = export(tmp_path, "--dockerfile", "--json")
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        metadata_text = archive.read("metadata.yaml").decode()
        sources = {n: archive.read(n) for n in names if n.endswith(".py")}
    assert names[:3] == ["metadata.yaml", "run_magic_scoring.py", "Dockerfile"]
    assert summary["entries"] == names and summary["modules"] == len(names) - 3
    command = re.search(r"^command: (.*)$", metadata_text, re.M).group(1)
    assert command == summary["command"]
    assert command.split()[2:] == OFFICIAL_COMMAND.split()[2:]  # the official arguments, in order
    assert command.split()[:2] == ["python3", "run_magic_scoring.py"]
    assert not any(n.startswith(("baselines/", "magic_submit/cli/")) for n in names)
    assert "magic_submit/scoring_program/bundle.py" not in names
    dirs = {"magic_submit": Path(__import__("magic_submit").__file__).parent,
            "evaluation": Path(__import__("evaluation").__file__).parent}
    for name, data in sources.items():  # copied from the installed package, unchanged
        if name != "run_magic_scoring.py":
            top, _, rest = name.partition("/")
            assert (dirs[top] / rest).read_bytes() == data, name
    again, _ = export(tmp_path / "again")
    plain, _ = export(tmp_path / "plain")
    assert again.read_bytes() == plain.read_bytes()  # the same options give the same bytes


def test_export_options_reach_the_command(tmp_path: Path) -> None:
    target, done = export(tmp_path, "--suffix", "team-1.v2", "--worst", "5", "--show-reference",
                          "--strict")
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(target) as archive:
        assert "Dockerfile" not in archive.namelist()
        text = archive.read("metadata.yaml").decode()
    assert "/app/output/ team-1.v2 --worst 5 --show-reference --strict\n" in text


@pytest.mark.parametrize("options, message", [
    (["--suffix", "my sys"], "cannot go into the platform command"),
    (["--worst", "-1"], "Invalid value"),
])
def test_export_usage_errors_exit_2(tmp_path: Path, options: list[str], message: str) -> None:
    target, done = export(tmp_path, *options)
    assert done.exit_code == 2 and message in done.output and not target.exists()
    done = CliRunner().invoke(app, ["export-scoring-program", str(tmp_path / "bundle.tar")])
    assert done.exit_code == 2 and "must end in .zip" in done.output


def test_bundled_code_imports_exactly_the_pinned_packages() -> None:
    used = bundle.third_party_imports(bundle.module_closure())
    needed = {pins.distribution_of(name) for name in used} - set(pins.NOT_NEEDED)
    assert needed == pins.pinned_names()
    assert set(pins.NOT_NEEDED) <= set(used)  # no stale exemption
    assert not {"torch", "transformers", "typer", "rich", "sklearn"} & set(used)


def test_export_refuses_code_that_needs_an_unpinned_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pins, "SCORING_PINS", tuple(p for p in pins.SCORING_PINS
                                                    if not p.startswith("pillow")))
    target, done = export(tmp_path)
    assert done.exit_code == 1 and "imports PIL" in done.output
    assert "magic_submit.masks" in done.output
    assert not target.exists()


def test_pins_lie_in_the_core_dependency_ranges() -> None:
    core = {}
    for line in metadata.requires("magic-mediqa") or []:
        requirement = Requirement(line)
        if requirement.marker is None:  # extras carry an `extra == ...` marker
            core[requirement.name.lower()] = requirement.specifier
    for pin in pins.SCORING_PINS:
        name, version = pin.split("==")
        assert name.lower() in core, f"{name} is not a core dependency"
        assert core[name.lower()].contains(version), f"{pin} is outside {core[name.lower()]}"


def test_dockerfile_is_the_base_image_and_the_pins() -> None:
    text = bundle.dockerfile_text()
    assert re.findall(r"^FROM (\S+)$", text, re.M) == [pins.BASE_IMAGE]
    (install,) = re.findall(r"^RUN pip install --no-cache-dir (.*)$", text, re.M)
    assert tuple(install.split()) == pins.SCORING_PINS
    assert pins.BASE_IMAGE == f"python:{pins.PYTHON_VERSION}-slim"
