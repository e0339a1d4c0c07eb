"""The operation record: one definition (Recorder.op) for the rows, the chunks and the frame."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from storsim.records import CATEGORICAL, COLUMNS, FRAME_COLUMNS, OP_FIELDS, Recorder


def _recorder_with_one_op(**changes: object) -> Recorder:
    rec = Recorder()
    fields: dict[str, object] = {
        "t_start": 1.0,
        "t_end": 1.5,
        "source": rec.source("web-1", "web", "w"),
        "op": rec.code("write"),
        "path": "/data/x",
        "storage": rec.code("volume"),
        "nbytes": 4096,
        "outcome": rec.code("ok"),
    }
    fields.update(changes)
    rec.op(**fields)  # type: ignore[arg-type]
    return rec


def test_a_row_holds_the_fields_in_the_order_of_the_definition() -> None:
    """The tuple Recorder.op keeps lists its keyword arguments in signature order."""
    rec = Recorder()
    values = {name: f"<{name}>" for name in OP_FIELDS}
    rec.op(**values)  # type: ignore[arg-type]
    assert rec._rows == [tuple(values[name] for name in OP_FIELDS)]


def test_optional_fields_default_to_nothing_happened() -> None:
    """Copy-up, conflict and lock fields default to False, 0 and 0.0."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(Recorder.op).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert defaults == {
        "copied_up": False,
        "copy_up_bytes": 0,
        "layers_visited": 0,
        "lost_updates": 0,
        "lost_records": 0,
        "torn": False,
        "stale": False,
        "lock_wait_s": 0.0,
    }


def test_frame_columns_and_dtypes_follow_the_definition() -> None:
    """The frame has the record's columns (source expanded to three names), strings as
    categoricals, and each other column in the dtype its type gives."""
    frame = _recorder_with_one_op(copied_up=True, copy_up_bytes=8, lock_wait_s=0.25).frame()
    assert tuple(frame.columns) == (*FRAME_COLUMNS, "latency_s")
    # a time's column names its unit (the record's field does not: Recorder.op(t_start=))
    assert FRAME_COLUMNS[:2] == ("t_start_s", "t_end_s")
    assert (
        tuple(c.removesuffix("_s") if c in ("t_start_s", "t_end_s") else c for c in FRAME_COLUMNS)
        == COLUMNS
    )
    assert CATEGORICAL == ("container", "service", "workload", "op", "storage", "outcome")
    for column in CATEGORICAL:
        assert frame[column].dtype == "category"
    assert frame["t_start_s"].dtype == np.float64
    assert frame["nbytes"].dtype == np.int64
    assert frame["copied_up"].dtype == np.bool_
    assert frame["path"].dtype == object
    assert frame.iloc[0][
        ["container", "op", "storage", "copy_up_bytes", "lock_wait_s"]
    ].tolist() == [
        "web-1",
        "write",
        "volume",
        8,
        0.25,
    ]
    assert frame["latency_s"].iloc[0] == pytest.approx(0.5)


def test_a_misnamed_field_is_refused() -> None:
    """A keyword that is not a field of the record raises TypeError at once."""
    with pytest.raises(TypeError, match="latency"):
        _recorder_with_one_op(latency=1.0)
