"""Exceptions raised by storsim.

Like a building's fire alarm, they tell you *that* something is wrong and *where*;
a simulated failure (a file operation that returns ENOENT, EROFS, EXDEV...) is not an
exception but a record with an ``outcome`` column.

::

    StorsimError
    ├── ScenarioError(StorsimError, ValueError)   bad YAML or parameter;
    │                                             .where = "services.web.volumes[1]"
    └── ModelError(StorsimError, RuntimeError)    a model broke an invariant (a bug)
"""

from __future__ import annotations

__all__ = ["ModelError", "ScenarioError", "StorsimError"]


class StorsimError(Exception):
    """Base class of every error that storsim raises on purpose."""


class ScenarioError(StorsimError, ValueError):
    """A scenario file or parameter is invalid.

    Args:
        message: what is wrong, ``"{where} must be {rule} (got {value!r})"``.
        file: the scenario file, if the scenario came from one.
        line: 1-based line in ``file`` where the offending value starts, if known.
        where: dotted YAML path of the offending value, e.g. ``"services.web.image"``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.where = where

    def __str__(self) -> str:
        # One line, "FILE:LINE: message", the form compilers use so editors can jump to it.
        prefix = ""
        if self.file is not None:
            prefix = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return prefix + self.message


class ModelError(StorsimError, RuntimeError):
    """A model broke one of its own invariants: a bug in storsim, please report it."""
