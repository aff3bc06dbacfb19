"""``magic pack``: build a correct submission zip from a team's predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.cli import app
from magic_submit.cli.options import DataOption, ImagesOption, RequiredSplitOption, SuffixOption, json_option


def print_fixes(fixes: list[str], limit: int) -> None:
    """One note per repair made by --fix (at most ``limit``, 0 = all)."""
    from magic_submit.console import note

    shown = fixes if limit <= 0 else fixes[:limit]
    for message in shown:
        note(f"fixed: {message}")
    if len(fixes) > len(shown):
        note(f"... and {len(fixes) - len(shown)} more fixes (--all lists them)")


@app.command("pack")
def pack_command(
    split: RequiredSplitOption,
    output: Annotated[Path, typer.Option("--output", "-o", metavar="ZIP", dir_okay=False,
                                         help="The zip to write (atomically).")],
    data: DataOption = None,
    images: ImagesOption = None,
    masks: Annotated[Optional[Path], typer.Option(
        "--masks", metavar="DIR", help="Folder of predicted masks, one per image, named after "
        "the image id.")] = None,
    cvqa: Annotated[Optional[Path], typer.Option(
        "--cvqa", metavar="FILE", help="CVQA answers: a JSON list of {encounter_id, 27 qids}.")
                    ] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Repair what needs no guessing: 0/255 and "
                                      "probability masks, PNG/.tif inputs, masks at the model's "
                                      "size, unpadded multi-slot families.")] = False,
    suffix: SuffixOption = DEFAULT_SUFFIX,
    json_output: Annotated[bool, json_option("output, fixes, report")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="List every fix and culprit.")] = False,
) -> None:
    """Write submission.zip: masks named from the split, 2-D 0/1 uint8 TIFFs, data_cvqa_sys.json
    and masks_preds/ at the root, validated before it replaces OUTPUT. Exit 1 if invalid.

    \b
    Examples:
      magic pack --data dataset --split test --masks preds/ --cvqa answers.json -o submission.zip
      magic pack --split dataset/test.json --masks probs/ --fix -o submission.zip
    """
    from magic_submit.console import EXIT_USAGE, exit_with_error, print_json, stderr, stdout
    from magic_submit.dataset import locate_split
    from magic_submit.errors import MagicError
    from magic_submit.packing import PackError, pack_submission
    from magic_submit.validation import render_text

    if masks is None and cvqa is None:
        raise typer.BadParameter("give --masks and/or --cvqa", param_hint="--masks")
    if output.suffix.lower() != ".zip":
        raise typer.BadParameter("the output must be a .zip file", param_hint="--output")
    limit = 0 if show_all else 10
    try:
        layout, query_file = locate_split(split, data)
        images = images if images is not None else layout.require_images(split)
        result = pack_submission(query_file, images, masks_dir=masks, cvqa=cvqa, output=output,
                                 fix=fix, suffix=suffix)
    except PackError as error:
        if json_output:
            print_json({"output": None, "fixes": error.fixes, "report": error.report.to_dict()})
        else:
            print_fixes(error.fixes, limit)
            stderr.print(render_text(error.report, limit=limit, name="pack"), markup=False,
                         highlight=False)
            stderr.print(f"nothing written to {output}" + ("" if fix else
                         " (--fix repairs 0/255, probability and resized masks, PNG/.tif inputs "
                         "and unpadded families)"),
                         markup=False, highlight=False)
        raise typer.Exit(1) from None
    except MagicError as error:  # a split file, image folder or input that cannot be used
        exit_with_error(error, json_output=json_output, status=EXIT_USAGE)
    if json_output:
        print_json({"output": str(result.output), "fixes": result.fixes,
                    "report": result.report.to_dict()})
        return
    print_fixes(result.fixes, limit)
    stderr.print(render_text(result.report, limit=limit, name=str(output)), markup=False,
                 highlight=False)
    stdout.print(f"wrote {result.output}", markup=False, highlight=False)
