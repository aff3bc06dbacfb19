"""What ``magic export-scoring-program`` writes: the platform's scoring-program bundle.

A zip holding, at its root, ``metadata.yaml`` (the platform's ``command`` and the detail level
of the participants' page), the entry script ``run_magic_scoring.py`` (it checks the interpreter
and the packages with the standard library alone before it imports anything of magic),
optionally a ``Dockerfile`` for the scoring image (an exact base image, exact pins), and the
sources of every project module the entry imports, directly or not (:func:`module_closure`), copied from
the installed package: no torch, no baselines, no command line. The bundle runs without magic
installed, on :data:`~magic_submit.scoring_program.pins.SCORING_PINS` alone; the export refuses
to write one whose code imports anything else (:func:`check_imports`). The same options give
the same bytes.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import string
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from magic_submit import __version__
from magic_submit.errors import MagicError, UsageError
from magic_submit.jsonio import write_atomic
from magic_submit.scoring_program import pins
from magic_submit.scoring_program.platform_run import (
    DETAILS, ENTRY_SCRIPT, PLATFORM_ARGUMENTS, SUMMARY,
)

BUNDLED_PACKAGES: tuple[str, ...] = ("magic_submit", "evaluation")
ENTRY_MODULE = "magic_submit.scoring_program.platform_run"
METADATA_FILE = "metadata.yaml"
DOCKERFILE = "Dockerfile"
SUFFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same options give the same bytes

# The entry script parses on Python 2.7 and 3.x and imports only the standard library until it
# has checked the interpreter and the packages: on the platform's default image (Python 3.7)
# it says what to set in one line, writes no scores.json and exits 2 (the setup's fault).
ENTRY_TEMPLATE = string.Template(
    '''"""MEDIQA-MAGIC 2025 scoring program, exported by magic $version.

The platform runs it as metadata.yaml says:
    python3 $script REF_MASKS RES_MASKS REF_CVQA RES_CVQA OUTPUT_DIR [SUFFIX] [--detail ...]
It needs Python $min_python or newer and these packages, nothing else:
    $requirements
The image of the bundle's Dockerfile has them:
    $base_image
This file checks both first, with the standard library only; elsewhere it prints one line
naming what to set, writes no scores.json and exits 2. The code is in the folders beside this
file; magic_submit/scoring_program/platform_run.py documents the exit status.
"""

import os
import sys

NEEDED = $min_tuple
PACKAGES = $packages  # import name -> pinned distribution
IMAGE = "$image"


def missing_packages():
    """The pinned distributions that cannot be imported here."""
    try:
        from importlib.util import find_spec
    except ImportError:  # Python 2
        return sorted(PACKAGES.values())
    return sorted(dist for name, dist in PACKAGES.items() if find_spec(name) is None)


def main():
    missing = missing_packages() if sys.version_info[:2] >= NEEDED else []
    if sys.version_info[:2] < NEEDED or missing:
        here = "Python %d.%d" % tuple(sys.version_info[:2])
        if missing:
            here += " without " + ", ".join(missing)
        sys.stderr.write("error: this scoring program needs Python %d.%d or newer with %s; this "
                         "image has %s: set the competition's Docker image to %s\\n"
                         % (NEEDED[0], NEEDED[1], ", ".join(sorted(PACKAGES.values())), here,
                            IMAGE))
        return 2
    sys.dont_write_bytecode = True  # the program folder may be read-only
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from magic_submit.scoring_program.platform_run import main as run_program
    return run_program()


if __name__ == "__main__":
    sys.exit(main())
''')


class ExportError(MagicError):
    """The bundle cannot be built as promised (its code would need an unpinned package)."""


def _package_dirs() -> dict[str, Path]:
    """Where each bundled package's sources are installed (no module is imported)."""
    dirs = {}
    for package in BUNDLED_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ExportError(f"package {package} is not installed", code="export-missing-package",
                              hint="pip install magic-mediqa (or pip install -e . in a clone)")
        dirs[package] = Path(list(spec.submodule_search_locations)[0])
    return dirs


def _source_of(module: str, dirs: dict[str, Path]) -> Path | None:
    """The file of a project module (``a/b.py`` or ``a/b/__init__.py``); None when it is not one
    (``from a.b import name`` names an attribute)."""
    head, *rest = module.split(".")
    base = dirs[head].joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py") if rest else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every module name a source imports, anywhere in it (relative imports made absolute;
    ``from a import b`` yields ``a`` and ``a.b``, which may be a module)."""
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def module_closure(entry: str = ENTRY_MODULE,
                   dirs: dict[str, Path] | None = None) -> dict[str, Path]:
    """Module name -> source file of every project module ``entry`` needs, with its packages
    (``dirs``: the packages' folders, :func:`_package_dirs` by default)."""
    dirs = dirs if dirs is not None else _package_dirs()
    found: dict[str, Path] = {}
    todo = [entry]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        if name in found or parts[0] not in dirs:
            continue
        source = _source_of(name, dirs)
        if source is None:
            continue
        found[name] = source
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # its packages run first
        todo.extend(imported_names(source.read_text(encoding="utf-8"), name,
                                   source.name == "__init__.py"))
    return dict(sorted(found.items()))


def third_party_imports(modules: dict[str, Path]) -> dict[str, list[str]]:
    """Top-level import name -> the bundled modules importing it, for what is neither the
    standard library nor the project."""
    used: dict[str, list[str]] = {}
    for name, path in modules.items():
        imported = imported_names(path.read_text(encoding="utf-8"), name,
                                  path.name == "__init__.py")
        for top in sorted({i.split(".")[0] for i in imported if i}):
            if top in sys.stdlib_module_names or top in BUNDLED_PACKAGES or top == "__future__":
                continue
            used.setdefault(top, []).append(name)
    return used


def check_imports(modules: dict[str, Path]) -> None:
    """Raise :class:`ExportError` when the bundled code imports a package the image lacks."""
    for top, importers in third_party_imports(modules).items():
        if pins.distribution_of(top) not in pins.pinned_names() and top not in pins.NOT_NEEDED:
            raise ExportError(f"the bundled code imports {top} ({', '.join(importers)}), which the "
                              "scoring image does not install", code="export-unpinned-import",
                              hint="pin it in magic_submit/scoring_program/pins.py")


def check_suffix(suffix: str) -> str:
    if not SUFFIX_PATTERN.fullmatch(suffix):
        raise UsageError(f"suffix {suffix!r} cannot go into the platform command", code="usage",
                         hint="use letters, digits, '.', '_' or '-', as in IMG_..._mask_sys.tiff")
    return suffix


def platform_command(suffix: str = "sys", *, detail: str = SUMMARY, worst: int | None = None,
                     strict: bool = False) -> str:
    """The ``command`` of ``metadata.yaml``: the official arguments, then magic's options."""
    if detail not in DETAILS:
        raise UsageError(f"--detail {detail!r}: choose {' or '.join(DETAILS)}", code="usage")
    if worst is not None and detail == SUMMARY:
        raise UsageError("--worst shapes the gallery of --detail full; the summary page has "
                         "none", code="usage", hint="add --detail full (a public reference only)")
    words = ["python3", ENTRY_SCRIPT, *PLATFORM_ARGUMENTS, check_suffix(suffix), "--detail", detail]
    if worst is not None:
        words += ["--worst", str(worst)]
    if strict:
        words.append("--strict")
    return " ".join(words)


def detail_of(command: str) -> str:
    """The detail level a :func:`platform_command` asks for."""
    words = command.split()
    return words[words.index("--detail") + 1] if "--detail" in words else SUMMARY


def metadata_yaml(command: str) -> str:
    detail = detail_of(command)
    safety = ("safe for a hidden reference: the page shows nothing of it beyond scores.json"
              if detail == SUMMARY else "shows the reference: for a phase whose gold is public")
    description = (f"MEDIQA-MAGIC 2025 scoring program, magic {__version__}: the official "
                   f"arguments and scores.json, every upload problem named with its fix; "
                   f"detail {detail} ({safety})")
    return f'command: {command}\ndescription: "{description}"\n'


def default_image() -> str:
    return (f"an image built from this bundle's Dockerfile ({pins.BASE_IMAGE} + "
            f"{' '.join(pins.SCORING_PINS)})")


def dockerfile_text() -> str:
    """The scoring image: :data:`~pins.BASE_IMAGE` plus :data:`~pins.SCORING_PINS`, nothing else."""
    return (f"# Scoring image of the magic {__version__} scoring program: Python "
            f"{pins.PYTHON_RELEASE} and the pinned\n# dependencies of its code (the program "
            "itself comes in the bundle, mounted at /app/program).\n"
            f"#   docker build -t USER/magic-scoring:{__version__} - < {DOCKERFILE}\n"
            f"FROM {pins.BASE_IMAGE}\n"
            f"RUN pip install --no-cache-dir {' '.join(pins.SCORING_PINS)}\n")


def entry_script(image: str | None = None) -> str:
    """The bundle's ``run_magic_scoring.py``; ``image``: the competition's Docker image, named
    to the organisers when the interpreter is not the one the bundle needs."""
    if image is not None and ('"' in image or "\\" in image or "\n" in image):
        raise UsageError(f"image {image!r} cannot be quoted in the entry script", code="usage",
                         hint="give a Docker image name such as USER/magic-scoring:0.1.0")
    return ENTRY_TEMPLATE.substitute(
        version=__version__, script=ENTRY_SCRIPT, min_python="%d.%d" % pins.MIN_PYTHON,
        requirements=" ".join(pins.SCORING_PINS), base_image=pins.BASE_IMAGE,
        min_tuple=repr(pins.MIN_PYTHON), packages=repr(pins.pinned_imports()),
        image=image or default_image())


@dataclass(frozen=True)
class Bundle:
    """What was written: the zip, its entries, and how many are project modules."""

    path: Path
    entries: tuple[str, ...]
    modules: int
    size: int


def _add(archive: zipfile.ZipFile, name: str, data: str | bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def export_bundle(path: str | Path, *, command: str | None = None, dockerfile: bool = False,
                  image: str | None = None) -> Bundle:
    """Write the scoring-program zip to ``path``; ``command``: :func:`platform_command`'s;
    ``image``: the Docker image the entry script names when the interpreter does not fit."""
    path = Path(path)
    dirs = _package_dirs()
    modules = module_closure(dirs=dirs)
    check_imports(modules)
    files: dict[str, str | bytes] = {METADATA_FILE: metadata_yaml(command or platform_command()),
                                     ENTRY_SCRIPT: entry_script(image)}
    if dockerfile:
        files[DOCKERFILE] = dockerfile_text()
    for name, source in modules.items():
        files[source.relative_to(dirs[name.split(".")[0]].parent).as_posix()] = source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            _add(archive, name, data)
    write_atomic(path, buffer.getvalue())
    return Bundle(path, tuple(files), len(modules), len(buffer.getvalue()))
