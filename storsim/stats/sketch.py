"""Streaming quantiles: a mergeable histogram with bounded relative error.

Like a ruler with logarithmic marks, fine near zero and coarse far out, so that every
reading is off by the same small fraction whatever its size: each value falls into the
bucket ``(gamma**(i-1), gamma**i]`` and is read back as the bucket's midpoint (in the
relative sense), at most ``relative_error`` away from the true value. This is DDSketch
(Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees", VLDB 2019) with a dense, growable bucket array: a latency
range from 1 ns to 1 hour takes about 3,000 buckets at 0.5 %.

Two sketches of the same accuracy merge exactly (bucket counts add), so per-group
sketches can be combined into per-storage ones, and runs into sweeps.

:meth:`LogHistogram.quantile` follows ``numpy.percentile``'s default (``linear``)
definition: it interpolates between the two order statistics around rank
``(n - 1) * q``, each estimated within the relative error, so the result is within the
relative error of ``numpy.percentile`` of the same values. The count, sum (mean), min
and max are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = ["LogHistogram"]

# Slack added when the bucket array grows, so that a slowly widening range does not
# reallocate at every batch.
_GROW = 64


class LogHistogram:
    """Counts of non-negative values in logarithmic buckets (a DDSketch).

    Args:
        relative_error: the bound on ``|estimate - true| / true`` of every quantile
            (0 < relative_error < 1); 0.005 (0.5 %) by default.

    Attributes:
        count: values added.
        sum: their exact sum.
        min: the smallest value added (``nan`` while empty).
        max: the largest value added (``nan`` while empty).
        zeros: values equal to 0 (kept exactly, outside the buckets).
    """

    __slots__ = (
        "_counts",
        "_gamma",
        "_log_gamma",
        "_offset",
        "count",
        "max",
        "min",
        "relative_error",
        "sum",
        "zeros",
    )

    def __init__(self, relative_error: float = 0.005) -> None:
        if not 0 < relative_error < 1:
            raise ValueError(f"relative_error must be in (0, 1) (got {relative_error!r})")
        self.relative_error = relative_error
        self._gamma = (1 + relative_error) / (1 - relative_error)
        self._log_gamma = math.log(self._gamma)
        self._counts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._offset = 0  # bucket index of _counts[0]
        self.count = 0
        self.sum = 0.0
        self.min = math.nan
        self.max = math.nan
        self.zeros = 0

    def add(self, values: npt.ArrayLike) -> None:
        """Add a batch of values (a batch is much cheaper per value than one by one).

        Raises:
            ValueError: a value is negative or not finite.
        """
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return
        lo, hi = float(v.min()), float(v.max())
        if not (lo >= 0 and math.isfinite(hi)):
            raise ValueError(f"values must be finite and >= 0 (got min {lo!r}, max {hi!r})")
        self.count += int(v.size)
        self.sum += float(v.sum())
        self.min = lo if math.isnan(self.min) else min(self.min, lo)
        self.max = hi if math.isnan(self.max) else max(self.max, hi)
        positive = v[v > 0]
        self.zeros += int(v.size - positive.size)
        if positive.size:
            index = np.ceil(np.log(positive) / self._log_gamma).astype(np.int64)
            first = int(index.min())
            self._bump(first, np.bincount(index - first))

    def _bump(self, first: int, counts: npt.NDArray[np.int64]) -> None:
        """Add ``counts`` to buckets ``first``, ``first + 1``..., growing the array."""
        last = first + len(counts)  # exclusive
        if len(self._counts) == 0:
            self._offset = first - _GROW
            self._counts = np.zeros(len(counts) + 2 * _GROW, dtype=np.int64)
        elif first < self._offset or last > self._offset + len(self._counts):
            start = min(first, self._offset) - _GROW
            end = max(last, self._offset + len(self._counts)) + _GROW
            grown = np.zeros(end - start, dtype=np.int64)
            at = self._offset - start
            grown[at : at + len(self._counts)] = self._counts
            self._counts, self._offset = grown, start
        at = first - self._offset
        self._counts[at : at + len(counts)] += counts

    def merge(self, other: LogHistogram) -> None:
        """Add every value of ``other`` to this sketch.

        Raises:
            ValueError: the two sketches have different relative errors.
        """
        if other.relative_error != self.relative_error:
            raise ValueError(
                "relative_error must match to merge "
                f"(got {self.relative_error!r} and {other.relative_error!r})"
            )
        if other.count == 0:
            return
        self.count += other.count
        self.sum += other.sum
        self.zeros += other.zeros
        self.min = other.min if math.isnan(self.min) else min(self.min, other.min)
        self.max = other.max if math.isnan(self.max) else max(self.max, other.max)
        if len(other._counts):
            self._bump(other._offset, other._counts)

    @property
    def mean(self) -> float:
        """The exact mean (``nan`` while empty)."""
        return self.sum / self.count if self.count else math.nan

    def quantile(self, q: float) -> float:
        """The ``q``-quantile (0 <= q <= 1), as ``numpy.percentile(values, 100 * q)``.

        Returns:
            The estimate, within ``relative_error`` of the exact value; ``nan`` if empty.
        """
        return self.quantiles([q])[0]

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        """Several quantiles at once (see :meth:`quantile`)."""
        qs = list(qs)
        if any(not 0 <= q <= 1 for q in qs):
            raise ValueError(f"quantiles must be in [0, 1] (got {qs!r})")
        if self.count == 0:
            return [math.nan] * len(qs)
        cumulative = np.cumsum(self._counts)
        out = []
        for q in qs:
            h = (self.count - 1) * q
            k = math.floor(h)
            low = self._at_rank(k, cumulative)
            frac = h - k
            out.append(low + frac * (self._at_rank(k + 1, cumulative) - low) if frac else low)
        return out

    def _at_rank(self, rank: int, cumulative: npt.NDArray[np.int64]) -> float:
        """Estimate of the value of 0-based rank ``rank`` in sorted order."""
        if rank < self.zeros:
            return 0.0
        j = int(np.searchsorted(cumulative, rank - self.zeros, side="right"))
        estimate = 2 * self._gamma ** (j + self._offset) / (self._gamma + 1)
        # the exact extremes are known: clamping only moves an estimate toward the truth
        return min(max(estimate, self.min), self.max)

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"LogHistogram(count={self.count}, relative_error={self.relative_error}, "
            f"buckets={len(self._counts)})"
        )
