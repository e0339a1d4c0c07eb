"""Records: one row per simulated file operation, and one per lifecycle event.

Like a flight recorder, the recorder only writes down what happened; all judgement is
left to :mod:`storsim.stats`. A row is one plain tuple appended to a list (the cheapest
record Python has: this is paid once per simulated operation); every ``chunk_rows``
rows the list is turned into compact numpy columns, strings as integer codes. A
recorder that keeps its rows turns the chunks into one pandas DataFrame at the end
(:meth:`Recorder.frame`); one given a ``sink`` hands each chunk to it and forgets it,
so its memory does not grow with the number of operations (the streaming statistics
of :class:`storsim.stats.StreamingSummary` are such a sink).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["CHUNK_ROWS", "Chunk", "EventRecord", "IoRecord", "Recorder"]


class IoRecord(NamedTuple):
    """One file operation as the application saw it (a row of :meth:`Recorder.frame`)."""

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


#: Columns whose values are strings, stored as codes into :attr:`Recorder.strings`.
CATEGORICAL = ("container", "service", "workload", "op", "storage", "outcome")

# The row tuple given to Recorder.io: IoRecord's fields, with one `source` code in place
# of container, service and workload (one workload in one container is one source).
_ROW = (
    "t_start", "t_end", "source", "op", "path", "storage", "nbytes", "outcome",
    "copied_up", "copy_up_bytes", "layers_visited", "lost_updates", "torn", "stale",
    "lock_wait_s",
)  # fmt: skip
_DTYPES: dict[str, Any] = {
    "t_start": np.float64,
    "t_end": np.float64,
    "source": np.int32,
    "op": np.int32,
    "storage": np.int32,
    "nbytes": np.int64,
    "outcome": np.int32,
    "copied_up": np.bool_,
    "copy_up_bytes": np.int64,
    "layers_visited": np.int64,
    "lost_updates": np.int64,
    "torn": np.bool_,
    "stale": np.bool_,
    "lock_wait_s": np.float64,
}

#: Rows a recorder buffers as tuples before turning them into a chunk of columns: large
#: enough that numpy's per-call cost vanishes, small enough to bound the buffer (~10 MB).
CHUNK_ROWS = 65_536

Chunk = dict[str, npt.NDArray[Any]]
"""Columns of consecutive rows: IoRecord's fields; strings as codes (``path`` as objects)."""


class Recorder:
    """Operation rows in chunks of numpy columns, and lifecycle events in a list.

    Args:
        sink: if given, called with each chunk of rows (a :data:`Chunk`) and the
            recorder's string table, after which the rows are dropped; :meth:`frame` is
            then empty. If None, every row is kept for :meth:`frame`.
        chunk_rows: rows buffered as tuples before they become numpy columns
            (default :data:`CHUNK_ROWS`).

    Attributes:
        n: operations recorded so far.
        strings: the string table that the categorical codes index (append-only).
    """

    __slots__ = ("_chunks", "_code", "_events", "_rows", "_sink", "_sources", "chunk_rows", "n")

    def __init__(
        self,
        sink: Callable[[Chunk, list[str]], None] | None = None,
        *,
        chunk_rows: int | None = None,
    ) -> None:
        chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1 (got {chunk_rows!r})")
        self.chunk_rows = chunk_rows
        self._sink = sink
        self._rows: list[tuple[Any, ...]] = []
        self._chunks: list[Chunk] = []
        self._code: dict[str, int] = {}
        self._sources: list[tuple[int, int, int]] = []  # source -> container, service, workload
        self._events: list[EventRecord] = []
        self.n = 0

    @property
    def strings(self) -> list[str]:
        """The string of each code, in code order."""
        return list(self._code)

    @property
    def recorded(self) -> int:
        """Operations recorded so far (``n`` counts only those already in chunks)."""
        return self.n + len(self._rows)

    @property
    def keeps_rows(self) -> bool:
        """Whether :meth:`frame` will hold every operation (no sink)."""
        return self._sink is None

    def code(self, value: str) -> int:
        """The integer code of a string (registered on first use)."""
        c = self._code.get(value)
        if c is None:
            c = self._code[value] = len(self._code)
        return c

    def source(self, container: str, service: str, workload: str) -> int:
        """The code that stands for one workload in one container in :meth:`io` rows."""
        self._sources.append((self.code(container), self.code(service), self.code(workload)))
        return len(self._sources) - 1

    def io(self, row: tuple[Any, ...]) -> None:
        """Append one operation.

        Args:
            row: ``(t_start, t_end, source, op, path, storage, nbytes, outcome,
                copied_up, copy_up_bytes, layers_visited, lost_updates, torn, stale,
                lock_wait_s)``: :class:`IoRecord`'s fields, with the code from
                :meth:`source` in place of container, service and workload, and the
                codes (:meth:`code`) of the op, storage and outcome strings.
        """
        rows = self._rows
        rows.append(row)
        if len(rows) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Turn the buffered rows into a chunk of columns (kept, or given to the sink)."""
        rows = self._rows
        if not rows:
            return
        self.n += len(rows)
        columns = list(zip(*rows, strict=True))
        self._rows = []
        chunk: Chunk = {}
        for name, values in zip(_ROW, columns, strict=True):
            if name == "path":
                chunk[name] = np.array(values, dtype=object)
            else:
                chunk[name] = np.array(values, dtype=_DTYPES[name])
        who = np.array(self._sources, dtype=np.int32).reshape(-1, 3)[chunk.pop("source")]
        chunk["container"], chunk["service"], chunk["workload"] = who.T
        if self._sink is not None:
            self._sink(chunk, self.strings)
        else:
            self._chunks.append(chunk)

    def event(self, record: EventRecord) -> None:
        """Append one lifecycle event."""
        self._events.append(record)

    def frame(self) -> pd.DataFrame:
        """All kept operations as a DataFrame, with a ``latency_s`` column, in completion
        order. Empty (with every column) when the rows went to a sink."""
        self.flush()
        strings = np.array([*self.strings, ""], dtype=object)
        data: dict[str, Any] = {}
        for name in IoRecord._fields:
            parts = [chunk[name] for chunk in self._chunks]
            if name == "path":
                values = np.concatenate(parts) if parts else np.zeros(0, dtype=object)
                data[name] = pd.Series(values, dtype="object")
            elif name in CATEGORICAL:
                codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
                used, inverse = np.unique(codes, return_inverse=True)
                # categories sorted by name, as pandas makes them from strings
                names = strings[used]
                order = np.argsort(names.astype(str), kind="stable")
                rank = np.empty_like(order)
                rank[order] = np.arange(len(order))
                data[name] = pd.Categorical.from_codes(
                    rank[inverse].astype(np.int32) if len(codes) else codes,
                    categories=pd.Index(names[order].tolist()),  # dtype as pandas infers it
                )
            else:
                dtype = _DTYPES[name]
                data[name] = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        df = pd.DataFrame(data)
        df["latency_s"] = df["t_end"].to_numpy() - df["t_start"].to_numpy()
        return df

    def events_frame(self) -> pd.DataFrame:
        """All lifecycle events as a DataFrame."""
        return pd.DataFrame.from_records(self._events, columns=EventRecord._fields).astype(
            {"data_lost_bytes": np.int64, "orphaned_volumes": np.int64, "orphaned_bytes": np.int64}
        )
