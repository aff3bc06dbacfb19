"""Loading pretrained models for the baselines: a hub id, a local folder, or a tiny random model.

:func:`load_pretrained` is the one ``from_pretrained`` wrapper: a folder path that does not exist
and every loading failure (no network, unknown id, broken files; transformers raises many types)
become a :class:`MagicError` that says how to get the weights. ``HF_HUB_OFFLINE=1`` is honoured
by ``from_pretrained`` itself (cache only). :func:`pretrained_source` turns ``tiny-random`` into a
temporary folder written by a builder, so that a tiny model takes the path a hub id takes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from baselines.common import TINY_RANDOM
from magic_submit.errors import MagicError

Loaded = TypeVar("Loaded")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No transformers progress bars or warnings while loading and saving."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def load_pretrained(load: Callable[[str], Loaded], source: str, what: str) -> Loaded:
    """``load(source)`` (a ``from_pretrained``) quietly, with clear errors (see the module doc).

    ``what`` names the thing in messages, e.g. "CLIPSeg model" or "text tokenizer".
    """
    local = Path(source).expanduser()
    if source.startswith((".", "/", "~")) or local.exists():  # a hub id is "org/name"
        if not local.is_dir():
            raise MagicError(f"{what} folder not found", file=source,
                             hint="pass a hub id, a folder written by save_pretrained, or "
                             f"{TINY_RANDOM}")
        source = str(local)
    try:
        with quiet_transformers():
            return load(source)
    except Exception as exc:  # noqa: BLE001 - hub, network and file errors come in many types
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        hint = ("HF_HUB_OFFLINE is set: download the model once with network, or pass a local "
                "folder" if offline else "check the id or folder; without network set "
                f"HF_HUB_OFFLINE=1 and use a cached model or a local folder; {TINY_RANDOM} needs "
                "no download")
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise MagicError(f"cannot load {what} '{source}' ({type(exc).__name__}: {first})",
                         hint=hint) from None


@contextlib.contextmanager
def pretrained_source(name: str, build: Callable[[Path], Any], *,
                      prefix: str = "tiny-random-") -> Iterator[str]:
    """The ``from_pretrained`` argument for ``name``: hub ids and folders pass through;
    ``tiny-random`` is written by ``build(folder)`` to a temporary folder that lives as long as
    the context."""
    if name != TINY_RANDOM:
        yield name
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        with quiet_transformers():
            build(Path(folder))
        yield folder
