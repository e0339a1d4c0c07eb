"""Random draws taken from numpy in blocks, handed out one at a time.

Like a cashier who fetches a roll of coins from the safe rather than one coin per
customer: one numpy call makes :data:`BLOCK` draws, and each operation of the model takes
the next one from a plain list. A numpy call per draw would cost more than the rest of
a simulated operation. Workloads (arrival gaps, offsets, sizes) and devices (service
times) all draw through :class:`BlockDraws`; every stream has its own generator, so the
order of draws within one stream is all that determines a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK", "BlockDraws"]

BLOCK = 4096
"""Draws per numpy call."""

T = TypeVar("T", int, float)


class BlockDraws(Generic[T]):
    """A stream of draws: ``draw()`` gives the next one, refilling a block when empty.

    Args:
        fill: ``fill(n)`` returns ``n`` new draws (a numpy array), handed out in its order.
        eager: draw the first block now rather than at the first call (a stream whose
            generator is shared with others keeps its place in the generator's sequence).

    Example::

        gaps = BlockDraws(rng.standard_exponential)
        yield env.timeout(gaps() / rate)
    """

    __slots__ = ("_buffer", "_fill")

    def __init__(self, fill: Callable[[int], npt.NDArray[Any]], *, eager: bool = False) -> None:
        self._fill = fill
        self._buffer: list[T] = []
        if eager:
            self._refill()

    def _refill(self) -> None:
        # reversed, so that list.pop() (the cheapest way to take one) hands them in order
        self._buffer = np.asarray(self._fill(BLOCK))[::-1].tolist()

    def __call__(self) -> T:
        """The next draw."""
        buffer = self._buffer
        if not buffer:
            self._refill()
            buffer = self._buffer
        return buffer.pop()
