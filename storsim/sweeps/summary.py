"""Sweep summaries: the replications of each grid point as a mean and a confidence interval.

Like the line a lab writes under a series of repeated measurements, "12.3 ± 0.4 ms
(n = 5)": :func:`summarize` groups a :func:`storsim.sweep` frame by grid point and
storage choice (or placement) and gives each metric's mean with the bounds of its
Student-t interval (:func:`storsim.stats.intervals.mean_intervals`).
"""

from __future__ import annotations

import pandas as pd

from storsim.stats.intervals import mean_intervals
from storsim.sweeps.grid import RUN_COLUMNS, grid_columns

__all__ = ["summarize"]


def summarize(frame: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean and Student-t confidence interval over the replications of each grid point.

    Args:
        frame: a :func:`storsim.sweep` frame.
        confidence: the interval's coverage, in (0, 1).

    Returns:
        One row per grid point and storage choice (and placement), in the frame's order:
        the grid columns, ``storage`` (and ``placement``), ``runs`` (rows in the group),
        ``failed`` (of which failed; the failed runs of a point form a group of their own
        with ``storage`` missing), then for each numeric metric ``M``: ``M_mean``,
        ``M_ci_low`` and ``M_ci_high``, the bounds of ``mean -+ t * sd / sqrt(n)`` with
        ``n`` the replications that have a value and ``t`` the Student-t quantile with
        ``n - 1`` degrees of freedom. With one replication the bounds are missing.

    Raises:
        ValueError: ``frame`` is not a sweep frame, or ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    params = grid_columns(frame)
    if "replication" not in frame.columns:
        raise ValueError("not a sweep frame: it has no 'replication' column")
    keys = [*params, "storage", *(["placement"] if "placement" in frame.columns else [])]
    skip = {*keys, *RUN_COLUMNS}
    metrics = [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    # Missing keys (storage of a comparison row) must form groups, not vanish.
    grouped = frame.groupby(keys, dropna=False, sort=False)
    head = grouped.size().rename("runs").to_frame()
    head["failed"] = grouped["error"].count() if "error" in frame.columns else 0
    intervals = mean_intervals(grouped, metrics, confidence=confidence)
    return pd.concat([head, intervals], axis=1).reset_index()
