"""``magic export-scoring-program``: magic as the challenge platform's own scorer (organisers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from magic_submit.challenge import DEFAULT_SUFFIX
from magic_submit.cli import app
from magic_submit.cli.options import SuffixOption, json_option
from magic_submit.reporting.html_report import DEFAULT_WORST


@app.command("export-scoring-program")
def export_command(
    output: Annotated[Path, typer.Argument(metavar="OUT.zip", dir_okay=False,
                                           help="The bundle to write (a .zip).")],
    suffix: SuffixOption = DEFAULT_SUFFIX,
    dockerfile: Annotated[bool, typer.Option("--dockerfile", help="Add a Dockerfile for the "
                                             "scoring image (slim Python + the pinned "
                                             "dependencies).")] = False,
    worst: Annotated[int, typer.Option("--worst", min=0, metavar="N", help="Worst images on "
                                       "each participant's page (0: none).")] = DEFAULT_WORST,
    show_reference: Annotated[bool, typer.Option("--show-reference", help="Draw the annotators' "
                                                 "outlines in the page's gallery. It shows the "
                                                 "reference: only for a phase whose gold is "
                                                 "public.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse every upload the check calls "
                                         "invalid (0/255 masks, string answers...), not only "
                                         "those the official scorer would crash on.")] = False,
    json_output: Annotated[bool, json_option("the bundle, its entries and the command")] = False,
) -> None:
    """Write the challenge platform's scoring program (organisers).

    A Codabench bundle (metadata.yaml + /app/input/{ref,res} + /app/output): the official
    scorer's command line and scores.json, every problem of an upload named with its fix (an
    upload the official scorer would crash on is refused), and a detailed_results.html page per
    upload. See docs/organisers.md. Exit 0 written, 1 the bundle cannot be built, 2 usage error.

    \b
    Examples:
      magic export-scoring-program scoring_program.zip --dockerfile
      magic export-scoring-program valid_phase.zip --show-reference --worst 12
    """
    from magic_submit.console import exit_with_error, print_json, stdout
    from magic_submit.errors import MagicError
    from magic_submit.scoring_program.bundle import (
        DOCKERFILE, METADATA_FILE, export_bundle, platform_command,
    )

    if output.suffix.lower() != ".zip":
        raise typer.BadParameter(f"{output} must end in .zip (the platform takes a zip)",
                                 param_hint="OUTPUT")
    try:
        command = platform_command(suffix, worst=worst, show_reference=show_reference,
                                   strict=strict)
        bundle = export_bundle(output, command=command, dockerfile=dockerfile)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    if json_output:
        print_json({"bundle": str(bundle.path), "bytes": bundle.size,
                    "entries": list(bundle.entries), "modules": bundle.modules,
                    "command": command})
        return
    extra = f", {DOCKERFILE}" if dockerfile else ""
    stdout.print(f"wrote {bundle.path} ({bundle.size} bytes): {METADATA_FILE}, "
                 f"{bundle.entries[1]}{extra} and {bundle.modules} modules", highlight=False)
    stdout.print(f"command: {command}", highlight=False)
