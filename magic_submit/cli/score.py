"""``magic score``: the official figures of a submission, with per-case detail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import DEFAULT_SUFFIX, DEFAULT_WORKERS
from magic_submit.cli import app
from magic_submit.cli.options import (
    AllowMissingOption, QuietOption, ReferenceOption, SplitOption, SuffixOption, json_option,
)
from magic_submit.errors import MagicError
from magic_submit.formatting import format_value


def print_score_table(report, title: str) -> None:
    """Rich table of metric, value and what the metric means (to stdout)."""
    from rich.table import Table

    from magic_submit.scoring import METRIC_DESCRIPTIONS
    from magic_submit.console import stdout

    table = Table(title=title, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for key, value in report.official().items():
        table.add_row(key, format_value(value), METRIC_DESCRIPTIONS.get(key, ""))
    stdout.print(table)
    seg = report.segmentation
    if seg is not None and seg.nan_images:
        from evaluation.facts import FLOAT_SEG_KEYS
        from evaluation.segmentation import EMPTY_IS_ONE_SUFFIX

        stdout.print(f"NaN: {len(seg.nan_images)} image(s) have an empty prediction and an empty "
                     f"annotator mask (0/0 in the official scorer): {', '.join(seg.nan_images)}",
                     highlight=False)
        stdout.print("With the common convention (both empty = 1.0):", highlight=False)
        for key in FLOAT_SEG_KEYS:
            name = key + EMPTY_IS_ONE_SUFFIX
            stdout.print(f"  {name} = {format_value(seg.scores[name])}", highlight=False)


@app.command("score")
def score_command(
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION", help="Submission folder or "
                                               ".zip holding masks_preds/ and/or "
                                               "data_cvqa_sys.json.")],
    reference: ReferenceOption,
    split: SplitOption = None,
    suffix: SuffixOption = DEFAULT_SUFFIX,
    json_output: Annotated[bool, json_option("the official keys, then the detail (NaN as null)")
                           ] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="DIR", file_okay=False,
        help="Write scores.json (the official file), per_image.csv and per_encounter.csv here.")
                      ] = None,
    allow_missing: AllowMissingOption = False,
    workers: Annotated[int, typer.Option(min=1, metavar="N", help="Threads reading masks.")
                       ] = DEFAULT_WORKERS,
    quiet: QuietOption = False,
) -> None:
    """The official figures of a submission, with per-case detail.

    Same keys and same numbers as the organisers' scorer; every input it would crash on is
    named instead. Exit 0 scored, 1 invalid input, 2 usage error.

    \b
    Examples:
      magic score submission.zip --reference dataset --split valid
      magic score out/submission -r dataset --split valid --json
      magic score upload/ -r platform_ref/ --output scores/   # masks_refs/ + data_cvqa_ref.json
    """
    from magic_submit.scoring import score_submission, write_score_outputs
    from magic_submit.console import (
        exit_with_error, note, print_json, progress_counter, progress_enabled, warn,
    )
    from magic_submit.submission import open_reference, open_submission

    try:
        ref = open_reference(reference, split)
        with open_submission(submission) as sub:
            with progress_counter("scoring masks",
                                  enabled=progress_enabled(quiet) and not json_output) as progress:
                report = score_submission(sub, ref, suffix=suffix, allow_missing=allow_missing,
                                          workers=workers, on_start=progress.start,
                                          on_image=progress.advance)
            report.notes[:0] = sub.notes
        written = write_score_outputs(report, output) if output is not None else []
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    for path in written if not quiet else []:
        note(f"wrote {path}")
    for warning in report.warnings:
        warn(warning.text())
    if not quiet:
        for message in report.all_notes():
            note(message)
    if json_output:
        print_json(report.full())
    else:
        print_score_table(report, f"{submission} vs {ref.description}")
