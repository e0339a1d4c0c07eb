"""Service-time shapes: how much one device access varies around its mean.

Like the queue at a bakery where most customers want one loaf (served in a minute) and a
few order a wedding cake (served in twenty): the mean service time says little about
how long the unlucky wait, and the shape of the spread decides the tail of the queue.
A shape here is that spread with the mean taken out: a stream of *factors* of mean 1
that a device multiplies by the mean latency of each request (``read_latency_s`` for a
read, ``flush_latency_s`` for a journal commit...). Bytes moved at the device's bandwidth
are not scaled: a transfer at a given rate takes as long each time, and what varies is
the access (the seek, the flash operation the request waits behind).

The shapes, each with its source:

* :class:`Fixed`: every access takes its mean (an M/D/c queue).
* :class:`Exponential`: memoryless (M/M/c), for checks against queueing theory.
* :class:`HyperExponential` (``h2``): two exponential phases. Wajahat et al. [W1] fit
  20 distributions to the service times of over 250 storage traces and found the
  two-phase hyper-exponential best on all five of their accuracy metrics. The default
  phases follow flash physics: most accesses are a page read or program (the fast
  phase); a few wait behind a block erase of the same plane (the slow phase, 2 ms
  [X13] against a 100 us access [X2]: 20 times slower). The share of slow accesses,
  1 %, is an assumption (an idle drive sees fewer, a write-heavy one many more: a
  base SSD's garbage collection slows its p99 to p99.99 by 5 to 138 times [X14]);
  set it per scenario.
* :class:`SeekRotation` (``hdd``): a disk head's seek plus the rotational latency. The
  rotational latency is uniform over one revolution (the sector is anywhere under the
  head); the seek covers the distance between two uniform random tracks (triangular
  on [0, 1], the weighting of every drive specification's "average seek" [X3]) in a
  time that grows with its square root (the actuator accelerates and then brakes:
  bang-bang control, Ruemmler and Wilkes [X15]) from the single-track seek to the
  full stroke; the full stroke is the one that makes the mean seek the specified
  average.

Keys: [W1] M. Wajahat, A. Yele, T. Estro, A. Gandhi, E. Zadok, "Analyzing the
distribution fit for storage workload and Internet traffic traces", Performance
Evaluation 142 (2020) 102121. [X13] Numonyx NAND128-A/NAND256-A SLC NAND datasheet rev.
18: block erase 2 ms typical, page program 200 us typical. [X14] S. Yan et al.,
"Tiny-Tail Flash", FAST '17 (abstract): a base approach suffers 5-138x GC-induced
slowdowns between the 99th and 99.99th percentiles. [X15] C. Ruemmler and J. Wilkes, "An
introduction to disk drive modeling", IEEE Computer 27(3), 1994: seek time grows as the
square root of the distance for short seeks. [X2] and [X3] are those of
:mod:`storsim.devices.profiles`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

import numpy as np
import numpy.typing as npt

from storsim.draws import BlockDraws

__all__ = [
    "EXPONENTIAL",
    "FIXED",
    "FLASH",
    "HDD",
    "SERVICE_NAMES",
    "Exponential",
    "Fixed",
    "HyperExponential",
    "SeekRotation",
    "ServiceShape",
    "service_shape",
]

Factors = Callable[[], float]
"""A stream of service-time factors of mean 1: ``factors()`` gives the next one."""


def _check(ok: bool, where: str, rule: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{where} must be {rule} (got {value!r})")


@dataclass(frozen=True, slots=True)
class Fixed:
    """Every access takes exactly its mean."""

    dist: ClassVar[str] = "fixed"

    def factors(self, rng: np.random.Generator) -> Factors | None:
        """None: no factor to draw (the device uses each mean as it is)."""
        return None

    @property
    def second_moment(self) -> float:
        """E[factor^2]: 1."""
        return 1.0


@dataclass(frozen=True, slots=True)
class Exponential:
    """Memoryless service of the given mean (M/M/c checks)."""

    dist: ClassVar[str] = "exponential"

    def factors(self, rng: np.random.Generator) -> Factors:
        """Exp(1) factors, drawn in blocks, each block handed out last draw first (the
        order the devices have always used)."""
        return BlockDraws(lambda n: rng.standard_exponential(n)[::-1])

    @property
    def second_moment(self) -> float:
        """E[factor^2] of Exp(1): 2."""
        return 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HyperExponential:
    """Two exponential phases: a fast one, and a slow one taken by ``slow_fraction`` of
    the accesses, whose mean is ``slow_ratio`` times the fast one's [W1].

    Attributes:
        slow_fraction: probability of the slow phase (0 <= p < 1).
        slow_ratio: mean of the slow phase over the mean of the fast phase (>= 1).

    Raises:
        ValueError: a parameter out of range.
    """

    dist: ClassVar[str] = "h2"

    slow_fraction: float = 0.01
    slow_ratio: float = 20.0

    def __post_init__(self) -> None:
        p, r = self.slow_fraction, self.slow_ratio
        _check(isinstance(p, int | float) and 0 <= p < 1, "slow_fraction", "in [0, 1)", p)
        ok = isinstance(r, int | float) and math.isfinite(r) and r >= 1
        _check(ok, "slow_ratio", "a finite number >= 1", r)

    @property
    def phase_means(self) -> tuple[float, float]:
        """The means of the fast and the slow phase, scaled so that the mean is 1."""
        p, r = self.slow_fraction, self.slow_ratio
        fast = 1.0 / ((1 - p) + p * r)
        return fast, fast * r

    def factors(self, rng: np.random.Generator) -> Factors:
        """Factors drawn in blocks: a uniform picks the phase, an Exp(1) its time."""
        fast, slow = self.phase_means
        p = self.slow_fraction

        def fill(n: int) -> npt.NDArray[np.float64]:
            phase = rng.random(n) < p
            draws: npt.NDArray[np.float64] = np.where(phase, slow, fast) * rng.standard_exponential(
                n
            )
            return draws

        return BlockDraws(fill)

    @property
    def second_moment(self) -> float:
        """E[factor^2] = 2 ((1 - p) m_fast^2 + p m_slow^2)."""
        fast, slow = self.phase_means
        p = self.slow_fraction
        return 2 * ((1 - p) * fast**2 + p * slow**2)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeekRotation:
    """A disk head's seek plus its rotational latency [X3] [X15].

    Attributes:
        single_track_seek_s: seek to the next track, s.
        average_seek_s: mean seek between two random tracks, s (> the single-track one).
        revolution_s: one turn of the platters, s (60 / rpm).

    Raises:
        ValueError: a parameter out of range.
    """

    dist: ClassVar[str] = "hdd"

    single_track_seek_s: float = 0.23e-3  # [X3] HC310 read, typical
    average_seek_s: float = 7.4e-3  # [X3] HC310 read, typical
    revolution_s: float = 60 / 7200  # [X3] 8.33 ms at 7,200 rpm

    def __post_init__(self) -> None:
        t1, avg, rev = self.single_track_seek_s, self.average_seek_s, self.revolution_s
        for where, value in (("single_track_seek_s", t1), ("revolution_s", rev)):
            ok = isinstance(value, int | float) and math.isfinite(value) and value >= 0
            _check(ok, where, "a finite number >= 0", value)
        ok = isinstance(avg, int | float) and math.isfinite(avg) and avg > t1
        _check(ok, "average_seek_s", f"a finite number > single_track_seek_s ({t1})", avg)

    @property
    def full_stroke_s(self) -> float:
        """The seek across the whole disk, s: t1 + (avg - t1) 15/8, because the square
        root of a triangular distance has mean 8/15."""
        t1 = self.single_track_seek_s
        return t1 + (self.average_seek_s - t1) * 15 / 8

    @property
    def mean_s(self) -> float:
        """Mean access time, s: the average seek plus half a revolution."""
        return self.average_seek_s + self.revolution_s / 2

    def factors(self, rng: np.random.Generator) -> Factors:
        """Factors drawn in blocks: (seek + rotation) / mean."""
        t1 = self.single_track_seek_s
        span = self.full_stroke_s - t1
        rev, mean = self.revolution_s, self.mean_s

        def fill(n: int) -> npt.NDArray[np.float64]:
            # distance between two uniform tracks: pdf 2 (1 - x), so x = 1 - sqrt(1 - u)
            distance = 1.0 - np.sqrt(1.0 - rng.random(n))
            seek = t1 + span * np.sqrt(distance)
            draws: npt.NDArray[np.float64] = (seek + rev * rng.random(n)) / mean
            return draws

        return BlockDraws(fill)

    @property
    def second_moment(self) -> float:
        """E[factor^2], from E[sqrt x] = 8/15 and E[x] = 1/3 for the triangular distance
        and the moments of a uniform rotation."""
        t1, b = self.single_track_seek_s, self.full_stroke_s - self.single_track_seek_s
        seek2 = t1**2 + 2 * t1 * b * 8 / 15 + b**2 / 3
        rev = self.revolution_s
        total2 = seek2 + 2 * self.average_seek_s * rev / 2 + rev**2 / 3
        return total2 / self.mean_s**2


ServiceShape: TypeAlias = Fixed | Exponential | HyperExponential | SeekRotation
"""A device's service-time shape."""

FIXED = Fixed()
EXPONENTIAL = Exponential()
FLASH = HyperExponential()
"""Flash (SSD, NVMe) accesses: H2 with 1 % of accesses behind an erase 20x slower [W1]."""
HDD = SeekRotation()
"""A 7,200 rpm disk [X3]: 0.23 ms single-track and 7.4 ms average seek, 8.33 ms a turn."""

SERVICE_NAMES: dict[str, ServiceShape] = {
    "fixed": FIXED,
    "exponential": EXPONENTIAL,
    "h2": FLASH,
    "hdd": HDD,
}
"""Each shape by name, with its default parameters."""


def service_shape(value: Any) -> ServiceShape:
    """A shape from a shape or its name (``"fixed"``, ``"exponential"``, ``"h2"``, ``"hdd"``).

    Raises:
        ValueError: an unknown name or another type.
    """
    if isinstance(value, Fixed | Exponential | HyperExponential | SeekRotation):
        return value
    if isinstance(value, str) and value in SERVICE_NAMES:
        return SERVICE_NAMES[value]
    raise ValueError(f"service must be one of {', '.join(SERVICE_NAMES)} (got {value!r})")
