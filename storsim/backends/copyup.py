"""Copy-ups in progress on one overlay mount, and the openers that wait for them.

Like a photocopier with one sheet on the glass: while someone copies a document, a
second person who needs the copy waits until it comes out, rather than starting a
copy of their own. The kernel serialises copy-up per inode the same way: the first
open for writing of a lower file copies it up, and every other opener of that file
waits until the copy is in place ([K3] ``ovl_copy_up_one`` takes the inode's copy-up
lock; [K1]).

Each copy-up is one :class:`CopyUp` record, in one of two states: its data is being
copied (``done_at is None``; an opener waits on its ``waiters`` event, made by the
first one that waits), then it finishes at ``done_at`` (the CPU part after the data:
an opener that comes before that instant waits until it, with no event unless someone
waits). An opener that finds it finished forgets it.
"""

from __future__ import annotations

import simpy

from storsim.backends.base import ProcessGen

__all__ = ["CopyUp", "CopyUps"]


class CopyUp:
    """One file's copy-up: copying its data, then finishing at ``done_at``.

    Attributes:
        done_at: None while the data is copied, then the instant (simulated seconds)
            the copy-up completes.
        waiters: the event that openers waiting for the data wait on (made by the first
            of them; triggered when the data is in place), or None if nobody waits.
    """

    __slots__ = ("done_at", "waiters")

    def __init__(self) -> None:
        self.done_at: float | None = None
        self.waiters: simpy.Event | None = None


class CopyUps:
    """The copy-ups of one overlay mount, by path (inside the mount).

    Args:
        env: the simulation environment.

    Attributes:
        by_path: path -> its copy-up, from its start until an opener finds it finished.
    """

    __slots__ = ("_env", "by_path")

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self.by_path: dict[str, CopyUp] = {}

    def begin(self, path: str) -> CopyUp:
        """A copy-up of ``path`` starts: openers of it wait from now on."""
        copy = self.by_path[path] = CopyUp()
        return copy

    def finish(self, copy: CopyUp, done_at: float) -> None:
        """The data of ``copy`` is in place; the copy-up completes at ``done_at``."""
        copy.done_at = done_at
        waiters = copy.waiters
        if waiters is not None and waiters.callbacks:
            waiters.succeed()  # openers that waited for the data

    def pending(self, path: str) -> CopyUp | None:
        """The copy-up of ``path`` an opener must wait for now, if any (one already
        finished is forgotten)."""
        copy = self.by_path.get(path)
        if copy is not None and copy.done_at is not None and copy.done_at <= self._env.now:
            del self.by_path[path]
            return None
        return copy

    def wait(self, path: str, copy: CopyUp) -> ProcessGen:
        """Wait for ``copy`` (from :meth:`pending`) and any copy-up of ``path`` after it."""
        env, by_path = self._env, self.by_path
        current: CopyUp | None = copy
        while current is not None:
            done_at = current.done_at
            if done_at is not None:  # data copied; done at that instant
                if env.now < done_at:
                    yield env.timeout(done_at - env.now)
                if by_path.get(path) is current:
                    del by_path[path]
            else:  # still copying the data: the copier wakes us
                if current.waiters is None:
                    current.waiters = env.event()
                yield current.waiters
            current = by_path.get(path)
