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


HUB_PROBE_TIMEOUT_S = 5.0  # one request, no retries: a wrong id or no network is said at once
HUB_HINT = (f"check the id; a private or gated model needs `hf auth login` (and its terms "
            f"accepted on its hub page); without network, download it once where there is "
            f"network (`hf download ID`) or pass a local folder, and set HF_HUB_OFFLINE=1 to use "
            f"the cache only; {TINY_RANDOM} needs no download")


LOCAL_HINT = ("the folder's files are damaged or incomplete: write them again (train again, or "
              "save_pretrained) or restore them from a copy")


# Hub id -> load from the cache only: one probe per id and process (a model and its processor,
# or tokenizer, share their id).
_PROBED: dict[str, bool] = {}


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def probe_hub(repo_id: str, what: str, *, endpoint: str | None = None,
              cache_dir: str | Path | None = None) -> bool:
    """Whether ``repo_id`` must be loaded from the local cache only (True: the hub cannot be
    reached but the model is cached). Raises a :class:`MagicError` within seconds when the id
    is unknown, or when the hub cannot be reached and the model is not cached: transformers
    itself retries for 30-50 s before it gives up."""
    from huggingface_hub import HfApi, try_to_load_from_cache
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        HfApi(endpoint=endpoint).model_info(repo_id, timeout=HUB_PROBE_TIMEOUT_S)
        return False
    except RepositoryNotFoundError:
        raise MagicError(f"no {what} '{repo_id}' on the model hub (a typo, or a private model "
                         "you are not logged in for)", hint=HUB_HINT) from None
    except HfHubHTTPError as exc:
        reason = f"the hub answered {getattr(exc.response, 'status_code', '?')}"
    except Exception as exc:  # noqa: BLE001 - no network: DNS, refused, timeouts, proxies
        reason = f"the hub cannot be reached ({type(exc).__name__}: {exc})"
    if isinstance(try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir), str):
        return True  # cached: load it from there without asking the hub again
    raise MagicError(f"cannot download {what} '{repo_id}': {reason}, and it is not in the local "
                     "cache", hint=HUB_HINT)


def load_pretrained(load: Callable[..., Loaded], source: str, what: str) -> Loaded:
    """``load(source)`` (a ``from_pretrained``) quietly, with clear errors (see the module doc).

    ``what`` names the thing in messages, e.g. "CLIPSeg model" or "text tokenizer". A hub id is
    probed first (:func:`probe_hub`); a cached model on a machine without network is loaded
    with ``local_files_only=True``.
    """
    local = Path(source).expanduser()
    cache_only = False
    is_folder = source.startswith((".", "/", "~")) or local.exists()  # a hub id is "org/name"
    if is_folder:
        if not local.is_dir():
            raise MagicError(f"{what} folder not found", file=source,
                             hint="pass a hub id, a folder written by save_pretrained, or "
                             f"{TINY_RANDOM}")
        source = str(local)
    elif not _offline():
        if source not in _PROBED:
            _PROBED[source] = probe_hub(source, what)
        cache_only = _PROBED[source]
    try:
        with quiet_transformers():
            return load(source, local_files_only=True) if cache_only else load(source)
    except Exception as exc:  # noqa: BLE001 - hub, network and file errors come in many types
        hint = (LOCAL_HINT if is_folder else "HF_HUB_OFFLINE is set: download the model once "
                "with network, or pass a local folder" if _offline() else HUB_HINT)
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


def state_fingerprint(module: Any) -> str:
    """sha256 of a module's ``state_dict`` (names, dtypes, shapes and bytes, in name order).

    A run records it for the model it saved; loading the run checks it, so a ``model/`` folder
    swapped for another (or a different encoder under the same name) is refused, not used.
    """
    import hashlib

    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy() if flat.numel() else b"")
    return digest.hexdigest()
