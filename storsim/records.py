"""Records: one row per simulated file operation, and one per lifecycle event.

Like a flight recorder, the recorder only writes down what happened; all judgement is
left to :mod:`storsim.stats`. Rows are buffered in plain per-column lists (the cheapest
thing to append to) and turned into one pandas DataFrame at the end.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["EventRecord", "IoRecord", "Recorder"]


class IoRecord(NamedTuple):
    """One file operation as the application saw it."""

    t_start: float  # simulated seconds
    t_end: float
    container: str  # e.g. "web-1"
    service: str
    workload: str
    op: str  # "read", "write", ... (scenario.OPS)
    path: str
    storage: str  # one of scenario.STORAGE_CHOICES
    nbytes: int  # bytes read or written by the operation itself
    outcome: str  # "ok" or the errno name, e.g. "EROFS"
    copied_up: bool  # this operation triggered an overlay copy-up
    copy_up_bytes: int
    layers_visited: int  # layer directories a cold lookup consulted (0 when cached)
    lost_updates: int  # updates by others that this read-modify-write overwrote
    torn: bool  # this write or append was damaged by a concurrent writer
    stale: bool  # this read was served from a cache older than the latest write
    lock_wait_s: float  # for "lock" rows: time spent waiting for the lock (else 0)


class EventRecord(NamedTuple):
    """A lifecycle event (``docker run``, ``stop``, ``start``, ``rm``) and its data effects."""

    t: float
    container: str
    service: str
    action: str  # "run" | "stop" | "start" | "rm" | "end"
    storage: str  # the storage choice whose data the event concerns ("" if none)
    data_lost_bytes: int  # bytes that became unreachable (writable layer on rm, tmpfs on stop)
    orphaned_volumes: int  # anonymous volumes left behind, detached from any container
    orphaned_bytes: int


_IO_DTYPES = {
    "t_start": "float64",
    "t_end": "float64",
    "container": "category",
    "service": "category",
    "workload": "category",
    "op": "category",
    "path": "object",
    "storage": "category",
    "nbytes": "int64",
    "outcome": "category",
    "copied_up": "bool",
    "copy_up_bytes": "int64",
    "layers_visited": "int64",
    "lost_updates": "int64",
    "torn": "bool",
    "stale": "bool",
    "lock_wait_s": "float64",
}


class Recorder:
    """Column buffers for :class:`IoRecord` and :class:`EventRecord` rows."""

    __slots__ = ("_events", "columns", "n")

    def __init__(self) -> None:
        self.columns: tuple[list[object], ...] = tuple([] for _ in IoRecord._fields)
        self._events: list[EventRecord] = []
        self.n = 0

    def io(self, *row: object) -> None:
        """Append one operation, fields in :class:`IoRecord` order."""
        # One list append per column, no tuple or object per row: the cheapest record.
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)
        self.n += 1

    def event(self, record: EventRecord) -> None:
        """Append one lifecycle event."""
        self._events.append(record)

    def frame(self) -> pd.DataFrame:
        """All operations as a DataFrame, with a ``latency_s`` column, in completion order."""
        data = {
            name: pd.Series(column, dtype=_IO_DTYPES[name])
            for name, column in zip(IoRecord._fields, self.columns, strict=True)
        }
        df = pd.DataFrame(data)
        df["latency_s"] = df["t_end"].to_numpy() - df["t_start"].to_numpy()
        return df

    def events_frame(self) -> pd.DataFrame:
        """All lifecycle events as a DataFrame."""
        return pd.DataFrame.from_records(self._events, columns=EventRecord._fields).astype(
            {"data_lost_bytes": np.int64, "orphaned_volumes": np.int64, "orphaned_bytes": np.int64}
        )
