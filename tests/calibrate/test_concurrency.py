"""Concurrent writers: the counts follow the semantics of locks and O_APPEND."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storsim.calibrate.concurrency import (
    RECORD_BYTES,
    _record,
    count_records,
    run_appenders,
    run_rmw,
)
from storsim.calibrate.context import Context, Engine, Progress
from storsim.calibrate.plan import QUICK
from storsim.calibrate.workspace import Workspace


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    """A context in a fresh work directory (no root needed)."""
    with Workspace.claim(tmp_path / "w", say=lambda _: None) as ws:
        backing = ws.root / "backing"
        backing.mkdir()
        yield Context(
            ws=ws, plan=QUICK, engine=Engine(name="python"), progress=Progress(1),
            backing=backing,
        )  # fmt: skip


def test_records_are_parsed_and_damage_is_counted() -> None:
    """Whole records are found; a damaged slot is torn; a missing record is not found."""
    data = _record(0, 0) + _record(1, 0) + b"x" * RECORD_BYTES + _record(0, 2)
    found, torn = count_records(data)
    assert found == {(0, 0), (1, 0), (0, 2)}
    assert torn == 1
    assert count_records(_record(3, 7)[:-1]) == (set(), 1)


def test_one_writer_loses_no_update(ctx: Context) -> None:
    """A single read-modify-write process finds every update it made."""
    lost, times, waits = run_rmw(ctx, ctx.backing / "r", 1, False, 500, 4, seed=1)
    assert lost == 0
    assert len(times) == 500
    assert waits == []


def test_flock_loses_no_update(ctx: Context) -> None:
    """With flock(LOCK_EX) around each cycle, four racing writers lose nothing."""
    lost, times, waits = run_rmw(ctx, ctx.backing / "r", 4, True, 1000, 2, seed=2)
    assert lost == 0
    assert len(times) == len(waits) == 4000


def test_unlocked_writers_never_gain_updates(ctx: Context) -> None:
    """Unlocked racing writers may lose updates, never invent them."""
    lost, _, _ = run_rmw(ctx, ctx.backing / "r", 4, False, 2000, 1, seed=3)
    assert 0 <= lost < 8000


def test_o_append_overwrites_nothing(ctx: Context) -> None:
    """O_APPEND appends of four processes keep every record whole on a local file system."""
    overwritten, torn, times = run_appenders(ctx, ctx.backing / "log", 4, "o_append", 500)
    assert (overwritten, torn) == (0, 0)
    assert len(times) == 2000


def test_lseek_appends_lose_whole_records_only(ctx: Context) -> None:
    """lseek(SEEK_END)+write races overwrite whole records: none torn, the file is
    exactly the surviving records."""
    path = ctx.backing / "log"
    overwritten, torn, _ = run_appenders(ctx, path, 4, "lseek_write", 1000)
    assert torn == 0
    assert 0 <= overwritten < 4000
    assert path.stat().st_size == (4000 - overwritten) * RECORD_BYTES
