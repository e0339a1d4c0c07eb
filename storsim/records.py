"""Records: one row per simulated file operation, and one per lifecycle event.

Like a flight recorder, the recorder only writes down what happened; all judgement is
left to :mod:`storsim.stats`. An operation is recorded by keyword (:meth:`Recorder.op`,
whose signature is the one definition of what a record holds) and kept as one plain
tuple appended to a list (the cheapest record Python has: this is paid once per
simulated operation); every ``chunk_rows``
rows the list is turned into compact numpy columns, strings as integer codes. A
recorder that keeps its rows turns the chunks into one pandas DataFrame at the end
(:meth:`Recorder.frame`); one given a ``sink`` hands each chunk to it and forgets it,
so its memory does not grow with the number of operations (the streaming statistics
of :class:`storsim.stats.StreamingSummary` are such a sink).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple, get_args, get_origin

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "CATEGORICAL",
    "CHUNK_ROWS",
    "COLUMNS",
    "OP_FIELDS",
    "Chunk",
    "Code",
    "EventRecord",
    "FRAME_COLUMNS",
    "FRAME_NAMES",
    "Recorder",
    "Source",
]

Code = Annotated[int, np.int32, "code"]
"""A string's integer code in a recorder's string table (:meth:`Recorder.code`): an
``int`` kept as ``int32``."""

Source = Annotated[int, np.int32, "source"]
"""One workload in one container (:meth:`Recorder.source`): stands for the container,
service and workload names of an operation record."""


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
    # for "run": seconds from `docker run` until the container's workloads start (Docker
    # copying image content into new empty volumes), and the bytes it copied
    startup_s: float = 0.0
    copy_bytes: int = 0


#: Rows a recorder buffers as tuples before turning them into a chunk of columns: large
#: enough that numpy's per-call cost vanishes, small enough to bound the buffer (~10 MB).
CHUNK_ROWS = 65_536

Chunk = dict[str, npt.NDArray[Any]]
"""Columns of consecutive rows: the :data:`COLUMNS` of the operation table, strings as
codes (``path`` as objects)."""


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

    def code(self, value: str) -> Code:
        """The integer code of a string (registered on first use)."""
        c = self._code.get(value)
        if c is None:
            c = self._code[value] = len(self._code)
        return c

    def source(self, container: str, service: str, workload: str) -> Source:
        """The code that stands for one workload in one container in :meth:`op` records."""
        self._sources.append((self.code(container), self.code(service), self.code(workload)))
        return len(self._sources) - 1

    # The definition of an operation record: its fields (OP_FIELDS, in this order), their
    # types (which give the columns' dtypes, _DTYPE_OF) and defaults. Every operation is
    # recorded through it, by keyword; the row it keeps is a plain tuple of the same
    # fields in the same order (tests/test_records.py checks the two agree): a
    # keyword call costs about 0.1 us more than a positional tuple, a NamedTuple built by
    # keyword about 1 us more (more than 5 % of a simulated lookup).
    def op(
        self,
        *,
        t_start: float,  # simulated seconds
        t_end: float,
        source: Source,  # the container, service and workload (source())
        op: Code,  # "read", "write", ... (names.OPS) or "lock"
        path: str,  # the path the application named
        storage: Code,  # one of names.STORAGES
        nbytes: int,  # bytes read or written by the operation itself
        outcome: Code,  # "ok" or the errno name, e.g. "EROFS"
        copied_up: bool = False,  # this operation triggered an overlay copy-up
        copy_up_bytes: int = 0,
        layers_visited: int = 0,  # layer directories a cold lookup consulted (0 when cached)
        lost_updates: int = 0,  # updates by others that this read-modify-write overwrote
        lost_records: int = 0,  # others' appended records this append overwrote whole
        torn: bool = False,  # this write or append damaged part of a concurrent one's record
        stale: bool = False,  # this read was served from a cache older than the latest write
        lock_wait_s: float = 0.0,  # for "lock" records: time spent waiting for the lock
    ) -> None:
        """Record one file operation (strings as codes: :meth:`code`, :meth:`source`)."""
        rows = self._rows
        # fmt: off
        rows.append((
            t_start, t_end, source, op, path, storage, nbytes, outcome, copied_up,
            copy_up_bytes, layers_visited, lost_updates, lost_records, torn, stale, lock_wait_s,
        ))
        # fmt: on
        if len(rows) >= self.chunk_rows:
            self.flush()

    def io(self, row: tuple[Any, ...]) -> None:
        """Record one file operation given as a row: the values of :data:`OP_FIELDS` in
        their order (what :meth:`op` keeps; for producers of many synthetic rows)."""
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
        count = len(rows)
        for name, values in zip(OP_FIELDS, columns, strict=True):
            # fromiter: no search for the shape and type of a nested sequence, as
            # np.array makes (a third less time per row here, 8,192-row chunks)
            chunk[name] = np.fromiter(values, dtype=_DTYPES[name], count=count)
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
        """All kept operations as a DataFrame, in completion order: the
        :data:`FRAME_COLUMNS` (the :data:`COLUMNS`, times named with their unit; strings
        as categoricals), then ``latency_s``. Empty (with every column) when the rows
        went to a sink."""
        self.flush()
        strings = np.array([*self.strings, ""], dtype=object)
        data: dict[str, Any] = {}
        for name in COLUMNS:
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
        df = pd.DataFrame(data).rename(columns=FRAME_NAMES)
        df["latency_s"] = df["t_end_s"].to_numpy() - df["t_start_s"].to_numpy()
        return df

    def events_frame(self) -> pd.DataFrame:
        """All lifecycle events as a DataFrame (the time as ``t_s``, in seconds)."""
        return (
            pd.DataFrame.from_records(self._events, columns=EventRecord._fields)
            .astype(
                {
                    "data_lost_bytes": np.int64,
                    "orphaned_volumes": np.int64,
                    "orphaned_bytes": np.int64,
                    "startup_s": np.float64,
                    "copy_bytes": np.int64,
                }
            )
            .rename(columns={"t": "t_s"})
        )


# What an operation record holds, read off its one definition (Recorder.op) once.
_HINTS = typing.get_type_hints(Recorder.op, include_extras=True)
_DTYPE_OF: dict[Any, Any] = {float: np.float64, int: np.int64, bool: np.bool_, str: object}

OP_FIELDS: tuple[str, ...] = tuple(inspect.signature(Recorder.op).parameters)[1:]
"""The fields of an operation record, in the order of a row (:meth:`Recorder.op`)."""

_DTYPES: dict[str, Any] = {
    name: get_args(hint)[1] if get_origin(hint) is Annotated else _DTYPE_OF[hint]
    for name, hint in ((name, _HINTS[name]) for name in OP_FIELDS)
}

COLUMNS: tuple[str, ...] = tuple(
    column
    for name in OP_FIELDS
    for column in (("container", "service", "workload") if _HINTS[name] == Source else (name,))
)
"""The columns of the operation table (:meth:`Recorder.frame`, :data:`Chunk`): the record's
fields, with the container, service and workload names in place of the source."""

#: The operation table's columns as :meth:`Recorder.frame` names them: a time with its
#: unit, seconds (``t_start_s`` beside ``latency_s``; the summaries give ``*_ms``).
FRAME_NAMES: dict[str, str] = {"t_start": "t_start_s", "t_end": "t_end_s"}

FRAME_COLUMNS: tuple[str, ...] = tuple(FRAME_NAMES.get(c, c) for c in COLUMNS)
"""The columns of :meth:`Recorder.frame`, before its ``latency_s``."""

CATEGORICAL: tuple[str, ...] = tuple(
    column for column in COLUMNS if column not in _HINTS or _HINTS[column] == Code
)
"""Columns whose values are strings, stored as codes into :attr:`Recorder.strings`."""
