"""Exceptions raised by storsim.

Like a building's fire alarm, they tell you *that* something is wrong and *where*;
a simulated failure (a file operation that returns ENOENT, EROFS, EXDEV...) is not an
exception but a record with an ``outcome`` column.

::

    StorsimError
    ├── ScenarioError(StorsimError, ValueError)   bad YAML or parameter;
    │   │                                         .where = "services.web.volumes[1]"
    │   └── RunawayError(ScenarioError)           a run over its work budget, refused before
    │                                             it starts, or whose clock stopped advancing
    ├── OutputError(StorsimError, OSError)        an output file that cannot be written
    └── ModelError(StorsimError, RuntimeError)    a model broke an invariant (a bug)

Every message is one line: characters that are not printable (a newline, a control
character, an invisible Unicode format character) are written as Python escapes
(:func:`printable`), so that a value copied from a hostile file cannot break the line.
"""

from __future__ import annotations

__all__ = [
    "ModelError",
    "OutputError",
    "RunawayError",
    "ScenarioError",
    "StorsimError",
    "printable",
]


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (``"a\\nb"`` -> ``"a\\\\nb"``).

    Printable characters, accented letters and other scripts included, stay as they are;
    what :meth:`str.isprintable` refuses (line and paragraph separators, control and
    format characters such as a zero-width space) becomes its ``repr`` escape. Escaping
    twice changes nothing more.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
        return printable(prefix + self.message)


class RunawayError(ScenarioError):
    """A run that would not end in reasonable time or memory.

    Raised before a run whose estimated work is over its budget (``max_ops``: the message
    gives the estimate and how to allow it), and during a run whose simulated clock has
    stopped advancing (a loop of operations that take no time) or that has done twice
    the operations its budget allows. It names the file and, where one part of the
    scenario is the cause, that part's line and YAML path.
    """


class OutputError(StorsimError, OSError):
    """An output file (``--json``, ``--report``, a sweep's ``--out``) cannot be written:
    its folder is missing or read-only, it names a device or another special file, or
    two outputs name the same file. Raised before anything is simulated or written."""

    def __str__(self) -> str:
        return printable(str(self.args[0]) if self.args else "")


class ModelError(StorsimError, RuntimeError):
    """A model broke one of its own invariants: a bug in storsim, please report it."""
