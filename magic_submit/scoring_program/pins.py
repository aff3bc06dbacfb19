"""The scoring image's environment, kept in one place: its Python and the pinned dependencies.

The exported ``Dockerfile`` installs exactly :data:`SCORING_PINS` on :data:`BASE_IMAGE`; the
tests install the same pins (read back from that Dockerfile) into a fresh virtual environment
and run the exported bundle there. Each pinned name is one of the core dependencies of
``pyproject.toml`` and each version lies in its range there (the tests check both), and
:func:`~magic_submit.scoring_program.bundle.third_party_imports` makes sure the bundled code
needs nothing else.
"""

from __future__ import annotations

PYTHON_VERSION = "3.11"  # the image's Python: the interpreter the tests run the bundle with
PYTHON_RELEASE = f"{PYTHON_VERSION}.7"
BASE_IMAGE = f"python:{PYTHON_RELEASE}-slim-bookworm"  # an exact tag: the same image every build
MIN_PYTHON: tuple[int, int] = (3, 10)  # what the bundled code needs (pyproject's requires-python)

# What the bundled code imports, pinned (the versions the project is tested with).
SCORING_PINS: tuple[str, ...] = (
    "numpy==2.4.6",
    "pillow==13.0.0",
    "tifffile==2026.3.3",
)

# Import name -> distribution name, where they differ.
DISTRIBUTION_OF_IMPORT: dict[str, str] = {"PIL": "pillow"}

# Imported by the bundled code only inside a function that the scoring program never calls or
# that does without it (the reason is given), so the image does not need them.
NOT_NEEDED: dict[str, str] = {
    "matplotlib": "plots: the platform page shows tables instead",
}


def pinned_names() -> set[str]:
    """The distribution names of :data:`SCORING_PINS` (lower case)."""
    return {pin.split("==")[0].lower() for pin in SCORING_PINS}


def distribution_of(import_name: str) -> str:
    """The distribution that provides a top-level import (``PIL`` -> ``pillow``)."""
    return DISTRIBUTION_OF_IMPORT.get(import_name, import_name).lower()


def pinned_imports() -> dict[str, str]:
    """Top-level import name -> pinned distribution (``{"PIL": "pillow", ...}``): what the
    entry script looks for before it imports the bundled code."""
    imports = {distribution_of(name): name for name in DISTRIBUTION_OF_IMPORT}
    return {imports.get(name, name): name for name in sorted(pinned_names())}
