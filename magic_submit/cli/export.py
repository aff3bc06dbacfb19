"""``magic export-scoring-program``: magic as the challenge platform's own scorer (organisers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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
    detail: Annotated[str, typer.Option("--detail", metavar="summary|full", help="What each "
                                        "participant's page shows. summary: the figures of "
                                        "scores.json and the upload's own problems, nothing else "
                                        "of the reference (safe for a hidden test phase). full: "
                                        "also per-image figures and the annotators' outlines "
                                        "(a phase whose gold is public).")] = "summary",
    dockerfile: Annotated[bool, typer.Option("--dockerfile", help="Add a Dockerfile for the "
                                             "scoring image (an exact Python image + the pinned "
                                             "dependencies).")] = False,
    image: Annotated[Optional[str], typer.Option("--image", metavar="NAME", help="The "
                                                 "competition's Docker image, named by the entry "
                                                 "script when it runs on another Python.")] = None,
    worst: Annotated[Optional[int], typer.Option("--worst", min=0, metavar="N", help="Worst "
                                                 f"images on the full page (default "
                                                 f"{DEFAULT_WORST}; 0: none).")] = None,
    show_reference: Annotated[bool, typer.Option("--show-reference", hidden=True)] = False,
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
      magic export-scoring-program test_phase.zip --dockerfile --image me/magic-scoring:0.1.0
      magic export-scoring-program valid_phase.zip --detail full --worst 12
    """
    from magic_submit.console import exit_with_error, print_json, stdout
    from magic_submit.errors import MagicError
    from magic_submit.scoring_program.bundle import (
        DOCKERFILE, METADATA_FILE, export_bundle, platform_command,
    )
    from magic_submit.scoring_program.platform_run import SHOW_REFERENCE_GONE

    if output.suffix.lower() != ".zip":
        raise typer.BadParameter(f"{output} must end in .zip (the platform takes a zip)",
                                 param_hint="OUTPUT")
    if show_reference:
        raise typer.BadParameter(SHOW_REFERENCE_GONE.replace(" (export the bundle again)", ""),
                                 param_hint="--show-reference")
    try:
        command = platform_command(suffix, detail=detail, worst=worst, strict=strict)
        bundle = export_bundle(output, command=command, dockerfile=dockerfile, image=image)
    except MagicError as error:
        exit_with_error(error, json_output=json_output)
    if json_output:
        print_json({"bundle": str(bundle.path), "bytes": bundle.size, "detail": detail,
                    "entries": list(bundle.entries), "modules": bundle.modules,
                    "command": command})
        return
    extra = f", {DOCKERFILE}" if dockerfile else ""
    stdout.print(f"wrote {bundle.path} ({bundle.size} bytes): {METADATA_FILE}, "
                 f"{bundle.entries[1]}{extra} and {bundle.modules} modules; detail {detail}",
                 highlight=False)
    stdout.print(f"command: {command}", highlight=False)
