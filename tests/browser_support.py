"""Headless Chromium for the page tests: find it, load a page, read what the page recorded.

A page built with ``magic_submit.reporting.html_parts.page`` records on ``<body>`` how many
``<img>`` failed to load (``data-broken-images``), which ``--dump-dom`` shows after the load event.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

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
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium binary found (install "
                                   "Debian's `chromium` package, as .ci/run does, or set "
                                   "MAGIC_CHROMIUM)")


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
