"""Streaming summaries: the summary tables of a run, kept as running totals.

Like a turnstile's counter, which knows how many people went through and how fast
without a list of their names: :class:`StreamingSummary` is fed the operations chunk by
chunk as the simulation records them and keeps only counters and a quantile sketch per
service and storage choice (:class:`storsim.stats.sketch.LogHistogram`), so its memory
does not grow with the number of operations. Every count, sum, mean, minimum and maximum
is the exact one of :mod:`storsim.stats.summary`, the standard deviation equals it to
float rounding (Chan, Golub and LeVeque's pairwise update of the sum of squared
deviations, chunk by chunk), and every percentile, p99.99 included, is within the
sketch's relative error (0.5 %) of the exact one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from storsim.records import Chunk
from storsim.stats.sketch import LogHistogram
from storsim.stats.summary import (
    PERCENTILES,
    READS,
    SUMMARY_COLUMNS,
    WRITES,
    empty_row,
    errors_table,
    services_of,
    summary_table,
)

__all__ = ["GroupStats", "StreamingSummary"]


class GroupStats:
    """Running totals of one group of operations: what :func:`summarize_ops` computes
    for one storage choice, kept without the rows.

    Args:
        relative_error: the latency sketches' bound on relative error.
    """

    __slots__ = (
        "bytes_read",
        "bytes_written",
        "copy_up_bytes",
        "copy_ups",
        "errors",
        "latency",
        "latency_m2",
        "lock_errors",
        "lock_waits",
        "locks",
        "lost_records",
        "lost_updates",
        "stale_reads",
        "t_first",
        "t_last",
        "torn_writes",
    )

    def __init__(self, relative_error: float = 0.005) -> None:
        self.latency = LogHistogram(relative_error)  # seconds, file operations only
        # sum of squared deviations from the mean of the latencies, in s^2 (for std_ms)
        self.latency_m2 = 0.0
        self.lock_waits = LogHistogram(relative_error)  # seconds, only waits > 0
        self.locks = 0  # lock calls (not file operations)
        self.bytes_read = 0
        self.bytes_written = 0
        self.copy_ups = 0
        self.copy_up_bytes = 0
        self.errors = 0
        self.lost_updates = 0
        self.lost_records = 0
        self.torn_writes = 0
        self.stale_reads = 0
        self.lock_errors = 0
        self.t_first = math.inf  # earliest start
        self.t_last = -math.inf  # latest end

    @property
    def ops(self) -> int:
        """File operations seen (lock calls are counted in :attr:`locks`)."""
        return self.latency.count

    def _add_latencies(self, seconds: Any) -> None:
        """Add latencies to the sketch and to the running sum of squared deviations."""
        n_a, n_b = self.latency.count, len(seconds)
        if n_b == 0:
            return
        mean_a = self.latency.mean if n_a else 0.0
        mean_b = float(seconds.mean())
        m2_b = float(((seconds - mean_b) ** 2).sum())
        delta = mean_b - mean_a
        self.latency_m2 += m2_b + delta * delta * n_a * n_b / (n_a + n_b)
        self.latency.add(seconds)

    def _merge_m2(self, other: GroupStats) -> None:
        n_a, n_b = self.latency.count, other.latency.count
        if n_a and n_b:
            delta = other.latency.mean - self.latency.mean
            self.latency_m2 += other.latency_m2 + delta * delta * n_a * n_b / (n_a + n_b)
        elif n_b:
            self.latency_m2 = other.latency_m2

    def add(self, chunk: Chunk, rows: Any, codes: _Codes) -> None:
        """Add the rows ``rows`` (an index or boolean mask) of a recorder chunk."""
        start = chunk["t_start"][rows]
        if len(start) == 0:
            return
        end = chunk["t_end"][rows]
        op = chunk["op"][rows]
        ok = chunk["outcome"][rows] == codes.ok
        self.t_first = min(self.t_first, float(start.min()))
        self.t_last = max(self.t_last, float(end.max()))
        locks = op == codes.lock
        if locks.any():
            waits = chunk["lock_wait_s"][rows][locks]
            self.lock_waits.add(waits[waits > 0])
            self.lock_errors += int(np.count_nonzero(~ok[locks]))
            self.locks += int(np.count_nonzero(locks))
            files = ~locks
            start, end, op, ok = start[files], end[files], op[files], ok[files]
            rows = np.flatnonzero(rows)[files] if rows.dtype == bool else rows[files]
        nbytes = chunk["nbytes"][rows]
        self._add_latencies(end - start)
        self.bytes_read += int(nbytes[ok & np.isin(op, codes.reads)].sum())
        self.bytes_written += int(nbytes[ok & np.isin(op, codes.writes)].sum())
        self.copy_ups += int(np.count_nonzero(chunk["copied_up"][rows]))
        self.copy_up_bytes += int(chunk["copy_up_bytes"][rows].sum())
        self.errors += int(np.count_nonzero(~ok))
        self.lost_updates += int(chunk["lost_updates"][rows].sum())
        self.lost_records += int(chunk["lost_records"][rows].sum())
        self.torn_writes += int(np.count_nonzero(chunk["torn"][rows]))
        self.stale_reads += int(np.count_nonzero(chunk["stale"][rows]))

    def merge(self, other: GroupStats) -> None:
        """Add every total of ``other`` to this group's."""
        self._merge_m2(other)  # before the sketches merge: it needs both means
        self.latency.merge(other.latency)
        self.lock_waits.merge(other.lock_waits)
        for name in (
            "bytes_read", "bytes_written", "copy_ups", "copy_up_bytes", "errors",
            "lost_updates", "lost_records", "torn_writes", "stale_reads", "lock_errors",
            "locks",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.t_first = min(self.t_first, other.t_first)
        self.t_last = max(self.t_last, other.t_last)

    def row(self, storage: str, span_s: float) -> dict[str, Any]:
        """The summary row of this group (the columns of :data:`SUMMARY_COLUMNS` but
        the lifecycle ones), as :func:`summarize_ops` computes it from the rows."""
        nan = float("nan")
        row = empty_row(storage)
        lat = self.latency
        if self.ops:
            quantiles = lat.quantiles([q for _, q in PERCENTILES])
            row.update(
                ops=lat.count,
                min_ms=lat.min * 1e3,
                mean_ms=lat.mean * 1e3,
                std_ms=math.sqrt(max(self.latency_m2, 0.0) / lat.count) * 1e3,
                max_ms=lat.max * 1e3,
                throughput_ops_s=lat.count / span_s if span_s > 0 else nan,
                bytes_read=self.bytes_read,
                bytes_written=self.bytes_written,
                copy_ups=self.copy_ups,
                copy_up_bytes=self.copy_up_bytes,
                errors=self.errors,
                lost_updates=self.lost_updates,
                lost_records=self.lost_records,
                torn_writes=self.torn_writes,
                stale_reads=self.stale_reads,
            )
            row.update({c: v * 1e3 for (c, _), v in zip(PERCENTILES, quantiles, strict=True)})
        waits = self.lock_waits
        w50, w99 = (v * 1e3 for v in waits.quantiles([0.50, 0.99])) if waits.count else (nan, nan)
        row.update(
            locks=self.locks,
            lock_waits=waits.count,
            lock_wait_p50_ms=w50,
            lock_wait_p99_ms=w99,
            lock_errors=self.lock_errors,
        )
        return row


class _Codes:
    """The recorder's codes of the strings the statistics test for, in one chunk."""

    __slots__ = ("lock", "ok", "reads", "writes")

    def __init__(self, strings: Sequence[str]) -> None:
        index = {s: i for i, s in enumerate(strings)}
        self.ok = index.get("ok", -1)
        self.lock = index.get("lock", -1)
        self.reads = [index[s] for s in READS if s in index]
        self.writes = [index[s] for s in WRITES if s in index]


class StreamingSummary:
    """The summary tables of a run, accumulated chunk by chunk (a recorder sink).

    Give :meth:`add` to :class:`storsim.records.Recorder` as its ``sink``; after the
    run, :meth:`summary`, :meth:`by_service` and :meth:`errors` return the same tables
    as :func:`summarize_ops`, :func:`summarize_by_service` and :func:`errors_by_errno`
    would from every row: counts and sums exact, percentiles within
    ``relative_error``. Memory is a few kilobytes per (service, storage choice).

    Args:
        relative_error: the sketches' bound on the relative error of percentiles.
        focus: also total the operations on this path and below it, whatever storage
            served them, in :attr:`focus` (the ``compare:`` path).

    Attributes:
        groups: (service, storage choice) -> its totals.
        focus: totals of the operations under ``focus`` (None without one).
        failures: (storage choice, errno name) -> failed operations.
    """

    __slots__ = ("_focus_path", "_under", "failures", "focus", "groups", "relative_error")

    def __init__(self, *, relative_error: float = 0.005, focus: str | None = None) -> None:
        self.relative_error = relative_error
        self.groups: dict[tuple[str, str], GroupStats] = {}
        self.failures: dict[tuple[str, str], int] = {}
        self.focus = GroupStats(relative_error) if focus is not None else None
        self._focus_path = focus
        self._under: dict[str, bool] = {}  # path -> below the focus path

    def add(self, chunk: Chunk, strings: Sequence[str]) -> None:
        """Fold one chunk of operation rows into the totals (the recorder's sink)."""
        codes = _Codes(strings)
        service, storage = chunk["service"], chunk["storage"]
        key = service.astype(np.int64) * len(strings) + storage
        keys, inverse = np.unique(key, return_inverse=True)
        for i, k in enumerate(keys.tolist()):
            name = (strings[k // len(strings)], strings[k % len(strings)])
            group = self.groups.get(name)
            if group is None:
                group = self.groups[name] = GroupStats(self.relative_error)
            group.add(chunk, inverse == i, codes)
        failed = chunk["outcome"] != codes.ok
        if failed.any():
            pairs = storage[failed].astype(np.int64) * len(strings) + chunk["outcome"][failed]
            for k, n in zip(*np.unique(pairs, return_counts=True), strict=True):
                name = (strings[int(k) // len(strings)], strings[int(k) % len(strings)])
                self.failures[name] = self.failures.get(name, 0) + int(n)
        if self.focus is not None and self._focus_path is not None:
            under = self._under
            if len(under) > 65_536:  # templated paths never repeat: keep memory bounded
                under.clear()
            prefix = self._focus_path.rstrip("/") + "/"
            for path in set(chunk["path"].tolist()) - under.keys():
                under[path] = path == self._focus_path or path.startswith(prefix)
            mask = np.fromiter((under[p] for p in chunk["path"]), bool, len(chunk["path"]))
            self.focus.add(chunk, mask, codes)

    def span_s(self) -> float:
        """Time from the first operation's start to the last one's end (0 if none)."""
        first = min((g.t_first for g in self.groups.values()), default=math.inf)
        last = max((g.t_last for g in self.groups.values()), default=-math.inf)
        return last - first if last >= first else 0.0

    def _by_storage(self, service: str | None) -> dict[str, GroupStats]:
        merged: dict[str, GroupStats] = {}
        for (svc, storage), group in self.groups.items():
            if service is not None and svc != service:
                continue
            total = merged.get(storage)
            if total is None:
                total = merged[storage] = GroupStats(self.relative_error)
            total.merge(group)
        return merged

    def summary(
        self, events: pd.DataFrame | None = None, *, span_s: float | None = None
    ) -> pd.DataFrame:
        """:func:`summarize_ops` of every operation seen."""
        span = self.span_s() if span_s is None else span_s
        rows = {st: g.row(st, span) for st, g in self._by_storage(None).items()}
        return summary_table(rows, events)

    def by_service(
        self, events: pd.DataFrame | None = None, *, span_s: float | None = None
    ) -> pd.DataFrame:
        """:func:`summarize_by_service` of every operation seen."""
        frames = []
        span = self.span_s() if span_s is None else span_s
        for service in sorted({svc for svc, _ in self.groups} | services_of(events)):
            theirs = events[events["service"] == service] if events is not None else None
            rows = {st: g.row(st, span) for st, g in self._by_storage(service).items()}
            frame = summary_table(rows, theirs)
            frame.insert(0, "service", service)
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=["service", *SUMMARY_COLUMNS])
        return pd.concat(frames, ignore_index=True)

    def errors(self) -> pd.DataFrame:
        """:func:`errors_by_errno` of every operation seen."""
        return errors_table((st, errno, n) for (st, errno), n in self.failures.items())
