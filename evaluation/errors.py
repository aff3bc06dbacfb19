"""Errors of the metric: input on which the official scorer crashes, said with what and where.

The metric functions raise them; the toolkit's I/O layer (``magic_submit.scoring``) turns them
into its own error type, which the command line prints. Each carries the fields a message needs:
``source`` (the file or its role), ``ids`` (the encounters or images at fault), ``hint`` (the
fix) and a stable ``code``.

>>> str(MissingAnswersError("2 encounters have no answer", source="sys.json", ids=["ENC1", "ENC2"]))
'sys.json: 2 encounters have no answer: ENC1, ENC2'
"""

from __future__ import annotations

from collections.abc import Iterable


class ScoringError(ValueError):
    """Input the official scorer cannot score (it crashes there)."""

    def __init__(self, message: str, *, source: str | None = None, ids: Iterable[str] = (),
                 hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.ids = list(ids)
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        head = f"{self.source}: {self.message}" if self.source else self.message
        return f"{head}: {', '.join(self.ids)}" if self.ids else head


class MalformedRecordError(ScoringError):
    """A CVQA record or file the official scorer cannot read (it crashes)."""


class MissingAnswersError(ScoringError):
    """Gold encounters (or families) without a system answer: the official KeyError."""


PREDICTION_SIDE, REFERENCE_SIDE = "prediction", "reference"


class ShapeMismatchError(ScoringError):
    """Masks of one image that do not fit together: the official numpy broadcast fails.

    ``side`` says which file is at fault: ``"prediction"`` (its pixels do not match the
    reference's) or ``"reference"`` (the annotators' masks do not fit together).
    """

    def __init__(self, message: str, *, side: str = PREDICTION_SIDE) -> None:
        super().__init__(message, code="mask-unscorable")
        self.side = side
