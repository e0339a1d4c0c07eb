"""A host on constant parameters for exact backend timings, and a runner that logs them.

Every cost is a power of two, so that each expected instant in these tests is exact:
the disk serves one request at a time in 1 s plus its bytes (one 128 KiB page-cache
chunk reads in 1 s more, 4 KiB writes in 1/16 s more); a syscall costs 1/8 s, a
metadata update 1/4 s, a page-cache hit 1/2 s, a 4 KiB memory copy 1 s and a layer
consulted 1/16 s; an operation through the overlay 1/32 s more, a readdir 1/64 s per entry
and 1/4 s per merged layer, an extending write 1/128 s per 4 KiB page added, a call the
file system answers without work (tmpfs's fsync) 1/16 s. The overlay's per-component
costs (first lookup, cached walk, merge per entry) are 0 here: the tests of those rules
set them. The remote
server ``nas`` answers every class of request in 1/2 s
after a 1 s round trip, and moves one 128 KiB chunk in 1 s on the link and 1 s at the
server; its client sends NFSv3's requests for each operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import simpy

from storsim.backends import Cost, spend
from storsim.devices import Cpu, Disk, PageCache, RemoteServer
from storsim.devices.profiles import (
    OP_CLASSES,
    REMOTE_PROFILES,
    DiskParams,
    PageCacheParams,
    RemoteParams,
)
from storsim.records import Recorder
from storsim.run.conflicts import ConflictTracker
from storsim.run.context import Host, SimContext

CHUNK = 128 * 1024


def remote_params(**changes: Any) -> RemoteParams:
    """The ``nas`` server's parameters (NFS-like: close-to-open, data cache, NLM locks)."""
    fields: dict[str, Any] = {
        "protocol": "nfsv3",
        "rtt_s": 1.0,
        "link_bytes_per_s": float(CHUNK),
        "server_queue_depth": 1,
        "server_latency_s": {c: 0.5 for c in OP_CLASSES},
        "server_bytes_per_s": float(CHUNK),
        "attr_cache_min_s": 30.0,
        "attr_cache_max_s": 60.0,
        "data_cache": True,
        "close_to_open": True,
        "unsupported_ops": frozenset(),
        "unsupported_errno": "EOPNOTSUPP",
        "locks": "nlm",
        "service": "fixed",  # constant times: exact logs
        # NFSv3's requests per operation [X17]; a directory's names trusted 30..60 s
        "round_trips": REMOTE_PROFILES["nfs3"].round_trips,
        "dir_cache_min_s": 30.0,
        "dir_cache_max_s": 60.0,
        "listing_cache": True,
        "unstable_writes": True,
        "lookup_before_create": False,
        "open_by_name": False,
        "readdir_entries": 4,  # four names per readdir reply
        "readdir_entry_bytes": 0,  # replies carry no bytes worth timing
    }
    fields.update(changes)
    return RemoteParams(**fields)


def make_ctx(**remote: Any) -> SimContext:
    """A context on the constant host (``remote`` changes the ``nas`` server's params)."""
    env = simpy.Environment()
    rng = np.random.default_rng(0)
    disk = DiskParams(
        read_latency_s=1.0,
        write_latency_s=1.0,
        flush_latency_s=1.0,
        read_bytes_per_s=float(CHUNK),
        write_bytes_per_s=65536.0,
        queue_depth=1,
    )
    host = Host(
        cpu=Cpu(env, 64),  # more cores than jobs: no CPU queueing in these tests
        disk=Disk(env, disk, rng),
        page_cache=PageCache(PageCacheParams(size_bytes=2**20)),
        remotes={"nas": RemoteServer(env, remote_params(**remote), rng, "nas")},
        syscall_s=0.125,
        metadata_s=0.25,
        lookup_per_layer_s=0.0625,
        copy_bytes_per_s=4096.0,
        cache_hit_s=0.5,
        overlay_op_s=0.03125,
        readdir_layer_s=0.25,
        readdir_entry_s=0.015625,
        extend_page_s=0.0078125,
        noop_syscall_s=0.0625,
        inodes_per_read=1,  # each inode its own read (the readahead's test sets more)
        inode_table_bytes=0,  # an inode read: latency only (its test sets a size)
    )
    return SimContext(
        env=env, rng=rng, recorder=Recorder(), host=host, tracker=ConflictTracker(env)
    )


@pytest.fixture
def ctx() -> SimContext:
    """A fresh context on the constant host."""
    return make_ctx()


Charge = Callable[[], Cost]


def operation(
    backend: Any, op: Any, path: str, result: Any, nbytes: int = 0, offset: int = 0
) -> Any:
    """``op`` on a distributed mount as the operation path runs it: its charge, then
    its close's requests (``RemoteBackend.close``); returns the version it served."""
    served = yield from backend.charge(op, path, result, nbytes, offset)
    closing = backend.close(op, path, result)
    if closing is not None:
        yield from closing
    return served


def run(ctx: SimContext, jobs: dict[str, list[Charge]]) -> list[tuple[str, float, Any]]:
    """Start every job at t=0 in order; each spends its charges one after another.

    Returns:
        ``(job, instant, served)`` after each charge, in completion order (``served``:
        what the charge returned, the file version a read was served at).
    """
    env = ctx.env
    log: list[tuple[str, float, Any]] = []

    def job(name: str, charges: list[Charge]) -> Any:
        for charge in charges:
            served = yield from spend(ctx.host.cpu, charge())
            log.append((name, env.now, served))

    for name, charges in jobs.items():
        env.process(job(name, charges))
    env.run()
    return log
