"""The report page in headless Chromium: it renders, no image is broken, the gallery is there.

Needs a Chromium binary (Debian package ``chromium``, installed by ``.ci/run``); the test skips
only when none is found. The page records on ``<body>`` how many ``<img>`` failed to load
(``data-broken-images``), which ``--dump-dom`` shows after the load event.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from magic_submit.cli import app

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Without network every lookup would stall: switch off everything that phones home.
QUIET_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage")
WINDOW = (1280, 2000)


def find_browser() -> str | None:
    """``MAGIC_CHROMIUM`` if set, else the first Chromium-like binary on PATH."""
    override = os.environ.get("MAGIC_CHROMIUM")
    if override:
        return override
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


BROWSER = find_browser()
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium binary found (install "
                                "Debian's `chromium` package, as .ci/run does, or set MAGIC_CHROMIUM)")


def run_browser(page: Path, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="magic-chromium-") as profile:
        return subprocess.run([BROWSER, *QUIET_FLAGS, f"--user-data-dir={profile}", *extra,
                               page.resolve().as_uri()], capture_output=True, text=True,
                              timeout=90)


def dump_dom(page: Path) -> str:
    done = run_browser(page, "--run-all-compositor-stages-before-draw",
                       "--virtual-time-budget=5000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def body_attribute(dom: str, name: str) -> str | None:
    body = re.search(r"<body[^>]*>", dom)
    assert body, "no <body> in the dumped DOM"
    found = re.search(rf'{name}="([^"]*)"', body.group(0))
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, sample_data: Path, sample_submission: Path) -> Path:
    out = tmp_path_factory.mktemp("browser-report")
    result = CliRunner().invoke(app, ["report", str(sample_submission), "--reference",
                                      str(sample_data), "--split", "test", "--output", str(out),
                                      "--worst", "4"])
    assert result.exit_code == 0, result.output
    return out


def test_page_renders_without_broken_images(report_dir: Path, tmp_path: Path) -> None:
    dom = dump_dom(report_dir / "index.html")
    assert body_attribute(dom, "data-images-checked") == "true", "the load event never ran"
    assert body_attribute(dom, "data-broken-images") == "0"
    gallery = re.search(r'<div class="gallery" id="gallery">(.*?)</div></section>', dom, re.S)
    assert gallery and gallery.group(1).count('class="gallery-item"') == 4
    assert dom.count("<img") == 4 + 3  # the gallery and the three plots

    shot = tmp_path / "shot.png"
    done = run_browser(report_dir / "index.html", f"--screenshot={shot}",
                       f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as im:
        assert im.format == "PNG" and im.size == WINDOW
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 20  # text, plots and photos; a blank page is one flat colour
    assert (pixels < 100).mean() > 0.01  # some dark content (text, plot axes)


def test_a_missing_image_is_caught(report_dir: Path, tmp_path: Path) -> None:
    # The check itself must be able to fail: remove one gallery picture from a copy.
    broken = tmp_path / "broken"
    shutil.copytree(report_dir, broken)
    next((broken / "gallery").iterdir()).unlink()
    dom = dump_dom(broken / "index.html")
    assert body_attribute(dom, "data-broken-images") == "1"
    assert re.search(r'<img[^>]*class="broken"', dom)
