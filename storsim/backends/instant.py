"""A backend that takes no time: the test double.

Like a stopwatch that is never started: every operation completes at the instant it
begins, so tests of semantics, records, conflicts and the operation path need not
reason about device timing. It implements the whole :class:`~storsim.backends.Backend`
protocol and logs every call it gets, so a test can assert what the operation path
asked of its backend (like httpx's ``MockTransport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storsim.backends.base import Attachment, Cost, OpCost, Version

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["InstantBackend"]


class InstantBackend:
    """Charges zero time for every operation, and logs the calls.

    Args:
        ctx: the run's context (unused: nothing takes time).
        at: what it is attached to (kept, for tests).
        lock_semantics: what its locks exclude (default: the host, as local storage).
        separate_clients: behave like a distributed mount's client in the conflict
            accounting (default: one kernel, as local storage).
        unsupported: operations it refuses (given to the mount).

    Attributes:
        calls: one tuple per call, in order: ``("charge", op name, path, nbytes,
            offset, ok)``, ``("lock",)``, ``("locked", path)``, ``("committed", path,
            version)``.
    """

    def __init__(
        self,
        ctx: SimContext,
        at: Attachment,
        *,
        lock_semantics: str = "host",
        separate_clients: bool = False,
        unsupported: frozenset[str] = frozenset(),
    ) -> None:
        self.at = at
        self.lock_semantics = lock_semantics
        self.separate_clients = separate_clients
        self.unsupported = unsupported
        self.unsupported_errno = "EOPNOTSUPP"
        self.calls: list[tuple[Any, ...]] = []

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        self.calls.append(("charge", op.name, path, nbytes, offset, result is not None))
        return 0.0

    def lock_cost(self) -> Cost:
        self.calls.append(("lock",))
        return 0.0

    def locked(self, path: str) -> None:
        self.calls.append(("locked", path))

    def committed(self, path: str, version: Version) -> None:
        self.calls.append(("committed", path, version))
