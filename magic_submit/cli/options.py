"""Options shared by several commands, declared once (same flag, same help everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from magic_submit.challenge import SPLITS

ReferenceOption = Annotated[Path, typer.Option(
    "--reference", "-r", help="Organisers' folder (masks_refs/ + data_cvqa_ref.json) or a dataset "
    "root with --split.")]
SplitOption = Annotated[Optional[str], typer.Option(
    help=f"Split of a dataset root: {', '.join(SPLITS)}.")]
SuffixOption = Annotated[str, typer.Option(help="System name in IMG_..._mask_{suffix}.tiff.")]
