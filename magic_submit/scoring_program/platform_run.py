"""The program the exported bundle runs: the official scorer's command line, with magic inside.

``python3 run_magic_scoring.py REF_MASKS RES_MASKS REF_CVQA RES_CVQA OUTPUT_DIR [SUFFIX]
[--worst N] [--show-reference] [--strict]``: the arguments of the official
``run_segandcvqa_scoring.py``, in its order; each defaults to the platform path of the exported
``metadata.yaml``. Which uploads are scored is :mod:`~magic_submit.scoring_program.upload`'s rule.

Exit status:

* 0: scored. ``OUTPUT_DIR/scores.json`` is the official file (what ``magic score --output``
  writes) and ``OUTPUT_DIR/detailed_results.html`` the participant's page; the figures go to
  stdout, the check's problems (each with its fix) and the notes to stderr.
* 1: the upload was refused (the official scorer would crash on it; with ``--strict``, also
  any upload the check calls invalid): every problem with its fix on stderr and in
  ``detailed_results.html``; no ``scores.json``, so the platform marks the submission failed.
* 2: the program cannot run (a missing reference part, wrong arguments, an unwritable output):
  a problem of the organisers' setup, said on stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from magic_submit import __version__
from magic_submit import challenge as ch
from magic_submit.errors import MagicError
from magic_submit.formatting import format_value
from magic_submit.jsonio import write_atomic
from magic_submit.reporting.html_report import DEFAULT_WORST
from magic_submit.reporting.leaderboard import leaderboard_checks
from magic_submit.reporting.reference import ReferenceContext
from magic_submit.scoring_program.details_page import (
    MAX_PAGE_BYTES, PAGE_NAME, DetailsPage, refused_page, scored_page,
)
from magic_submit.scoring_program.engine import write_scores_json
from magic_submit.scoring_program.platform_reference import open_platform_reference, upload_root
from magic_submit.scoring_program.upload import UploadOutcome, evaluate_upload

ENTRY_SCRIPT = "run_magic_scoring.py"
# The official command's paths on the platform, in its argument order (the suffix comes last).
PLATFORM_ARGUMENTS: tuple[str, ...] = (
    f"/app/input/ref/{ch.MASKS_REF_DIR}", f"/app/input/res/{ch.MASKS_PRED_DIR}",
    f"/app/input/ref/{ch.CVQA_REFERENCE_FILE}", f"/app/input/res/{ch.CVQA_SUBMISSION_FILE}",
    "/app/output/")
ARGUMENT_NAMES: tuple[str, ...] = ("reference_masks", "upload_masks", "reference_cvqa",
                                   "upload_cvqa", "output_dir")
EXIT_SCORED, EXIT_REFUSED, EXIT_SETUP = 0, 1, 2  # the project's 0 / 1 invalid input / 2 usage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=ENTRY_SCRIPT, description=f"MEDIQA-MAGIC 2025 scoring program (magic {__version__}): "
        "the official scorer's arguments and figures, every upload problem named with its fix.")
    for name, default in zip(ARGUMENT_NAMES, PLATFORM_ARGUMENTS):
        parser.add_argument(name, nargs="?", type=Path, default=Path(default),
                            help=f"default: {default}")
    parser.add_argument("suffix", nargs="?", default=ch.DEFAULT_SUFFIX,
                        help="system name in IMG_..._mask_{suffix}.tiff (default: sys)")
    parser.add_argument("--worst", type=int, default=DEFAULT_WORST,
                        help="worst images shown on the page (0: none)")
    parser.add_argument("--show-reference", action="store_true",
                        help="draw the annotators' outlines in the gallery (reveals the reference)")
    parser.add_argument("--strict", action="store_true",
                        help="refuse every upload the check calls invalid, even where the "
                        "official scorer would score it")
    parser.add_argument("--max-page-bytes", type=int, default=MAX_PAGE_BYTES,
                        help=argparse.SUPPRESS)
    return parser


def say(*lines: str, out: bool = False) -> None:
    """Print to stderr (stdout with ``out``): the platform shows both logs to the participant."""
    if lines:
        print(*lines, sep="\n", file=sys.stdout if out else sys.stderr, flush=True)


def _refuse(outcome: UploadOutcome, output: Path) -> int:
    text = outcome.check_text()
    say("Your upload was not scored: fix each problem below and upload again.", text)
    write_atomic(output / PAGE_NAME, refused_page(text).html)
    return EXIT_REFUSED


def _publish(outcome: UploadOutcome, reference: ReferenceContext, output: Path, work: Path,
             args: argparse.Namespace) -> int:
    report = outcome.report
    write_scores_json(report, output)  # the very file `magic score --output` writes
    say(*(f"{key}: {format_value(value)}" for key, value in report.official().items()), out=True)
    say(*(f"warning: {warning.text()}" for warning in report.warnings))  # as magic score says
    if not outcome.validation.valid:
        say("Your upload was scored as the official scorer scores it, but it holds errors: the "
            "figures are not what you meant. Fix each problem below and upload again.",
            outcome.check_text())
    elif outcome.validation.problems:
        say("Your upload was scored; the check found these warnings:", outcome.check_text())
    say(*(f"note: {message}" for message in report.all_notes()))
    try:
        page = scored_page(outcome, reference, work, suffix=args.suffix, worst=args.worst,
                           show_reference=args.show_reference, max_bytes=args.max_page_bytes)
    except MagicError as error:  # the figures stand; only the page is lost
        page = DetailsPage("", notes=[f"{PAGE_NAME} not written: {error.render()}"])
    if page.html:
        write_atomic(output / PAGE_NAME, page.html)
    say(*(f"note: {message}" for message in page.notes))
    return EXIT_SCORED


def main(argv: Sequence[str] | None = None) -> int:
    """Score the upload; return the exit status (see the module's docstring)."""
    args = build_parser().parse_args(argv)
    output = Path(args.output_dir)
    try:
        reference = open_platform_reference(args.reference_masks, args.reference_cvqa)
        root = upload_root(args.upload_masks, args.upload_cvqa)
        checks = leaderboard_checks(reference)
        outcome = evaluate_upload(root, reference, checks, suffix=args.suffix, strict=args.strict)
        if not outcome.scored:
            return _refuse(outcome, output)
        with tempfile.TemporaryDirectory(prefix="magic-scoring-") as work:
            return _publish(outcome, reference, output, Path(work), args)
    except MagicError as error:  # the reference, the arguments or the output: the setup's fault
        say(f"error: the scoring program cannot run: {error.render()}")
        return EXIT_SETUP
