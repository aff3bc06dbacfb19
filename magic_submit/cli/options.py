"""Options shared by several commands, declared once (same flag, same help everywhere).

Every option carries an explicit metavar (``--output DIR``), so help pages show what to type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import SPLITS

SPLIT_HELP = (f"Split: a name under the dataset root ({', '.join(SPLITS)}) or the path of the "
              "split's query file (data/test.json), whose images and gold are looked up beside it.")

ReferenceOption = Annotated[Path, typer.Option(
    "--reference", "-r", metavar="REF", help="Gold: the organisers' folder (masks_refs/ + "
    "data_cvqa_ref.json), or a dataset root with --split.")]
SplitOption = Annotated[Optional[str], typer.Option("--split", metavar="NAME|JSON",
                                                    help=SPLIT_HELP)]
RequiredSplitOption = Annotated[str, typer.Option("--split", metavar="NAME|JSON", help=SPLIT_HELP)]
DataOption = Annotated[Optional[Path], typer.Option(
    "--data", metavar="DIR", help="Dataset root holding the split's files ({split}.json, "
    "images_{split}/, ...); needed when --split is a name.")]
ImagesOption = Annotated[Optional[Path], typer.Option(
    "--images", metavar="DIR", help="The split's photos (their sizes are read from the headers). "
    "Default: images_{split}/ beside the query file or under --data.")]
SuffixOption = Annotated[str, typer.Option("--suffix", metavar="NAME",
                                           help="System name in IMG_..._mask_{suffix}.tiff.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or notes.")]
AllowMissingOption = Annotated[bool, typer.Option(
    "--allow-missing", help="Where the official scorer crashes on something missing, score on: a "
    "missing mask as empty, a missing answer as wrong, no data_cvqa_sys.json as CVQA not scored.")]


def json_option(what: str) -> object:
    """The ``--json`` flag; ``what`` says what the JSON object holds."""
    return typer.Option("--json", help=f"One JSON object on stdout: {what}.")
