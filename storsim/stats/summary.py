"""Exact summaries: the DataFrame of every operation in, the summary tables out.

Like a referee's score sheet, the summary turns a match's every move into the few
numbers people compare: per storage choice, how many file operations, how long they took
(minimum, mean, standard deviation, median, tail percentiles up to p99.99, maximum), how
many bytes moved, how many copy-ups, which errors, how many lock calls and conflicts, and
how much data a container's removal lost.

The conflict columns count, from what the simulation interleaved
(:mod:`storsim.run.conflicts`): ``lost_updates``, increments that a read-modify-write
overwrote (its read was overtaken by others' commits); ``lost_records``, appended
records overwritten whole by another append that found the same end of file
(``lseek(SEEK_END)`` + ``write()``, or ``O_APPEND`` across NFS clients); ``torn_writes``,
writes that damaged part of a concurrent writer's record (appends of different sizes
that found the same end, overlapping writes of different network clients); and
``stale_reads``, reads a client cache served older than the latest commit.

Lock calls are not file operations: a workload's ``lock: flock`` records one ``lock`` row
per iteration, which would double ``ops`` and ``throughput_ops_s`` of a read-modify-write
and pull its latency percentiles toward the lock's. They are counted apart (``locks``,
``lock_waits``, ``lock_wait_p50_ms``, ``lock_wait_p99_ms``, ``lock_errors``), and
``errors`` counts failed file operations only. Every time in these tables is in
milliseconds and named ``*_ms`` (the operation records, :class:`storsim.records.IoRecord`,
keep seconds, named ``*_s``).

A container's start-up (:func:`startup_table`) is the time from its ``docker run`` until
its workloads start: the time Docker spends copying image content into new empty
volumes mounted over image directories (:mod:`storsim.run.containers`), the answer to
"why does my container start slowly with an empty volume".

This module computes the tables from every row (:func:`summarize_ops`,
:func:`summarize_by_service`, :func:`errors_by_errno`) and owns their layout
(:data:`SUMMARY_COLUMNS`, :func:`summary_table`, :func:`errors_table`), which
:mod:`storsim.stats.streaming` fills from running totals instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from storsim.names import LOCK
from storsim.scenario import STORAGE_CHOICES

__all__ = [
    "CONFLICT_COLUMNS",
    "LATENCY_COLUMNS",
    "LIFECYCLE_COLUMNS",
    "PERCENTILES",
    "READS",
    "STARTUP_COLUMNS",
    "SUMMARY_COLUMNS",
    "WRITES",
    "empty_row",
    "errors_by_errno",
    "errors_table",
    "plain_value",
    "services_of",
    "startup_table",
    "storage_order",
    "summarize_by_service",
    "summarize_ops",
    "summary_table",
]

#: Columns of :func:`summarize_ops`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "storage",
    "ops",
    "min_ms",
    "mean_ms",
    "std_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "p9999_ms",
    "max_ms",
    "throughput_ops_s",
    "bytes_read",
    "bytes_written",
    "copy_ups",
    "copy_up_bytes",
    "errors",
    "lost_updates",
    "lost_records",
    "torn_writes",
    "stale_reads",
    "locks",
    "lock_waits",
    "lock_wait_p50_ms",
    "lock_wait_p99_ms",
    "lock_errors",
    "data_lost_bytes",
    "orphaned_volumes",
    "orphaned_bytes",
)

#: The latency percentiles of the summary: (column, quantile). ``p999`` is p99.9 and
#: ``p9999`` p99.99 (the names ``column_label`` writes with the dot).
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99),
    ("p999_ms", 0.999), ("p9999_ms", 0.9999),
)  # fmt: skip

#: The latency columns of the summary (milliseconds, over file operations only).
LATENCY_COLUMNS: tuple[str, ...] = (
    "min_ms", "mean_ms", "std_ms", *(c for c, _ in PERCENTILES), "max_ms",
)  # fmt: skip

#: The conflict columns of the summary (``locks``: lock calls, not file operations),
#: and the lifecycle ones.
CONFLICT_COLUMNS: tuple[str, ...] = (
    "lost_updates", "lost_records", "torn_writes", "stale_reads", "locks", "lock_waits",
    "lock_wait_p50_ms", "lock_wait_p99_ms", "lock_errors",
)  # fmt: skip
LIFECYCLE_COLUMNS: tuple[str, ...] = ("data_lost_bytes", "orphaned_volumes", "orphaned_bytes")

#: The operations whose bytes count as read, and as written (when they succeed).
READS: tuple[str, ...] = ("read",)
WRITES: tuple[str, ...] = ("write", "append", "create")


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
        Latencies are in milliseconds, throughput in file operations per simulated
        second; ``lock`` rows count in the lock columns only (see the module docstring).
        ``std_ms`` is the standard deviation of the latencies observed (``ddof=0``).
    """
    if span_s is None:
        span_s = float(ops["t_end_s"].max() - ops["t_start_s"].min()) if len(ops) else 0.0
    groups = dict(tuple(ops.groupby("storage", observed=True))) if len(ops) else {}
    rows = {str(storage): _row(str(storage), g, span_s) for storage, g in groups.items()}
    return summary_table(rows, events)


def summary_table(rows: dict[str, dict[str, Any]], events: pd.DataFrame | None) -> pd.DataFrame:
    """The summary table of some rows: the lifecycle columns added, in the fixed order.

    Args:
        rows: storage choice (or series label, :mod:`storsim.stats.series`) -> its
            summary row without the lifecycle columns.
        events: lifecycle records; their ``data_lost_bytes`` (and orphans) are summed
            per storage choice.

    Returns:
        A DataFrame with :data:`SUMMARY_COLUMNS`, one row per key of ``rows`` or storage
        choice that lost anything, in :data:`STORAGE_CHOICES` order (:func:`storage_order`).
    """
    if events is not None and len(events):
        life = events.groupby("storage", observed=True)[list(LIFECYCLE_COLUMNS)].sum()
    else:
        life = pd.DataFrame(columns=list(LIFECYCLE_COLUMNS))
    lost = {str(s) for s in life.index if s in STORAGE_CHOICES and life.loc[s].any()}
    out: list[dict[str, Any]] = []
    for label in sorted(rows.keys() | lost, key=storage_order):
        row = rows.get(label)
        lifecycle = {
            c: int(life.loc[label, c]) if label in life.index else 0  # type: ignore[arg-type]
            for c in LIFECYCLE_COLUMNS
        }
        out.append((row if row is not None else empty_row(label)) | lifecycle)
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def storage_order(label: str) -> tuple[int, str]:
    """Sort key of a storage choice or series label: :data:`STORAGE_CHOICES` order first.

    ``"distributed_bind (nas, nfs)"`` and ``"distributed_bind:nas"`` sort with
    ``distributed_bind``, then by name; unknown names come last.
    """
    base = label.split(" (", 1)[0].split(":", 1)[0]
    order = STORAGE_CHOICES.index(base) if base in STORAGE_CHOICES else len(STORAGE_CHOICES)
    return order, label


def summarize_by_service(
    ops: pd.DataFrame, events: pd.DataFrame | None = None, *, span_s: float | None = None
) -> pd.DataFrame:
    """:func:`summarize_ops` per service: a ``service`` column, then the summary columns.

    Two services may use the same storage choice very differently (an NFS and an
    S3-FUSE bind are both ``distributed_bind``); this table keeps them apart.
    """
    frames = []
    # distinct values, not one str() per row
    services = sorted({str(s) for s in ops["service"].unique()} | services_of(events))
    for service in services:
        mine = ops[ops["service"] == service]
        theirs = events[events["service"] == service] if events is not None else None
        frame = summarize_ops(mine, theirs, span_s=span_s)
        frame.insert(0, "service", service)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["service", *SUMMARY_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def services_of(events: pd.DataFrame | None) -> set[str]:
    """The services named in lifecycle records (none without records)."""
    if events is None or not len(events):
        return set()
    return {str(s) for s in events["service"].unique()}


def empty_row(storage: str) -> dict[str, Any]:
    """The summary row of a storage choice without operations: counts 0, latencies NaN."""
    nan = float("nan")
    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, 0)
    row.update(storage=storage, throughput_ops_s=0.0)
    for c in LATENCY_COLUMNS:
        row[c] = nan
    row["lock_wait_p50_ms"] = row["lock_wait_p99_ms"] = nan
    return row


def _row(storage: str, g: pd.DataFrame, span_s: float) -> dict[str, Any]:
    """The summary row of one storage choice's operations (file operations and locks)."""
    nan = float("nan")
    is_lock = (g["op"] == LOCK).to_numpy()
    files, locks = g[~is_lock], g[is_lock]
    row = empty_row(storage) if len(files) == 0 else _file_row(storage, files, span_s)
    # lock-wait percentiles are over the acquisitions that had to wait: the others
    # waited 0 and would hide the wait in the median
    waits = locks["lock_wait_s"].to_numpy()
    waits = waits[waits > 0] * 1e3
    w50, w99 = np.percentile(waits, [50, 99]) if len(waits) else (nan, nan)
    row.update(
        locks=len(locks),
        lock_waits=len(waits),
        lock_wait_p50_ms=float(w50),
        lock_wait_p99_ms=float(w99),
        lock_errors=int((locks["outcome"] != "ok").sum()),
    )
    return row


def _file_row(storage: str, g: pd.DataFrame, span_s: float) -> dict[str, Any]:
    """The summary row of file operations (no lock rows), lock columns left at 0."""
    ms = g["latency_s"].to_numpy() * 1e3
    quantiles = np.percentile(ms, [100 * q for _, q in PERCENTILES])
    ok = g["outcome"] == "ok"
    op = g["op"]
    return empty_row(storage) | {
        "ops": len(g),
        "min_ms": float(ms.min()),
        "mean_ms": float(ms.mean()),
        "std_ms": float(ms.std()),
        **{c: float(v) for (c, _), v in zip(PERCENTILES, quantiles, strict=True)},
        "max_ms": float(ms.max()),
        "throughput_ops_s": len(g) / span_s if span_s > 0 else float("nan"),
        "bytes_read": int(g.loc[ok & op.isin(READS), "nbytes"].sum()),
        "bytes_written": int(g.loc[ok & op.isin(WRITES), "nbytes"].sum()),
        "copy_ups": int(g["copied_up"].sum()),
        "copy_up_bytes": int(g["copy_up_bytes"].sum()),
        "errors": int((~ok).sum()),
        "lost_updates": int(g["lost_updates"].sum()),
        "lost_records": int(g["lost_records"].sum()),
        "torn_writes": int(g["torn"].sum()),
        "stale_reads": int(g["stale"].sum()),
    }


#: Columns of :func:`startup_table`, in order.
STARTUP_COLUMNS: tuple[str, ...] = ("container", "service", "t_s", "startup_ms", "copy_bytes")


def startup_table(events: pd.DataFrame | None) -> pd.DataFrame:
    """One row per ``docker run``: when, how long until the workloads started, and why.

    Args:
        events: lifecycle records (:meth:`storsim.records.Recorder.events_frame`).

    Returns:
        :data:`STARTUP_COLUMNS`: the container, its service, the simulated second of its
        ``run`` (``t_s``), its start-up time in milliseconds (``startup_ms``) and the
        bytes Docker copied from the image into new empty volumes (``copy_bytes``), in
        the order the runs happened.
    """
    if events is None or not len(events):
        frame = pd.DataFrame({c: [] for c in STARTUP_COLUMNS})
        return frame.astype({"t_s": "float64", "startup_ms": "float64", "copy_bytes": "int64"})
    runs = events[events["action"] == "run"].sort_values("t_s", kind="stable")
    return pd.DataFrame(
        {
            "container": runs["container"].astype(str).to_list(),
            "service": runs["service"].astype(str).to_list(),
            "t_s": runs["t_s"].to_numpy(dtype=float),
            "startup_ms": runs["startup_s"].to_numpy(dtype=float) * 1e3,
            "copy_bytes": runs["copy_bytes"].to_numpy(dtype="int64"),
        },
        columns=list(STARTUP_COLUMNS),
    )


def errors_by_errno(ops: pd.DataFrame) -> pd.DataFrame:
    """Failed operations counted per storage choice and errno name (long format).

    Returns:
        Columns ``storage``, ``errno``, ``count``; sorted by storage then errno.
    """
    failed = ops[ops["outcome"] != "ok"]
    if failed.empty:
        return errors_table([])
    counts = failed.groupby(["storage", "outcome"], observed=True).size()
    return errors_table(
        (str(storage), str(errno), int(n))
        for (storage, errno), n in zip(counts.index.tolist(), counts.tolist(), strict=True)
    )


def errors_table(counts: Iterable[tuple[str, str, int]]) -> pd.DataFrame:
    """(storage, errno, count) triples as the errors table, sorted by storage then errno.

    Triples with a count of 0 are left out.
    """
    order = {s: i for i, s in enumerate(STORAGE_CHOICES)}
    rows = sorted((c for c in counts if c[2]), key=lambda c: (order.get(c[0], len(order)), c[1]))
    frame = pd.DataFrame(rows, columns=["storage", "errno", "count"])
    if not rows:  # dtypes of the empty table, as before
        return pd.DataFrame({"storage": [], "errno": [], "count": []}).astype({"count": "int64"})
    return frame.astype({"count": "int64"})


def plain_value(value: Any) -> Any:
    """A summary cell as a plain JSON value: numpy scalars as Python ones, NaN as None.

    JSON has no NaN; the ``--json`` output and a sweep's run log write these values, and
    a row read back from the log must equal the one a worker sent.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return plain_value(value.item())
    return value
