"""The one error type that carries a problem with the user's input to the CLI (exit status 1)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from evaluation.errors import MissingAnswersError, ScoringError


class MagicError(Exception):
    """Invalid input: names the file and the ids concerned and says how to fix it.

    >>> err = MagicError("2 images have no prediction", file="masks_preds", ids=["IMG_A", "IMG_B"],
    ...                  hint="write one mask per image")
    >>> print(err.render())
    masks_preds: 2 images have no prediction: IMG_A, IMG_B
      fix: write one mask per image
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        ids: Iterable[str] = (),
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.ids = list(ids)
        self.hint = hint
        self.code = code

    def render(self, max_ids: int = 50, *, with_hint: bool = True) -> str:
        """A human-readable description; the hint on a second line unless ``with_hint=False``."""
        head = f"{self.file}: {self.message}" if self.file else self.message
        if self.ids:
            shown = ", ".join(self.ids[:max_ids])
            more = f" (+{len(self.ids) - max_ids} more)" if len(self.ids) > max_ids else ""
            head = f"{head}: {shown}{more}"
        if self.hint and with_hint:
            head = f"{head}\n  fix: {self.hint}"
        return head

    @classmethod
    def from_scoring(cls, error: ScoringError) -> MagicError:
        """The metric's own error (:mod:`evaluation.errors`) as the CLI's: same text and fields."""
        wrapped = MissingPredictionsError if isinstance(error, MissingAnswersError) else cls
        return wrapped(error.message, file=error.source, ids=error.ids, hint=error.hint,
                       code=error.code)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "file": self.file, "ids": self.ids,
                "hint": self.hint}

    def __str__(self) -> str:
        return self.render()


class MissingPredictionsError(MagicError):
    """Reference ids without a prediction: the official scorer would crash (KeyError)."""


class UsageError(MagicError):
    """The command was called wrongly (e.g. a dataset root without ``--split``): exit status 2."""
