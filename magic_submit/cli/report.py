"""``magic report``: a static HTML report of one submission (plots, worst images, CVQA confusion)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.cli import app
from magic_submit.cli.options import (
    AllowMissingOption, QuietOption, ReferenceOption, SplitOption, SuffixOption,
)


@app.command("report")
def report_command(
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION",
                                               help="Submission folder or .zip.")],
    reference: ReferenceOption,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="DIR", file_okay=False,
                                         help="Folder for index.html and its files.")],
    split: SplitOption = None,
    images: Annotated[Optional[Path], typer.Option("--images", metavar="DIR", help="Folder of the split's photos (default: "
                                                   "images_{split}/ of a dataset root).")] = None,
    worst: Annotated[int, typer.Option(min=0, metavar="N", help="Images in the gallery of the worst.")] = 24,
    suffix: SuffixOption = DEFAULT_SUFFIX,
    allow_missing: AllowMissingOption = False,
    quiet: QuietOption = False,
) -> None:
    """A static HTML page of what a submission gets wrong.

    Writes OUTPUT/index.html: the scores, per-image Jaccard/Dice histograms, per-family CVQA
    accuracies, the worst images with every outline, and a CVQA confusion view per family.

    \b
    Example:
      magic report submission.zip --reference dataset --split valid --output report/
    """
    from magic_submit.scoring import score_submission
    from magic_submit.console import exit_with_error, note, stdout, warn
    from magic_submit.errors import MagicError
    from magic_submit.reporting.html_report import write_report
    from magic_submit.reporting.reference import open_reference_context
    from magic_submit.submission import open_submission

    if images is not None and not images.is_dir():
        raise typer.BadParameter(f"{images} is not a folder", param_hint="--images")
    try:
        ref = open_reference_context(reference, split, images)
        with open_submission(submission) as sub:
            report = score_submission(sub, ref.files, suffix=suffix, allow_missing=allow_missing)
            report.notes[:0] = sub.notes
            files = write_report(report, ref, sub, output, worst=worst, suffix=suffix)
    except MagicError as error:
        exit_with_error(error)
    for warning in report.warnings:
        warn(warning.text())
    if not quiet:
        for message in report.all_notes() + files.notes:
            note(message)
    stdout.print(f"wrote {files.page} ({len(files.written)} files in {output})", highlight=False)
