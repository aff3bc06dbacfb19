"""``magic leaderboard``: rank several submissions with bootstrap intervals and flip rates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.cli import app
from magic_submit.cli.options import (
    QuietOption, ReferenceOption, SplitOption, SuffixOption, json_option,
)


@app.command("leaderboard")
def leaderboard_command(
    submissions: Annotated[list[Path], typer.Argument(metavar="SUBMISSION",
                                                      help="Submission folders or .zip files.")],
    reference: ReferenceOption,
    split: SplitOption = None,
    name: Annotated[Optional[list[str]], typer.Option("--name", metavar="NAME",
                                                      help="Display name, once per "
                                                      "submission in order (default: file name).")
                    ] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=1, metavar="N", help="Bootstrap resamples of the "
                                           "encounters.")] = 1000,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the resamples (same seed, same intervals).")] = 0,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", metavar="KEY", help="Metric shown in the table "
                                                        "(repeat; 'all' for every official metric; "
                                                        "default: the paper's columns + "
                                                        "accuracy_all). JSON and CSV hold all.")
                      ] = None,
    empty_is_one: Annotated[bool, typer.Option("--empty-is-one", help="Score 'prediction and an "
                                               "annotator both empty' as 1.0 instead of the "
                                               "official NaN.")] = False,
    suffix: SuffixOption = DEFAULT_SUFFIX,
    json_output: Annotated[bool, json_option("every metric of every submission, intervals, "
                                             "flip rates (NaN as null)")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="DIR",
                                                   file_okay=False,
                                                   help="Write leaderboard.csv here.")] = None,
    quiet: QuietOption = False,
) -> None:
    """Rank submissions with 95% bootstrap intervals.

    Scores every submission once, ranks them on each official metric with 95% bootstrap
    intervals (encounters resampled), and says which neighbour differences are real.

    \b
    Examples:
      magic leaderboard team_a.zip team_b.zip --reference dataset --split valid
      magic leaderboard runs/*/submission.zip -r dataset --split valid --metric all -o board/
    """
    from magic_submit.console import (
        exit_with_error, note, print_json, progress_counter, progress_enabled,
    )
    from magic_submit.errors import MagicError
    from magic_submit.reporting.leaderboard import (
        HEADLINE_METRICS, RANKED_METRICS, default_names, evaluate_submission, leaderboard_checks,
        rank_contenders,
    )
    from magic_submit.reporting.leaderboard_output import (
        leaderboard_json, print_leaderboard, write_leaderboard_csv,
    )
    from magic_submit.reporting.reference import open_reference_context

    names = list(name) if name else default_names(submissions)
    if len(names) != len(submissions):
        raise typer.BadParameter(f"{len(names)} --name for {len(submissions)} submissions: give one "
                                 "per submission, in order", param_hint="--name")
    if len(set(names)) != len(names):
        raise typer.BadParameter("two submissions share a name", param_hint="--name")
    shown = list(metric) if metric else list(HEADLINE_METRICS)
    if "all" in shown:
        shown = list(RANKED_METRICS)
    unknown = [m for m in shown if m not in RANKED_METRICS]
    if unknown:
        raise typer.BadParameter(f"unknown metric {', '.join(unknown)}; choose from "
                                 f"{', '.join(RANKED_METRICS)} or 'all'", param_hint="--metric")
    try:  # the reference, its split and the expected mask sizes: read once for every submission
        ref = open_reference_context(reference, split)
        checks = leaderboard_checks(ref)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    contenders = []
    with progress_counter("scoring submissions", len(submissions),
                          enabled=progress_enabled(quiet) and not json_output) as advance:
        for path, label in zip(submissions, names):
            contenders.append(evaluate_submission(path, label, ref, suffix=suffix, checks=checks))
            advance()
    board = rank_contenders(contenders, ref, n_resamples=bootstrap, seed=seed,
                            empty_is_one=empty_is_one)
    if output is not None:
        written = write_leaderboard_csv(board, output)
        if not quiet:
            note(f"wrote {written}")
    if not quiet:
        for c in contenders:
            for message in c.notes:
                note(f"{c.name}: {message}")
            if not c.valid:
                note(f"{c.name}: not ranked ({len(c.problems)} problem(s))")
    if json_output:
        print_json(leaderboard_json(board))
    else:
        print_leaderboard(board, shown)
    if not any(c.valid for c in contenders):
        raise typer.Exit(1)
