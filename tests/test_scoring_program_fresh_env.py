"""The exported bundle as the platform runs it: unpacked into a folder of its own, its
``metadata.yaml`` command run there with ``/app`` mapped to a temporary folder, by a fresh
virtual environment holding only the pins of the bundle's Dockerfile (not magic).

The environment is built once per session from pip's cache (about 10 s); its Python is the
Dockerfile's when that interpreter is installed here. The entry script is also run by every
Python older than the bundle needs that is installed here (the platform's default image has
3.7), and by a Python without the pinned packages.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from browser_support import body_attribute, dump_dom, needs_browser
from magic_submit.cli import app
from magic_submit.scoring_program import pins
from scoring_program_cases import (
    BROKEN, assert_plain_scores, magic_score_output, make_app, mapped,
)
from test_scoring_program_summary import REFERENCE_IDS, renumber_annotators

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}


def dockerfile_pins(dockerfile: Path) -> tuple[str, tuple[str, ...]]:
    """(base image, requirements) of the exported Dockerfile."""
    text = dockerfile.read_text(encoding="utf-8")
    (base,) = re.findall(r"^FROM (\S+)$", text, re.M)
    (install,) = re.findall(r"^RUN pip install --no-cache-dir (.*)$", text, re.M)
    return base, tuple(install.split())


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    """The exported bundle (with its Dockerfile), unpacked as the platform does into a folder."""
    work = tmp_path_factory.mktemp("export")
    done = CliRunner().invoke(app, ["export-scoring-program", str(work / "program.zip"),
                                    "--dockerfile"])
    assert done.exit_code == 0, done.output
    folder = work / "program"
    with zipfile.ZipFile(work / "program.zip") as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture(scope="session")
def fresh_python(tmp_path_factory, bundle_dir: Path) -> Path:
    """A new virtual environment with exactly the Dockerfile's requirements installed."""
    _, requirements = dockerfile_pins(bundle_dir / "Dockerfile")
    base = shutil.which(f"python{pins.PYTHON_VERSION}") or sys.executable
    venv = tmp_path_factory.mktemp("fresh-venv")
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                "--quiet", "--disable-pip-version-check", *requirements],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    probe = subprocess.run([str(python), "-c", "import magic_submit"], cwd=venv,
                           capture_output=True, text=True, env=CLEAN_ENV, timeout=60)
    assert probe.returncode != 0 and "No module named 'magic_submit'" in probe.stderr
    return python


def run_command(bundle_dir: Path, python: Path | str, app_dir: Path,
                *extra: str) -> subprocess.CompletedProcess:
    """The metadata.yaml command (then ``extra``), run from the program folder as the platform
    runs it."""
    text = (bundle_dir / "metadata.yaml").read_text(encoding="utf-8")
    words = shlex.split(re.search(r"^command: (.*)$", text, re.M).group(1))
    assert words[0] == "python3"
    done = subprocess.run([str(python), *mapped(words[1:], app_dir), *extra], cwd=bundle_dir,
                          capture_output=True, text=True, env=CLEAN_ENV, timeout=300,
                          errors="strict")
    assert str(app_dir) not in done.stdout + done.stderr  # no path of the machine
    return done


def old_pythons() -> list[str]:
    """Every interpreter found here older than the bundle needs (``python3.7``, pyenv's...)."""
    candidates = {shutil.which(f"python{v}") for v in ("2", "2.7", "3.6", "3.7", "3.8", "3.9")}
    candidates.update(glob.glob(os.path.expanduser("~/.pyenv/versions/[23].*/bin/python")))
    found = {}
    for candidate in sorted(c for c in candidates if c):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60)
        version = probe.stdout.strip()
        if probe.returncode == 0 and tuple(map(int, version.split("."))) < pins.MIN_PYTHON:
            found.setdefault(version, candidate)
    return [found[v] for v in sorted(found)]


@pytest.mark.parametrize("reference", ["platform", "dataset"])
def test_sample_in_a_fresh_environment_writes_magic_scores_file(
        tmp_path: Path, sample_data: Path, bundle_dir: Path, fresh_python: Path,
        magic_score_file: bytes, reference: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference=reference)
    done = run_command(bundle_dir, fresh_python, app_dir)
    assert done.returncode == 0, done.stderr
    written = (app_dir / "output" / "scores.json").read_bytes()
    assert written == magic_score_file
    assert_plain_scores(app_dir, written)
    assert "accuracy_all: 0.5401" in done.stdout
    assert len((done.stdout + done.stderr).splitlines()) <= 40
    page = (app_dir / "output" / "detailed_results.html").read_text(encoding="utf-8")
    assert "Detail: summary" in page and not REFERENCE_IDS.search(page + done.stderr)


def test_summary_page_is_the_same_for_references_with_the_same_scores(
        tmp_path: Path, sample_data: Path, bundle_dir: Path, fresh_python: Path) -> None:
    """The same gold masks under other annotator numbers: the same scores.json, the same page
    and log (the full page differs)."""
    outputs = []
    for name in ("first", "second"):
        app_dir = make_app(tmp_path / name, sample_data, "values-255")
        if name == "second":
            assert renumber_annotators(app_dir / "input" / "ref") > 0
        output = app_dir / "output"
        done = run_command(bundle_dir, fresh_python, app_dir)
        written = ((output / "scores.json").read_bytes(),
                   (output / "detailed_results.html").read_bytes())
        full = run_command(bundle_dir, fresh_python, app_dir, "--detail", "full")
        assert done.returncode == full.returncode == 0, done.stderr
        outputs.append((done.stdout, done.stderr, *written,
                        (output / "detailed_results.html").read_bytes()))
    (out, err, scores, page, full_page), other = outputs
    assert other[:4] == (out, err, scores, page)
    assert other[4] != full_page  # the full detail names the annotators: it can differ


@needs_browser
@pytest.mark.parametrize("reference", ["platform", "dataset"])
def test_detailed_results_open_in_chromium_without_a_broken_image(
        tmp_path: Path, sample_data: Path, bundle_dir: Path, fresh_python: Path,
        reference: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference=reference)
    assert run_command(bundle_dir, fresh_python, app_dir, "--detail", "full").returncode == 0
    dom = dump_dom(app_dir / "output" / "detailed_results.html")
    assert body_attribute(dom, "data-images-checked") == "true", "the load event never ran"
    assert body_attribute(dom, "data-broken-images") == "0"
    assert dom.count('class="gallery-item"') == 20 and dom.count("<img") == 20


@pytest.mark.parametrize("upload", sorted(BROKEN))
def test_broken_upload_in_a_fresh_environment_gives_its_messages_and_status(
        tmp_path: Path, sample_data: Path, bundle_dir: Path, fresh_python: Path,
        upload: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, upload)
    done = run_command(bundle_dir, fresh_python, app_dir)
    status, code, said = BROKEN[upload]
    assert done.returncode == status, done.stderr
    assert code in done.stderr and said in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    scores = app_dir / "output" / "scores.json"
    if status:  # refused: the platform marks the submission failed
        assert not scores.exists()
    else:  # scored as officially (read inside an enclosing folder), the problems said
        inner = "my_submission" if upload == "top-folder" else ""
        assert scores.read_bytes() == magic_score_output(app_dir, tmp_path / "magic", inner)
        assert_plain_scores(app_dir, scores.read_bytes(), inner)
        assert len((done.stdout + done.stderr).splitlines()) <= 40
    assert code in (app_dir / "output" / "detailed_results.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("python", old_pythons() or [pytest.param(None, marks=pytest.mark.skip(
    reason="no Python older than the bundle needs is installed here"))])
def test_old_python_says_what_image_to_set_in_one_line(tmp_path: Path, sample_data: Path,
                                                       bundle_dir: Path, python: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample")
    done = run_command(bundle_dir, python, app_dir)
    needed = "%d.%d" % pins.MIN_PYTHON
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert f"needs Python {needed} or newer with numpy, pillow, tifffile" in line
    assert ("set the competition's Docker image to an image built from this bundle's "
            "Dockerfile") in line
    assert pins.BASE_IMAGE in line
    assert list((app_dir / "output").iterdir()) == []  # no scores.json: the submission fails


def test_python_without_the_packages_says_so_in_one_line(tmp_path: Path, sample_data: Path,
                                                         bundle_dir: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True,
                   timeout=120)
    app_dir = make_app(tmp_path / "app", sample_data, "sample")
    done = run_command(bundle_dir, bare / "bin" / "python", app_dir)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    version = "%d.%d" % sys.version_info[:2]
    assert f"this image has Python {version} without numpy, pillow, tifffile" in line
    assert list((app_dir / "output").iterdir()) == []


def test_fresh_environment_is_the_dockerfiles(bundle_dir: Path, fresh_python: Path) -> None:
    base, requirements = dockerfile_pins(bundle_dir / "Dockerfile")
    assert base == pins.BASE_IMAGE and requirements == pins.SCORING_PINS
    listed = subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh_python), "list",
                             "--format=freeze", "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=120, check=True).stdout
    installed = {line.split("==")[0].lower(): line for line in listed.split()}
    for pin in requirements:  # every pin, at that version, and nothing of magic
        assert installed[pin.split("==")[0].lower()].lower() == pin.lower()
    assert not any(name.startswith("magic") for name in installed)
    version = subprocess.run([str(fresh_python), "-c", "import sys; print('%d.%d' % "
                              "sys.version_info[:2])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    if shutil.which(f"python{pins.PYTHON_VERSION}") is None:
        pytest.skip(f"python{pins.PYTHON_VERSION} is not installed here: the environment uses "
                    f"Python {version}")
    assert version == pins.PYTHON_VERSION
