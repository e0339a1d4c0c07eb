"""Sweep summaries: the replications of each grid point as a mean and a confidence interval.

Like the line a lab writes under a series of repeated measurements, "12.3 ± 0.4 ms
(n = 5)": :func:`summarize` groups a :func:`storsim.sweep` frame by grid point and
storage choice (or placement) and gives each metric's mean with the bounds of its
Student-t interval (:func:`storsim.stats.intervals.mean_intervals`), in wide form (one
row per group, three columns per metric) or long form (one row per group and metric,
for plotting: ``px.bar(long, x=..., y="mean", color="series", facet_row="metric")``).
:func:`shown_metrics` says which metrics a sweep's table and report show.
"""

from __future__ import annotations

import pandas as pd

from storsim.stats.intervals import mean_intervals
from storsim.stats.summary import CONFLICT_COLUMNS, LIFECYCLE_COLUMNS
from storsim.sweeps.grid import RUN_COLUMNS, grid_columns

__all__ = ["ALWAYS_METRICS", "LONG_COLUMNS", "OCCASIONAL_METRICS", "shown_metrics", "summarize"]

#: The metrics a sweep's table and report always show (when the frame has them).
ALWAYS_METRICS: tuple[str, ...] = (
    "ops", "mean_ms", "p50_ms", "p99_ms", "p999_ms", "throughput_ops_s", "copy_ups", "errors",
)  # fmt: skip

#: The conflict and lifecycle metrics, shown when some grid point has them non-zero.
OCCASIONAL_METRICS: tuple[str, ...] = tuple(
    c for c in (*CONFLICT_COLUMNS, *LIFECYCLE_COLUMNS) if c != "lock_wait_p50_ms"
)

#: The columns of :func:`summarize`'s long form, after the grid parameters.
LONG_COLUMNS: tuple[str, ...] = (
    "storage", "series", "placement", "runs", "failed", "metric", "mean", "ci_low", "ci_high",
)  # fmt: skip


def shown_metrics(summary: pd.DataFrame) -> list[str]:
    """The metrics of a :func:`summarize` frame worth showing: :data:`ALWAYS_METRICS`
    that it has, and each of :data:`OCCASIONAL_METRICS` that some row has non-zero.

    Returns:
        Metric names (columns of :data:`storsim.stats.SUMMARY_COLUMNS`), in that order.
    """
    shown = [c for c in ALWAYS_METRICS if f"{c}_mean" in summary.columns]
    for column in OCCASIONAL_METRICS:
        mean = summary.get(f"{column}_mean")
        if mean is not None and (pd.to_numeric(mean, errors="coerce").fillna(0) != 0).any():
            shown.append(column)
    return shown


def summarize(frame: pd.DataFrame, *, confidence: float = 0.95, long: bool = False) -> pd.DataFrame:
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
        With ``long``: one row per group and metric, the grid columns then
        :data:`LONG_COLUMNS` (``metric`` the metric's name; ``series`` and
        ``placement`` missing where the frame has none).

    Raises:
        ValueError: ``frame`` is not a sweep frame, or ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    params = grid_columns(frame)
    if "replication" not in frame.columns:
        raise ValueError("not a sweep frame: it has no 'replication' column")
    keys = [*params, *(c for c in ("storage", "series", "placement") if c in frame.columns)]
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
    wide = pd.concat([head, intervals], axis=1).reset_index()
    return _long(wide, params, metrics) if long else wide


def _long(wide: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    """The wide summary as one row per group and metric."""
    names = [c for c in ("storage", "series", "placement") if c in wide.columns]
    head = wide[[*params, *names, "runs", "failed"]]
    parts = []
    for m in metrics:
        part = head.assign(
            metric=m,
            mean=wide[f"{m}_mean"],
            ci_low=wide[f"{m}_ci_low"],
            ci_high=wide[f"{m}_ci_high"],
        )
        parts.append(part)
    columns = [*params, *LONG_COLUMNS]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    for name in ("series", "placement"):
        if name not in out.columns:
            out[name] = None
    return out[columns]
