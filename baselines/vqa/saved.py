"""What ``run-baseline vqa`` keeps in ``OUT/model/``, so that ``magic predict vqa`` answers again.

* ``prior``: ``prior.json``, the answer set chosen per family.
* ``text``: ``text_model.pkl``, the fitted :class:`~baselines.vqa.text_model.TextModel`
  (TF-IDF featurizer, one logistic regression per option, priors, padding), pickled, and
  ``text_model.json`` (the scikit-learn version it was fitted with). A pickle runs code when
  loaded: load only run folders you made or trust.
* ``bert-swin``: ``bert_swin.pt`` (:mod:`baselines.vqa.bert_swin_saved`).

Each loader turns a missing or damaged file into a :class:`MagicError` naming it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baselines.vqa.prior import PriorModel
from magic_submit.challenge import PARENTS
from magic_submit.errors import MagicError
from magic_submit.jsonio import dumps_strict, read_json, write_atomic

PRIOR_FILE = "prior.json"
TEXT_FILE = "text_model.pkl"
TEXT_INFO = "text_model.json"
SAVED_METHODS: tuple[str, ...] = ("prior", "text", "bert-swin")
RETRAIN = "run 'magic run-baseline vqa' again"


def _missing(folder: Path, name: str) -> MagicError:
    return MagicError(f"incomplete run folder: no model/{name}", file=folder.parent, hint=RETRAIN)


def save_prior(model: PriorModel, folder: Path) -> None:
    write_atomic(folder / PRIOR_FILE, dumps_strict({"answers": model.describe()}))


def load_prior(folder: Path) -> PriorModel:
    if not (folder / PRIOR_FILE).is_file():
        raise _missing(folder, PRIOR_FILE)
    data = read_json(folder / PRIOR_FILE, what="prior answers")
    answers = data.get("answers") if isinstance(data, dict) else None

    def sound(parent: Any) -> bool:
        values = answers.get(parent.id)
        return isinstance(values, list) and bool(values) and all(
            type(v) is int and 0 <= v < parent.n_options for v in values)

    if not isinstance(answers, dict) or not all(sound(p) for p in PARENTS):
        raise MagicError("not the prior answers of a run (one list of option indices per family)",
                         file=folder / PRIOR_FILE, hint=RETRAIN)
    return PriorModel({p.id: tuple(answers[p.id]) for p in PARENTS})


def save_text(model: Any, folder: Path) -> None:
    import sklearn

    write_atomic(folder / TEXT_FILE, pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    write_atomic(folder / TEXT_INFO, dumps_strict({
        "scikit_learn": sklearn.__version__,
        "with_responses": model.config.with_responses,
        "choices": {p: c.describe() for p, c in model.choices.items()}}))


def load_text(folder: Path, note: Callable[[str], None] = lambda text: None) -> Any:
    """The fitted text model; a note when scikit-learn's version differs from the fitting one."""
    import sklearn

    from baselines.vqa.text_model import TextModel

    if not (folder / TEXT_FILE).is_file():
        raise _missing(folder, TEXT_FILE)
    info = read_json(folder / TEXT_INFO, what="text model details") \
        if (folder / TEXT_INFO).is_file() else {}
    fitted_with = info.get("scikit_learn") if isinstance(info, dict) else None
    if fitted_with != sklearn.__version__:
        note(f"the text model was fitted with scikit-learn {fitted_with}, this is "
             f"{sklearn.__version__}: its answers may differ")
    try:
        with (folder / TEXT_FILE).open("rb") as handle:
            model = pickle.load(handle)  # noqa: S301 - the user's own run folder (see module doc)
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways
        raise MagicError(f"cannot read the fitted text model ({type(exc).__name__}: {exc})",
                         file=folder / TEXT_FILE, hint=RETRAIN) from None
    if not isinstance(model, TextModel):
        raise MagicError("not a fitted text model", file=folder / TEXT_FILE, hint=RETRAIN)
    return model
