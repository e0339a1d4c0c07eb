"""Statistics: DataFrames of records in, DataFrames of summaries out.

Like a referee's score sheet, the summary turns a match's every move into the few
numbers people compare: per storage choice, how many operations, how long they took
(mean and tail percentiles), how many bytes moved, how many copy-ups, which errors, and
how much data a container's removal lost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from storsim.scenario import STORAGE_CHOICES

__all__ = [
    "CONFLICT_COLUMNS",
    "LIFECYCLE_COLUMNS",
    "SUMMARY_COLUMNS",
    "errors_by_errno",
    "summarize_by_service",
    "summarize_ops",
]

#: Columns of :func:`summarize_ops`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "storage",
    "ops",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "throughput_ops_s",
    "bytes_read",
    "bytes_written",
    "copy_ups",
    "copy_up_bytes",
    "errors",
    "lost_updates",
    "torn_writes",
    "stale_reads",
    "lock_waits",
    "lock_wait_p50_ms",
    "lock_wait_p99_ms",
    "lock_errors",
    "data_lost_bytes",
    "orphaned_volumes",
    "orphaned_bytes",
)

#: The conflict columns of the summary, and the lifecycle ones.
CONFLICT_COLUMNS: tuple[str, ...] = (
    "lost_updates", "torn_writes", "stale_reads", "lock_waits",
    "lock_wait_p50_ms", "lock_wait_p99_ms", "lock_errors",
)  # fmt: skip
LIFECYCLE_COLUMNS: tuple[str, ...] = ("data_lost_bytes", "orphaned_volumes", "orphaned_bytes")

_READS = ("read",)
_WRITES = ("write", "append", "create")


def summarize_ops(
    ops: pd.DataFrame, events: pd.DataFrame | None = None, *, span_s: float | None = None
) -> pd.DataFrame:
    """One row per storage choice that saw any operation or lost any data.

    Args:
        ops: operation records (:meth:`storsim.records.Recorder.frame`).
        events: lifecycle records; their ``data_lost_bytes`` are summed per storage choice.
        span_s: simulated seconds to divide operation counts by for ``throughput_ops_s``;
            by default the time from the first operation's start to the last one's end.

    Returns:
        A DataFrame with :data:`SUMMARY_COLUMNS`, rows in :data:`STORAGE_CHOICES` order.
        Latencies are in milliseconds, throughput in operations per simulated second.
    """
    if span_s is None:
        span_s = float(ops["t_end"].max() - ops["t_start"].min()) if len(ops) else 0.0
    if events is not None and len(events):
        life = events.groupby("storage", observed=True)[list(LIFECYCLE_COLUMNS)].sum()
    else:
        life = pd.DataFrame(columns=list(LIFECYCLE_COLUMNS))
    rows: list[dict[str, Any]] = []
    groups = dict(tuple(ops.groupby("storage", observed=True))) if len(ops) else {}
    for storage in STORAGE_CHOICES:
        group = groups.get(storage)
        lifecycle = {
            c: int(life.loc[storage, c]) if storage in life.index else 0  # type: ignore[arg-type]
            for c in LIFECYCLE_COLUMNS
        }
        if group is None and not any(lifecycle.values()):
            continue
        rows.append(_row(storage, group, span_s) | lifecycle)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def summarize_by_service(
    ops: pd.DataFrame, events: pd.DataFrame | None = None, *, span_s: float | None = None
) -> pd.DataFrame:
    """:func:`summarize_ops` per service: a ``service`` column, then the summary columns.

    Two services may use the same storage choice very differently (an NFS and an
    S3-FUSE bind are both ``distributed_bind``); this table keeps them apart.
    """
    frames = []
    services = sorted(set(ops["service"].astype(str)) | _services(events))
    for service in services:
        mine = ops[ops["service"] == service]
        theirs = events[events["service"] == service] if events is not None else None
        frame = summarize_ops(mine, theirs, span_s=span_s)
        frame.insert(0, "service", service)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["service", *SUMMARY_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def _services(events: pd.DataFrame | None) -> set[str]:
    return set(events["service"].astype(str)) if events is not None and len(events) else set()


def _row(storage: str, g: pd.DataFrame | None, span_s: float) -> dict[str, Any]:
    nan = float("nan")
    if g is None or len(g) == 0:
        row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, 0)
        row.update(storage=storage, throughput_ops_s=0.0)
        for c in ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
            row[c] = nan
        row["lock_wait_p50_ms"] = row["lock_wait_p99_ms"] = nan
        return row
    ms = g["latency_s"].to_numpy() * 1e3
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    ok = g["outcome"] == "ok"
    op = g["op"]
    locks = g[op == "lock"]
    # lock-wait percentiles are over the acquisitions that had to wait: the others
    # waited 0 and would hide the wait in the median
    waits = locks["lock_wait_s"].to_numpy()
    waits = waits[waits > 0] * 1e3
    w50, w99 = np.percentile(waits, [50, 99]) if len(waits) else (nan, nan)
    return {
        "storage": storage,
        "ops": len(g),
        "mean_ms": float(ms.mean()),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "max_ms": float(ms.max()),
        "throughput_ops_s": len(g) / span_s if span_s > 0 else nan,
        "bytes_read": int(g.loc[ok & op.isin(_READS), "nbytes"].sum()),
        "bytes_written": int(g.loc[ok & op.isin(_WRITES), "nbytes"].sum()),
        "copy_ups": int(g["copied_up"].sum()),
        "copy_up_bytes": int(g["copy_up_bytes"].sum()),
        "errors": int((~ok).sum()),
        "lost_updates": int(g["lost_updates"].sum()),
        "torn_writes": int(g["torn"].sum()),
        "stale_reads": int(g["stale"].sum()),
        "lock_waits": len(waits),
        "lock_wait_p50_ms": float(w50),
        "lock_wait_p99_ms": float(w99),
        "lock_errors": int((locks["outcome"] != "ok").sum()),
    }


def errors_by_errno(ops: pd.DataFrame) -> pd.DataFrame:
    """Failed operations counted per storage choice and errno name (long format).

    Returns:
        Columns ``storage``, ``errno``, ``count``; sorted by storage then errno.
    """
    failed = ops[ops["outcome"] != "ok"]
    if failed.empty:
        return pd.DataFrame({"storage": [], "errno": [], "count": []}).astype({"count": "int64"})
    counts = (
        failed.groupby(["storage", "outcome"], observed=True)
        .size()
        .reset_index(name="count")
        .rename(columns={"outcome": "errno"})
    )
    counts["storage"] = counts["storage"].astype(str)
    counts["errno"] = counts["errno"].astype(str)
    order = {s: i for i, s in enumerate(STORAGE_CHOICES)}
    counts["_o"] = counts["storage"].map(order)
    return counts.sort_values(["_o", "errno"]).drop(columns="_o").reset_index(drop=True)
