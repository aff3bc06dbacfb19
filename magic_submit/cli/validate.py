"""``magic validate-submission``: every problem of a submission at once, before upload."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.cli import app
from magic_submit.cli.options import DataOption, ImagesOption, RequiredSplitOption, SuffixOption, json_option


@app.command("validate-submission")
def validate_command(
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION", help="Submission folder or "
                                               ".zip (the upload itself) with masks_preds/ and "
                                               "data_cvqa_sys.json at its root.")],
    split: RequiredSplitOption,
    data: DataOption = None,
    images: ImagesOption = None,
    reference: Annotated[Optional[Path], typer.Option(
        "--reference", metavar="REF", help="Take the sizes from reference masks instead: "
        "masks_refs/'s folder, a masks folder or a dataset root (organisers).")] = None,
    definitions: Annotated[Optional[Path], typer.Option(
        "--definitions", metavar="FILE", help="Official definitions file, checked against the "
        "package's question table (option counts).")] = None,
    suffix: SuffixOption = DEFAULT_SUFFIX,
    json_output: Annotated[bool, json_option("valid, errors, warnings, notes, summary")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="List every culprit (default: 10 per "
                                           "problem code).")] = False,
) -> None:
    """Check a submission as the platform will read it, every problem at once.

    Exit 0: it will be scored as intended (warnings allowed); 1: it will not (a missing
    submission included); 2: usage error (bad options, or a split file, image folder,
    reference or definitions file that cannot be used).

    \b
    Examples:
      magic validate-submission submission.zip --data dataset --split test
      magic validate-submission out/ --split dataset/test.json --images dataset/images_test
    """
    from magic_submit.console import EXIT_USAGE, exit_with_error, print_json, stdout
    from magic_submit.dataset import locate_split
    from magic_submit.errors import MagicError
    from magic_submit.validation import render_text, validate_submission

    if images is not None and reference is not None:
        raise typer.BadParameter("give --images or --reference, not both", param_hint="--reference")
    try:
        layout, query_file = locate_split(split, data)
        if images is None and reference is None:
            images = layout.find_images(split)  # sizes are checked whenever the photos are there
        report = validate_submission(submission, query_file, images_dir=images,
                                     reference_masks=reference, definitions=definitions,
                                     suffix=suffix)
    except MagicError as error:  # the inputs besides the submission cannot be used
        exit_with_error(error, json_output=json_output, status=EXIT_USAGE)
    if json_output:
        print_json(report.to_dict())
    else:
        stdout.print(render_text(report, limit=0 if show_all else 10, name=str(submission)),
                     markup=False, highlight=False)
    raise typer.Exit(0 if report.valid else 1)
