"""The report page in headless Chromium: it renders, no image is broken, the gallery is there.

Needs a Chromium binary (Debian package ``chromium``, installed by ``.ci/run``); the test skips
only when none is found. The page records on ``<body>`` how many ``<img>`` failed to load
(``data-broken-images``), which ``--dump-dom`` shows after the load event.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from magic_submit.cli import app

from browser_support import WINDOW, body_attribute, dump_dom, needs_browser, run_browser

pytestmark = needs_browser


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
