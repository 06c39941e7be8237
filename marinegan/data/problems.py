"""`ProblemLog`: every bad image or label is reported once, skipped or raised, and counted."""

from __future__ import annotations

import warnings
from typing import Literal

from marinegan.errors import DataError

OnError = Literal["raise", "skip"]


class DataWarning(UserWarning):
    """A sample was skipped because its image or labels are broken (``on_error="skip"``)."""


class ProblemLog:
    """Collects problems found while scanning a dataset.

    With ``on_error="raise"`` the first problem raises :class:`DataError`; with ``"skip"`` each
    problem is warned once (:class:`DataWarning`) and :meth:`summary` warns the total at the end.
    """

    def __init__(self, name: str, on_error: OnError = "raise") -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.name = name
        self.on_error = on_error
        self.problems: list[str] = []

    def report(self, message: str) -> None:
        self.problems.append(message)
        if self.on_error == "raise":
            raise DataError(f"{self.name}: {message}. Fix the file, or pass on_error='skip' to skip such samples.")
        warnings.warn(f"{self.name}: skipped: {message}", DataWarning, stacklevel=3)

    def summary(self, kept: int) -> None:
        if self.problems:
            warnings.warn(
                f"{self.name}: kept {kept} samples, skipped {len(self.problems)} with problems "
                f"(first: {self.problems[0]})",
                DataWarning,
                stacklevel=3,
            )
        if kept == 0:
            raise DataError(f"{self.name}: no usable samples found" + (
                f" ({len(self.problems)} skipped for problems)" if self.problems else ""))
