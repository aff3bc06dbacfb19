"""The exported bundle as the platform runs it: unpacked into a folder of its own, its
``metadata.yaml`` command run there with ``/app`` mapped to a temporary folder, by a fresh
virtual environment holding only the pins of the bundle's Dockerfile (not magic).

The environment is built once per session from pip's cache (about 10 s); its Python is the
Dockerfile's when that interpreter is installed here.
"""

from __future__ import annotations

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
from scoring_program_cases import BROKEN, magic_score_output, make_app, mapped

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


def run_command(bundle_dir: Path, python: Path, app_dir: Path) -> subprocess.CompletedProcess:
    """The metadata.yaml command, run from the program folder as the platform runs it."""
    text = (bundle_dir / "metadata.yaml").read_text(encoding="utf-8")
    words = shlex.split(re.search(r"^command: (.*)$", text, re.M).group(1))
    assert words[0] == "python3"
    return subprocess.run([str(python), *mapped(words[1:], app_dir)], cwd=bundle_dir,
                          capture_output=True, text=True, env=CLEAN_ENV, timeout=300)


@pytest.mark.parametrize("reference", ["platform", "dataset"])
def test_sample_in_a_fresh_environment_writes_magic_scores_file(
        tmp_path: Path, sample_data: Path, bundle_dir: Path, fresh_python: Path,
        magic_score_file: bytes, reference: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference=reference)
    done = run_command(bundle_dir, fresh_python, app_dir)
    assert done.returncode == 0, done.stderr
    assert (app_dir / "output" / "scores.json").read_bytes() == magic_score_file
    assert "accuracy_all: 0.5401" in done.stdout
    page = app_dir / "output" / "detailed_results.html"
    assert page.stat().st_size < 5_000_000


@needs_browser
@pytest.mark.parametrize("reference", ["platform", "dataset"])
def test_detailed_results_open_in_chromium_without_a_broken_image(
        tmp_path: Path, sample_data: Path, bundle_dir: Path, fresh_python: Path,
        reference: str) -> None:
    app_dir = make_app(tmp_path / "app", sample_data, "sample", reference=reference)
    assert run_command(bundle_dir, fresh_python, app_dir).returncode == 0
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
    else:  # scored as officially, the problems said
        assert scores.read_bytes() == magic_score_output(app_dir, tmp_path / "magic")
    assert code in (app_dir / "output" / "detailed_results.html").read_text(encoding="utf-8")


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
