"""One operation end to end through storsim/run/operation.py, on the instant double:
decided by the file system, charged once by the backend of the storage that holds the
path, accounted, and recorded."""

from __future__ import annotations

import functools
from typing import Any

from storsim.backends.instant import InstantBackend
from storsim.names import OPS
from storsim.run.conflicts import ReadAccounting, WriteAccounting
from storsim.run.ops import OP_TABLE
from tests.run.conftest import INSTANT, container, iterate, perform, scenario

BIG = 64 * 2**20


def _rows(world: Any) -> list[dict[str, Any]]:
    frame = world.ctx.recorder.frame()
    return frame.drop(columns=["container", "service", "workload"]).to_dict("records")


def test_every_operation_has_a_row() -> None:
    """The op table has one row per operation of the scenario format, in its order."""
    assert tuple(OP_TABLE) == OPS
    assert OP_TABLE["read"].account is ReadAccounting
    assert OP_TABLE["write"].account is WriteAccounting
    assert [op for op, row in OP_TABLE.items() if row.sized] == ["read", "write", "append"]


def test_a_write_to_an_image_file_copies_it_up() -> None:
    """A 4 KiB write at the start of a 64 MiB image file: the overlay copies it up, the
    root's backend is charged once with the write's bytes, and the record says so."""
    world, run, w = container(scenario(ops=[{"op": "write", "size": "4 KiB", "offset": "start"}]))
    assert perform(world, w, "/data/big.db")
    assert run.backends[None].calls == [("charge", "write", "/data/big.db", 4096, 0, True)]
    [row] = _rows(world)
    assert row == {
        "t_start_s": 0.0,
        "t_end_s": 0.0,
        "op": "write",
        "path": "/data/big.db",
        "storage": "writable_layer",
        "nbytes": 4096,
        "outcome": "ok",
        "copied_up": True,
        "copy_up_bytes": BIG,
        "layers_visited": 1,
        "lost_updates": 0,
        "lost_records": 0,
        "torn": False,
        "stale": False,
        "lock_wait_s": 0.0,
        "latency_s": 0.0,
    }


def test_a_write_at_the_end_takes_its_offset_from_its_open() -> None:
    """With no lock, a write placed at the end is sized by its own open: it lands at the
    file's size, and nothing else is asked of the file system or the backend."""
    world, run, w = container(scenario(ops=[{"op": "write", "size": "4 KiB", "offset": "end"}]))
    perform(world, w, "/data/big.db")
    assert run.backends[None].calls == [("charge", "write", "/data/big.db", 4096, BIG, True)]


def test_a_failed_operation_is_charged_as_a_failure_and_recorded_with_its_errno() -> None:
    """rmdir of a missing directory: the backend is charged a failure, and the record
    carries ENOENT and, for a failure on the root, the writable layer."""
    world, run, w = container(scenario(ops=[{"op": "rmdir"}]))
    perform(world, w, "/nope")
    assert run.backends[None].calls == [("charge", "rmdir", "/nope", 0, 0, False)]
    [row] = _rows(world)
    assert (row["outcome"], row["storage"], row["path"]) == ("ENOENT", "writable_layer", "/nope")


def test_a_symlink_is_charged_and_recorded_on_the_new_link() -> None:
    """symlink(target, to): the link is made on the volume, so the volume's backend is
    charged (at its inner path) and the record names the link."""
    world, run, w = container(scenario(ops=[{"op": "symlink", "to": "/srv/link"}]))
    perform(world, w, "/etc/app.conf")
    assert run.backends[None].calls == []
    assert run.backends["/srv"].calls == [("charge", "symlink", "/link", 0, 0, True)]
    [row] = _rows(world)
    assert (row["path"], row["storage"], row["outcome"]) == ("/srv/link", "volume", "ok")


def test_a_setxattr_on_an_image_file_copies_it_up_and_getxattr_reads_it_back() -> None:
    """setxattr on a lower file changes its inode, so the overlay copies it up first
    (ovl_setxattr calls ovl_copy_up); the value's size is the record's bytes, and a
    getxattr of the same name then succeeds while an unset name fails ENODATA."""
    steps = [
        {"op": "setxattr", "xattr": "user.tag", "size": "100 B"},
        {"op": "getxattr", "xattr": "user.tag"},
        {"op": "getxattr", "xattr": "user.other"},
    ]
    world, _, w = container(scenario(ops=steps))
    for step in range(3):
        perform(world, w, "/data/big.db", step)
    rows = _rows(world)
    assert [(r["op"], r["outcome"], r["nbytes"]) for r in rows] == [
        ("setxattr", "ok", 100),
        ("getxattr", "ok", 0),
        ("getxattr", "ENODATA", 0),
    ]
    assert rows[0]["copied_up"]
    assert rows[0]["storage"] == "writable_layer"


def test_mknod_makes_a_fifo_once_and_then_fails_eexist() -> None:
    """mknod of a FIFO on the volume is charged there as a metadata update; a second
    mknod of the same name fails EEXIST, as mknod(2) does."""
    world, run, w = container(scenario(ops=[{"op": "mknod", "node": "fifo"}]))
    perform(world, w, "/srv/pipe")
    perform(world, w, "/srv/pipe")
    assert run.backends["/srv"].calls == [
        ("charge", "mknod", "/pipe", 0, 0, True),
        ("charge", "mknod", "/pipe", 0, 0, False),
    ]
    assert [(r["op"], r["outcome"], r["storage"]) for r in _rows(world)] == [
        ("mknod", "ok", "volume"),
        ("mknod", "EEXIST", "volume"),
    ]


RMW = [{"op": "read", "size": "4 KiB", "offset": "start"}, {"op": "write", "offset": "same"}]


def test_a_read_modify_write_on_separate_clients_reports_its_commit() -> None:
    """On storage whose containers are separate clients, the write's commit is reported
    to the backend with the file's new version; the record loses no update."""
    separate = dict(INSTANT, volume=functools.partial(InstantBackend, separate_clients=True))
    world, run, w = container(scenario(path="/srv/counters.db", ops=RMW), separate)
    iterate(world, w)
    assert run.backends["/srv"].calls == [
        ("charge", "read", "/counters.db", 4096, 0, True),
        ("charge", "write", "/counters.db", 4096, 0, True),
        ("committed", "/counters.db", 1),
    ]
    assert [r["lost_updates"] for r in _rows(world)] == [0, 0]
    assert world.ctx.tracker.table()["value"] == [1]


def test_a_locked_iteration_takes_the_lock_before_its_first_byte_range() -> None:
    """With flock, the lock is taken (a lock record) before the read and released after
    the write; on one kernel no commit is reported to the backend."""
    world, run, w = container(scenario(path="/srv/counters.db", ops=RMW, lock="flock"))
    iterate(world, w)
    assert run.backends["/srv"].calls == [
        ("lock",),
        ("locked", "/counters.db"),
        ("charge", "read", "/counters.db", 4096, 0, True),
        ("charge", "write", "/counters.db", 4096, 0, True),
        ("lock",),  # the unlock call
    ]
    assert [(r["op"], r["outcome"]) for r in _rows(world)] == [
        ("lock", "ok"),
        ("read", "ok"),
        ("write", "ok"),
    ]


def test_a_mount_that_refuses_locks_abandons_the_iteration() -> None:
    """When the storage refuses locks, the lock record says ENOLCK and nothing is read."""
    refusing = dict(INSTANT, volume=functools.partial(InstantBackend, lock_semantics="none"))
    world, run, w = container(scenario(path="/srv/counters.db", ops=RMW, lock="fcntl"), refusing)
    iterate(world, w)
    assert run.backends["/srv"].calls == [("lock",)]
    assert [(r["op"], r["outcome"]) for r in _rows(world)] == [("lock", "ENOLCK")]
