"""Confidence intervals: how far the mean of a few replications may be from the truth.

Like a surveyor who measures a distance several times and writes down the average with a
tolerance, a sweep runs each grid point a few times with other seeds and reports the
mean of each metric with the bounds of a Student-t interval, ``mean -+ t * sd / sqrt(n)``
(Student's t because the spread ``sd`` is itself estimated from those ``n`` runs). The
critical value ``t`` is computed here, exactly, so that storsim needs no scipy.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

__all__ = ["mean_intervals", "t_quantile"]


def mean_intervals(grouped: Any, metrics: Sequence[str], *, confidence: float) -> pd.DataFrame:
    """Mean and Student-t confidence interval of each metric, per group.

    Args:
        grouped: a ``DataFrame.groupby(...)`` of rows that each hold one replication.
        metrics: the numeric columns to summarise.
        confidence: the intervals' coverage, in (0, 1).

    Returns:
        One row per group (indexed as ``grouped``): for each metric ``M``, in order,
        ``M_mean``, ``M_ci_low`` and ``M_ci_high``. ``n`` is the group's rows that have
        a value of ``M``; with fewer than two the bounds are missing.

    Raises:
        ValueError: ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    columns = list(metrics)
    mean = grouped[columns].mean()
    sd = grouped[columns].std(ddof=1)
    n = grouped[columns].count()
    factor = n.map(
        lambda k: t_quantile(confidence, int(k) - 1) / math.sqrt(k) if k > 1 else math.nan
    )
    half = sd * factor
    parts = [
        pd.DataFrame(
            {
                f"{m}_mean": mean[m],
                f"{m}_ci_low": mean[m] - half[m],
                f"{m}_ci_high": mean[m] + half[m],
            }
        )
        for m in columns
    ]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=mean.index)


@lru_cache(maxsize=256)
def t_quantile(confidence: float, dof: int) -> float:
    """The two-sided Student-t critical value: P(|T| <= t) = confidence.

    Exact for integer degrees of freedom: P(|T| <= t) has a closed form (Abramowitz and
    Stegun 26.7.3 and 26.7.4), solved here by bisection; for large ``dof`` the
    Cornish-Fisher expansion (26.7.5) is exact to far below float precision of a CI.

    Args:
        confidence: the coverage, in (0, 1).
        dof: degrees of freedom, >= 1.

    Returns:
        ``t`` such that a Student-t variable with ``dof`` degrees of freedom lies in
        ``[-t, t]`` with probability ``confidence``.
    """
    z = statistics.NormalDist().inv_cdf((1 + confidence) / 2)
    if dof > 200:
        d = float(dof)
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
        return z + g1 / d + g2 / d**2 + g3 / d**3 + g4 / d**4
    low, high = z, max(2 * z, 1.0)
    while _t_coverage(high, dof) < confidence:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if _t_coverage(middle, dof) < confidence:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * high:
            break
    return (low + high) / 2


def _t_coverage(t: float, dof: int) -> float:
    """P(|T| <= t) for Student's t with integer ``dof`` (Abramowitz and Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    if dof % 2 == 1:
        total, term = 0.0, math.cos(theta)
        for k in range(1, (dof - 1) // 2 + 1):
            # terms cos(theta) * [1, 2/3 c2, (2*4)/(3*5) c2^2, ...]
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        return 2 / math.pi * (theta + math.sin(theta) * total)
    total, term = 0.0, 1.0
    for k in range(1, dof // 2 + 1):
        total += term
        term *= c2 * (2 * k - 1) / (2 * k)
    return math.sin(theta) * total
