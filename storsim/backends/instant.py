"""A backend that takes no time: a test double.

Like a stopwatch that is never started: every operation completes at the instant it
begins, so tests of semantics, records and statistics need not reason about timing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from storsim.backends import ProcessGen

__all__ = ["InstantBackend"]


class InstantBackend:
    """Charges zero time for every operation, and counts the calls."""

    storage: ClassVar[str] = "instant"

    def __init__(self, env: Any) -> None:
        self._env = env
        self.calls: list[tuple[str, str, int]] = []

    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> ProcessGen:
        self.calls.append((op, path, nbytes))
        yield self._env.timeout(0)
