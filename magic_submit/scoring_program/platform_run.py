"""The program the exported bundle runs: the official scorer's command line, with magic inside.

``python3 run_magic_scoring.py REF_MASKS RES_MASKS REF_CVQA RES_CVQA OUTPUT_DIR [SUFFIX]
[--detail summary|full] [--worst N] [--strict]``: the arguments of the official
``run_segandcvqa_scoring.py``, in its order; each defaults to the platform path of the exported
``metadata.yaml``. Which uploads are scored is :mod:`~magic_submit.scoring_program.upload`'s
rule. ``--detail summary`` (the default) makes the log and the page of
:mod:`~magic_submit.scoring_program.public_view`'s view alone, safe for a hidden reference;
``--detail full`` adds per-image figures and the annotators' outlines (a public reference).
The log names a few culprits of each problem and counts the rest (the page lists them all);
neither shows a path of the server nor an unprintable character (:mod:`.public_text`).

Exit status:

* 0: scored. ``OUTPUT_DIR/scores.json`` is the official file (what ``magic score --output``
  writes) and ``OUTPUT_DIR/detailed_results.html`` the participant's page; the figures go to
  stdout, the check's problems (each with its fix) and the notes to stderr.
* 1: the upload was refused (a symbolic link in it, the official scorer would crash on it;
  with ``--strict``, also any upload the check calls invalid): the problems on stderr and in
  ``detailed_results.html``; no ``scores.json``, so the platform marks the submission failed.
* 2: the program cannot run (a missing reference part, wrong arguments, an unwritable output):
  a problem of the organisers' setup, said on stderr; no ``scores.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
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
from magic_submit.scoring_program.findings import LOG_LIMIT, Finding, render, verdict
from magic_submit.scoring_program.platform_reference import open_platform_reference, upload_root
from magic_submit.scoring_program.public_text import Redactor
from magic_submit.scoring_program.public_view import PublicView
from magic_submit.scoring_program.summary_page import summary_page
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
SUMMARY, FULL = "summary", "full"
# What the log says of the page, by detail level.
DETAILS: dict[str, str] = {
    SUMMARY: f"{PAGE_NAME}: detail summary (the figures and your upload's own problems; "
             "nothing else of the hidden reference)",
    FULL: f"{PAGE_NAME}: detail full (per-image figures and the annotators' outlines of this "
          "phase's public reference)",
}
SHOW_REFERENCE_GONE = "--show-reference is replaced by --detail full (export the bundle again)"
MORE = f" (every one on {PAGE_NAME})"
PROGRAM_DIR = Path(__file__).resolve().parents[2]  # the bundle's root (or the installed package's)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=ENTRY_SCRIPT, description=f"MEDIQA-MAGIC 2025 scoring program (magic {__version__}): "
        "the official scorer's arguments and figures, every upload problem named with its fix.")
    for name, default in zip(ARGUMENT_NAMES, PLATFORM_ARGUMENTS):
        parser.add_argument(name, nargs="?", type=Path, default=Path(default),
                            help=f"default: {default}")
    parser.add_argument("suffix", nargs="?", default=ch.DEFAULT_SUFFIX,
                        help="system name in IMG_..._mask_{suffix}.tiff (default: sys)")
    parser.add_argument("--detail", choices=tuple(DETAILS), default=SUMMARY,
                        help="summary: nothing about the reference beyond scores.json (a hidden "
                        "reference); full: per-image figures and the annotators' outlines")
    parser.add_argument("--worst", type=int, default=None,
                        help=f"worst images on the full page (default {DEFAULT_WORST}; 0: none)")
    parser.add_argument("--show-reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strict", action="store_true",
                        help="refuse every upload the check calls invalid, even where the "
                        "official scorer would score it")
    parser.add_argument("--max-page-bytes", type=int, default=MAX_PAGE_BYTES,
                        help=argparse.SUPPRESS)
    return parser


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options, checked together (exit 2 with a usage message when they conflict)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.show_reference:
        parser.error(SHOW_REFERENCE_GONE)
    if args.worst is not None and args.detail != FULL:
        parser.error("--worst shapes the gallery of --detail full; the summary page has none")
    if args.worst is not None and args.worst < 0:
        parser.error("--worst must be 0 or more")
    return args


@dataclass(frozen=True)
class Log:
    """The submission's logs, as the platform shows them to the participant: every line passes
    the :class:`~magic_submit.scoring_program.public_text.Redactor`."""

    redact: Redactor

    def say(self, *lines: str, out: bool = False) -> None:
        """Print to stderr (stdout with ``out``)."""
        if lines:
            print(*(self.redact(line) for line in lines), sep="\n",
                  file=sys.stdout if out else sys.stderr, flush=True)


def _folders(args: argparse.Namespace) -> dict[Path, str]:
    """The server's folders and the placeholders they are shown as."""
    return {Path(args.upload_masks).parent: "<upload>",
            Path(args.reference_masks).parent: "<reference>",
            Path(args.reference_cvqa).parent: "<reference>", Path(args.output_dir): "<output>",
            PROGRAM_DIR: "<program>", Path(tempfile.gettempdir()): "<temporary folder>"}


def _write_page(html: str, output: Path, folders: dict[Path, str]) -> None:
    write_atomic(output / PAGE_NAME, Redactor.of(folders, for_html=True)(html))


def _read_lines(view: PublicView) -> list[str]:
    counts = ", ".join(f"{n} {what}" for what, n in view.read)
    return [f"read in your upload: {counts}"] if counts else []


def _problem_lines(findings: list[Finding] | tuple[Finding, ...]) -> list[str]:
    return [*render(findings, limit=LOG_LIMIT, more=MORE), verdict(findings)]


def _refuse(outcome: UploadOutcome, output: Path, log: Log, args: argparse.Namespace) -> int:
    log.say("Your upload was not scored: fix each problem below and upload again.")
    if args.detail == SUMMARY:
        view = outcome.public()
        log.say(*_problem_lines(view.findings), *_read_lines(view))
        html = summary_page(view)
    else:
        log.say(*_problem_lines(outcome.findings()))
        html = refused_page(outcome).html
    log.say(DETAILS[args.detail])
    _write_page(html, output, _folders(args))
    return EXIT_REFUSED


def _narrative(valid: bool, problems: bool) -> list[str]:
    if not valid:
        return ["Your upload was scored as the official scorer scores it, but it holds errors: "
                "the figures are not what you meant. Fix each problem below and upload again."]
    return ["Your upload was scored; the check found these remarks:"] if problems else []


def _publish(outcome: UploadOutcome, reference: ReferenceContext, output: Path, work: Path,
             log: Log, args: argparse.Namespace) -> int:
    report = outcome.report
    write_scores_json(report, output)  # the very file `magic score --output` writes
    log.say(*(f"{key}: {format_value(value)}" for key, value in report.official().items()),
            out=True)
    if args.detail == SUMMARY:
        view = outcome.public()
        log.say(*_narrative(view.valid, bool(view.findings)), *_problem_lines(view.findings),
                *_read_lines(view), DETAILS[SUMMARY])
        _write_page(summary_page(view), output, _folders(args))
        return EXIT_SCORED
    log.say(*(f"warning: {warning.text(limit=LOG_LIMIT)}" for warning in report.warnings))
    found = outcome.findings()
    log.say(*_narrative(outcome.validation.valid, bool(found)), *_problem_lines(found))
    log.say(*(f"note: {message}" for message in report.all_notes()))
    try:
        worst = DEFAULT_WORST if args.worst is None else args.worst
        page = scored_page(outcome, reference, work, suffix=args.suffix, worst=worst,
                           max_bytes=args.max_page_bytes)
    except MagicError as error:  # the figures stand; only the page is lost
        page = DetailsPage("", notes=[f"{PAGE_NAME} not written: {error.render()}"])
    if page.html:
        _write_page(page.html, output, _folders(args))
    log.say(*(f"note: {message}" for message in page.notes), DETAILS[FULL])
    return EXIT_SCORED


def main(argv: Sequence[str] | None = None) -> int:
    """Score the upload; return the exit status (see the module's docstring)."""
    args = parse_arguments(argv)
    output = Path(args.output_dir)
    log = Log(Redactor.of(_folders(args)))
    try:
        reference = open_platform_reference(args.reference_masks, args.reference_cvqa)
        upload = upload_root(args.upload_masks, args.upload_cvqa)
        checks = leaderboard_checks(reference)
        outcome = evaluate_upload(upload, reference, checks, suffix=args.suffix,
                                  strict=args.strict, check_own=args.detail == SUMMARY)
        if not outcome.scored:
            return _refuse(outcome, output, log, args)
        with tempfile.TemporaryDirectory(prefix="magic-scoring-") as work:
            return _publish(outcome, reference, output, Path(work), log, args)
    except MagicError as error:  # the reference, the arguments or the output: the setup's fault
        log.say(f"error: the scoring program cannot run: {error.render()}")
        return EXIT_SETUP
