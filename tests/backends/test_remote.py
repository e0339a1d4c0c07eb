"""Distributed binds (RemoteBackend): round trips, client caches and the file version a
read was served at, timed exactly against the ``nas`` server of conftest.py (1 s round
trip, 1/2 s per request, 128 KiB moved in 1 s on the link and 1 s at the server)."""

from __future__ import annotations

import dataclasses
from typing import Any

from storsim.backends import Attachment
from storsim.backends.remote import RemoteBackend
from storsim.fs import PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from tests.backends.conftest import make_ctx, run

STAT, READ, WRITE = (OP_TABLE[op].cost for op in ("stat", "read", "write"))
KEPT_OPEN = dataclasses.replace(READ, reopens=False)  # keep_open: true
OK = object()
META = 1.5  # a GETATTR: round trip, server work
CHUNK_READ = 3.5  # a 128 KiB READ: round trip, server work and bytes, link bytes
CPU_READ = 1.625  # syscall, page-cache hit, 4 KiB copy


def _client(ctx: SimContext, fs: PlainFS) -> RemoteBackend:
    return RemoteBackend(ctx, Attachment(fs=fs, key=("remote", "nas:/x"), server="nas"))


def test_close_to_open_revalidates_at_every_read(ctx: SimContext) -> None:
    """Each read that opens the file asks the server for attributes first; the first
    also fetches the data, the second finds it cached; both serve version 0."""
    nas = _client(ctx, PlainFS())
    log = run(
        ctx,
        {
            "app": [
                lambda: nas.charge(READ, "/f", OK, 4096, 0),
                lambda: nas.charge(READ, "/f", OK, 4096, 0),
            ]
        },
    )
    assert log == [
        ("app", META + CHUNK_READ + CPU_READ, 0),
        ("app", META + CHUNK_READ + CPU_READ + META + CPU_READ, 0),
    ]


def test_a_file_kept_open_is_read_stale_from_the_client_cache(ctx: SimContext) -> None:
    """After another client commits, a read of a file kept open within the attribute
    timeout is served from cache at the old version (stale); reopening fetches the new."""
    fs = PlainFS()
    nas = _client(ctx, fs)
    key = (id(fs), "/f")

    def other_client_commits() -> float:
        ctx.tracker.commit(key, 0, 4096, None)
        return 0.0

    log = run(
        ctx,
        {
            "app": [
                lambda: nas.charge(KEPT_OPEN, "/f", OK, 4096, 0),
                other_client_commits,
                lambda: nas.charge(KEPT_OPEN, "/f", OK, 4096, 0),
                lambda: nas.charge(READ, "/f", OK, 4096, 0),
            ]
        },
    )
    first = META + CHUNK_READ + CPU_READ  # attributes not cached yet: fetched once
    assert log == [
        ("app", first, 0),
        ("app", first, None),
        ("app", first + CPU_READ, 0),  # stale: version 1 is committed
        ("app", first + CPU_READ + META + CHUNK_READ + CPU_READ, 1),
    ]
    assert ctx.tracker.version(key) == 1


def test_own_commits_are_what_the_client_caches(ctx: SimContext) -> None:
    """A write costs its open's revalidation, its upload and its syscall, then (apart, as
    the operation path runs it after accounting the write) its COMMIT at close; once it
    has committed, the client's own read of the file kept open serves the committed
    version (told by ``committed``), not the version it had cached before."""
    fs = PlainFS()
    nas = _client(ctx, fs)
    key = (id(fs), "/f")

    def commit() -> float:
        ctx.tracker.commit(key, 0, 4096, None)
        nas.committed("/f", ctx.tracker.version(key))
        return 0.0

    def close() -> Any:
        closing = nas.close(WRITE, "/f", OK)
        assert closing is not None  # an unstable write to commit
        return closing

    log = run(
        ctx,
        {
            "app": [
                lambda: nas.charge(KEPT_OPEN, "/f", OK, 4096, 0),
                lambda: nas.charge(WRITE, "/f", OK, 4096, 0),
                commit,
                close,
                lambda: nas.charge(STAT, "/f", OK, 0, 0),  # the write dropped the attributes
                lambda: nas.charge(KEPT_OPEN, "/f", OK, 4096, 0),
            ]
        },
    )
    read = META + CHUNK_READ + CPU_READ
    # the open's GETATTR (close-to-open [K9]); the UNSTABLE WRITE: round trip, 4 KiB up
    # the link (1/32), server work and bytes (1/2 + 1/32); syscall; then the COMMIT at
    # close [X17]
    write = read + META + 1.0 + 0.03125 + 0.5 + 0.03125 + 0.125
    closed = write + META
    stat = closed + META + 0.125
    assert log == [
        ("app", read, 0),
        ("app", write, None),
        ("app", write, None),
        ("app", closed, None),
        ("app", stat, None),
        ("app", stat + CHUNK_READ + CPU_READ, 1),  # attributes fresh: no GETATTR
    ]
    assert nas.close(WRITE, "/f", OK) is None  # committed: nothing left to send


def test_nlm_locks_are_round_trips_and_revalidate(ctx: SimContext) -> None:
    """With the server's lock manager, a lock costs a round trip and drops the cached
    attributes, so the next stat asks the server again."""
    nas = _client(ctx, PlainFS())
    assert nas.lock_semantics == "nlm"
    log = run(
        ctx,
        {
            "app": [
                lambda: nas.charge(STAT, "/f", OK, 0, 0),
                lambda: nas.charge(STAT, "/f", OK, 0, 0),  # attributes cached: a syscall
                nas.lock_cost,
                lambda: (nas.locked("/f"), 0.0)[1],
                lambda: nas.charge(STAT, "/f", OK, 0, 0),
            ]
        },
    )
    times = [t for _, t, _ in log]
    assert times == [1.625, 1.75, 3.25, 3.25, 4.875]


def test_locks_emulated_on_the_client_cost_a_syscall() -> None:
    """With ``locks: local`` (NFS nolock) a lock is a syscall and revalidates nothing."""
    ctx = make_ctx(locks="local")
    nas = _client(ctx, PlainFS())
    log = run(
        ctx,
        {
            "app": [
                lambda: nas.charge(STAT, "/f", OK, 0, 0),
                nas.lock_cost,
                lambda: (nas.locked("/f"), 0.0)[1],
                lambda: nas.charge(STAT, "/f", OK, 0, 0),  # still cached
            ]
        },
    )
    assert [t for _, t, _ in log] == [1.625, 1.75, 1.75, 1.875]


def test_a_failed_operation_asks_for_attributes_unless_cached(ctx: SimContext) -> None:
    """A lookup that fails costs a GETATTR (no attributes cached) and the syscall."""
    nas = _client(ctx, PlainFS())
    assert run(ctx, {"app": [lambda: nas.charge(READ, "/f", None, 4096, 0)]}) == [
        ("app", META + 0.125, None)
    ]


def test_the_profile_refusals_reach_the_mount() -> None:
    """What the server's profile refuses is what the backend tells its mount."""
    ctx = make_ctx(unsupported_ops=frozenset({"link"}), unsupported_errno="EPERM")
    nas = _client(ctx, PlainFS())
    assert (nas.unsupported, nas.unsupported_errno) == (frozenset({"link"}), "EPERM")
