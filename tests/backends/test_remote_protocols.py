"""Round trips per operation, by protocol (issue 10, item 11): what each operation sends
to the ``nas`` server of conftest.py (each request 1 s of round trip and 1/2 s of server
work: 1.5 s; a syscall 1/8 s), timed exactly on constant parameters.

The client sends NFSv3's requests unless a test gives NFSv4's: the Linux client skips the
LOOKUP of an exclusive create and follows an NFSv3 CREATE with a SETATTR ([X17]:
``nfs_lookup``, ``nfs3_proc_create``; RFC 1813 3.3.8), an NFSv4 OPEN names its file and
carries the close-to-open GETATTR, a CLOSE ends it ([X18]: RFC 8881 18.16, 18.2), a
LOOKUP's reply holds the attributes that close-to-open would ask for ([K9]).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import simpy

import storsim
from storsim.backends import Attachment
from storsim.backends.remote import RemoteBackend
from storsim.devices.params import FuseParams
from storsim.devices.profiles import REMOTE_PROFILES
from storsim.fs import Listing, PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from storsim.run.workload import _open_and_close
from storsim.scenario.host import RemoteSpec
from tests.backends.conftest import make_ctx, operation, run

COST = {op: row.cost for op, row in OP_TABLE.items()}
OK = object()  # a successful result (no listing)
REQUEST = 1.5  # one request: round trip and server work
SYSCALL = 0.125
CHUNK_READ = 3.5  # a 128 KiB READ: round trip, server work and bytes, link bytes
CPU_READ = 1.625  # syscall, page-cache hit, 4 KiB copy
NFS4 = {"round_trips": REMOTE_PROFILES["nfs4"].round_trips, "open_by_name": True}
# an iteration's open, then its read of the same file, which closes it (_open_and_close)
OPEN = dataclasses.replace(COST["open"], closes=False)
READ_LAST = dataclasses.replace(COST["read"], reopens=False)


def _client(ctx: SimContext, fs: PlainFS | None = None) -> RemoteBackend:
    return RemoteBackend(
        ctx, Attachment(fs=fs or PlainFS(), key=("remote", "nas:/x"), server="nas")
    )


def _alone(op: str, **remote: Any) -> float:
    """When ``op`` on ``/f``, the first thing a fresh client does, ends."""
    ctx = make_ctx(**remote)
    nas = _client(ctx)
    ((_, end, _),) = run(ctx, {"app": [lambda: operation(nas, COST[op], "/f", OK)]})
    return end


def test_nfs3_operations_send_the_requests_of_the_protocol() -> None:
    """On NFSv3 a create is a CREATE and a SETATTR, no LOOKUP first (exclusive create
    [X17]); mkdir one MKDIR; rename and unlink a LOOKUP of the name, then RENAME or
    REMOVE; a cold stat one LOOKUP, whose reply holds the attributes."""
    assert _alone("create") == 2 * REQUEST + SYSCALL
    assert _alone("mkdir") == REQUEST + SYSCALL
    assert _alone("rename") == 2 * REQUEST + SYSCALL
    assert _alone("unlink") == 2 * REQUEST + SYSCALL
    assert _alone("stat") == REQUEST + SYSCALL
    assert _alone("create") > _alone("stat")


def test_nfs4_create_is_one_open_and_its_close() -> None:
    """On NFSv4.1+ a create is one OPEN (EXCLUSIVE4_1 carries the attributes: no
    SETATTR) and, as the step closes the file, a CLOSE [X18]; mkdir is one CREATE."""
    assert _alone("create", **NFS4) == 2 * REQUEST + SYSCALL
    assert _alone("mkdir", **NFS4) == REQUEST + SYSCALL


def test_nfs3_open_and_read_pay_a_lookup_and_a_read_then_a_getattr() -> None:
    """NFSv3, an open then a read of a file, twice: the first open is a LOOKUP (its
    attributes serve close-to-open), the read one READ; the second open revalidates with
    a GETATTR (the name is cached) and the read is served from the page cache: three
    round trips for two open + read, not the six of one request per step and a
    revalidation per read."""
    ctx = make_ctx()
    nas = _client(ctx)
    open_, read = (
        (lambda: nas.charge(OPEN, "/f", OK, 0, 0)),
        (lambda: operation(nas, READ_LAST, "/f", OK, 4096, 0)),
    )
    first_open = REQUEST + SYSCALL
    first_read = first_open + CHUNK_READ + CPU_READ
    second_open = first_read + REQUEST + SYSCALL
    assert run(ctx, {"app": [open_, read, open_, read]}) == [
        ("app", first_open, None),
        ("app", first_read, 0),
        ("app", second_open, None),
        ("app", second_open + CPU_READ, 0),
    ]


def test_nfs4_open_and_read_pay_open_read_and_close() -> None:
    """NFSv4, an open then a read that closes the file: OPEN, READ, CLOSE; the second
    time OPEN and CLOSE only (the data is cached and the OPEN's GETATTR found it
    unchanged) [X18]."""
    ctx = make_ctx(**NFS4)
    nas = _client(ctx)
    open_, read = (
        (lambda: nas.charge(OPEN, "/f", OK, 0, 0)),
        (lambda: operation(nas, READ_LAST, "/f", OK, 4096, 0)),
    )
    first_open = REQUEST + SYSCALL
    first_read = first_open + CHUNK_READ + REQUEST + CPU_READ
    second_open = first_read + REQUEST + SYSCALL
    assert run(ctx, {"app": [open_, read, open_, read]}) == [
        ("app", first_open, None),
        ("app", first_read, 0),
        ("app", second_open, None),
        ("app", second_open + REQUEST + CPU_READ, 0),
    ]


def test_a_written_file_is_committed_at_close_on_nfs() -> None:
    """An UNSTABLE WRITE reaches server memory only; the close of the written file sends
    the COMMIT (``nfs_file_flush`` [X17]), and an fsync after it has nothing to commit."""
    ctx = make_ctx()
    nas = _client(ctx)
    write = COST["write"]
    fsync = dataclasses.replace(COST["fsync"], reopens=False, closes=False)
    log = run(
        ctx,
        {
            "app": [
                lambda: operation(nas, write, "/f", OK, 4096, 0),
                lambda: operation(nas, fsync, "/f", OK),
            ]
        },
    )
    # LOOKUP; UNSTABLE WRITE (round trip, 4 KiB up the link and at the server: 1/32 s
    # each, server work); syscall; COMMIT at close. The fsync: a syscall.
    wrote = REQUEST + (1.0 + 0.03125 + 0.5 + 0.03125) + SYSCALL + REQUEST
    assert log == [("app", wrote, None), ("app", wrote + SYSCALL, None)]


def test_a_listing_is_cached_while_its_directory_is_unchanged() -> None:
    """readdir of 9 names, 4 per reply: a LOOKUP of the directory and 3 READDIR pages;
    again: the close-to-open GETATTR finds the directory unchanged and the cached
    listing serves; after another client adds a name the GETATTR sees the change and the
    3 pages are read again."""
    ctx = make_ctx()
    fs = PlainFS()
    nas = _client(ctx, fs)
    listing = Listing(names=tuple(f"n{i}" for i in range(9)), layers_visited=1)

    def other_client_creates() -> float:
        ctx.tracker.changed((id(fs), "/d"))
        return 0.0

    def readdir() -> Any:
        return nas.charge(COST["readdir"], "/d", listing, 0, 0)

    first = REQUEST + 3 * REQUEST + SYSCALL
    second = first + REQUEST + SYSCALL
    assert run(ctx, {"app": [readdir, readdir, other_client_creates, readdir]}) == [
        ("app", first, None),
        ("app", second, None),
        ("app", second, None),
        ("app", second + REQUEST + 3 * REQUEST + SYSCALL, None),
    ]


def test_without_a_listing_cache_every_readdir_reads_every_page() -> None:
    """``listing_cache: false`` (SMB, s3fs): the second readdir reads its pages again."""
    ctx = make_ctx(listing_cache=False)
    nas = _client(ctx)
    listing = Listing(names=("a", "b"), layers_visited=1)
    log = run(ctx, {"app": [lambda: nas.charge(COST["readdir"], "/d", listing, 0, 0)] * 2})
    first = REQUEST + REQUEST + SYSCALL
    assert log == [("app", first, None), ("app", first + 2 * REQUEST + SYSCALL, None)]


def test_fuse_kernel_timeouts_come_before_the_daemon_cache() -> None:
    """FUSE: a stat is a LOOKUP to the server and a request to the daemon; within the
    kernel's 1 s entry and attribute timeouts the next stat is a syscall; 3 s later the
    kernel asks the daemon again (one FUSE_LOOKUP, whose reply carries the attributes)
    and the daemon answers from its own 30 s cache without the server [X16]."""
    fuse = FuseParams(
        entry_timeout_s=1.0,
        attr_timeout_s=1.0,
        negative_timeout_s=0.0,
        request_s=0.25,
        keep_cache=False,
    )
    ctx = make_ctx(fuse=fuse, lookup_before_create=True)
    nas = _client(ctx)

    def stat() -> Any:
        return nas.charge(COST["stat"], "/f", OK, 0, 0)

    def later() -> Generator[simpy.Event, Any, None]:
        yield ctx.env.timeout(3.0)

    first = REQUEST + SYSCALL + 0.25
    assert run(ctx, {"app": [stat, stat, later, stat]}) == [
        ("app", first, None),
        ("app", first + SYSCALL, None),
        ("app", first + SYSCALL + 3.0, None),
        ("app", first + SYSCALL + 3.0 + SYSCALL + 0.25, None),
    ]


def test_a_fuse_create_looks_the_new_name_up_first() -> None:
    """FUSE looks a new name up before it creates it (``lookup_before_create``): one
    LOOKUP more than the kernel NFS client's exclusive create."""
    fuse = FuseParams(
        entry_timeout_s=1.0,
        attr_timeout_s=1.0,
        negative_timeout_s=0.0,
        request_s=0.0,
        keep_cache=False,
    )
    assert _alone("create", fuse=fuse, lookup_before_create=True) == 3 * REQUEST + SYSCALL


def test_the_server_latency_of_one_class_is_settable() -> None:
    """``server_latency: {create: ...}`` changes what a CREATE costs, and nothing else."""
    slow = {**{c: 0.5 for c in REMOTE_PROFILES["nfs3"].server_latency_s}, "create": 2.5}
    assert _alone("create", server_latency_s=slow) == 1.0 + 2.5 + REQUEST + SYSCALL
    assert _alone("stat", server_latency_s=slow) == REQUEST + SYSCALL


def test_steps_open_their_file_first_and_close_it_last() -> None:
    """An iteration's first step on a file opens it and its last closes it; a step on
    another file opens and closes its own; with ``keep_open`` none does."""
    steps = [
        SimpleNamespace(cost=COST[op], step=SimpleNamespace(path=path))
        for op, path in (("open", None), ("read", None), ("write", "/o"), ("fsync", None))
    ]
    _open_and_close(steps, keep_open=False)  # type: ignore[arg-type]
    assert [(s.cost.reopens, s.cost.closes) for s in steps] == [
        (True, False),
        (False, False),
        (True, True),
        (False, True),
    ]
    _open_and_close(steps, keep_open=True)  # type: ignore[arg-type]
    assert {(s.cost.reopens, s.cost.closes) for s in steps} == {(False, False)}


def test_remote_spec_overrides_reach_the_parameters() -> None:
    """``round_trips``, ``server_latency``, ``close_to_open`` (NFS ``nocto``) and
    ``data_cache`` on ``host.remotes.NAME`` override the profile's values only."""
    params = RemoteSpec.model_validate(
        {
            "profile": "nfs3",
            "round_trips": {"create": 1, "mknod": ["create", "setattr"]},
            "server_latency": {"create": "5 ms"},
            "close_to_open": False,
            "data_cache": False,
        }
    ).params()
    base = REMOTE_PROFILES["nfs3"]
    assert params.round_trips["create"] == ("create",)
    assert params.round_trips["mknod"] == ("create", "setattr")
    assert params.round_trips["unlink"] == base.round_trips["unlink"]
    assert params.server_latency_s["create"] == pytest.approx(0.005)
    assert params.server_latency_s["meta"] == base.server_latency_s["meta"]
    assert (params.close_to_open, params.data_cache) == (False, False)


def test_fuse_options_apply_to_fuse_profiles_only() -> None:
    """``fuse:`` sets the kernel's timeouts of an sshfs or s3-fuse mount; on NFS it is
    refused, naming the FUSE profiles."""
    spec = RemoteSpec.model_validate({"profile": "sshfs", "fuse": {"entry_timeout": "5 s"}})
    fuse = spec.params().fuse
    assert fuse is not None
    assert fuse.entry_timeout_s == 5.0
    with pytest.raises(ValueError, match="fuse applies to a FUSE profile only"):
        RemoteSpec.model_validate({"profile": "nfs", "fuse": {"entry_timeout": "5 s"}})


_SCENARIO = """
name: special-ops
description: mknod, setxattr and getxattr on one remote mount
seed: 1
duration: 1 s
host:
  remotes:
    nas: {{profile: {profile}}}
images:
  app:
    layers:
      - files: {{/app/x: 1 KiB}}
        dirs: [/data]
sources:
  nas:/export:
    generate: [{{dir: /in, count: 1, size: 1 KiB}}]
services:
  app:
    image: app
    volumes: ["nas:/export:/data"]
    workload:
      - name: fifo
        path: /data/p
        count: 1
        ops: [{{op: mknod}}]
      - name: xattr
        path: /data/in/*
        count: 1
        ops:
          - {{op: setxattr, xattr: user.tag, size: 16 B}}
          - {{op: getxattr, xattr: user.tag}}
"""


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("nfs", {"mknod": "ok", "setxattr": "ok", "getxattr": "ok"}),  # v4.2 [X18]
        ("nfs3", {"mknod": "ok", "setxattr": "EOPNOTSUPP", "getxattr": "EOPNOTSUPP"}),
        ("smb", {"mknod": "EPERM", "setxattr": "ok", "getxattr": "ok"}),  # no sfu [X19]
        ("sshfs", {"mknod": "EPERM", "setxattr": "EOPNOTSUPP", "getxattr": "EOPNOTSUPP"}),
        ("s3-fuse", {"mknod": "ok", "setxattr": "ok", "getxattr": "ok"}),  # [X22]
    ],
)
def test_each_profile_gives_its_errors_for_special_files_and_xattrs(
    tmp_path: Path, profile: str, expected: dict[str, str]
) -> None:
    """A FIFO and a user xattr on each remote profile: NFSv3 has no user xattrs, SMB
    without ``sfu`` refuses special files with EPERM (``smb2_make_node``), sshfs has no
    xattr handler (the kernel turns ENOSYS into EOPNOTSUPP) and refuses a FIFO (EPERM)."""
    path = tmp_path / "s.yaml"
    path.write_text(_SCENARIO.format(profile=profile))
    ops = storsim.simulate(storsim.load_scenario(path), seed=1).ops
    got = dict(zip(ops["op"], ops["outcome"], strict=True))
    assert got == expected


def test_the_clients_own_part_of_a_stat_and_a_listing() -> None:
    """The client kernel's VFS work is a local file system's: with host.getattr_latency at
    1/2 s a cold stat is its LOOKUP, the syscall and the attributes' copy; with
    host.readdir_open_close at 2 s a listing of 2 names is its LOOKUP, one READDIR
    page, the syscall and the directory's open and close."""
    ctx = make_ctx()
    ctx.host.getattr_s, ctx.host.readdir_open_s = 0.5, 2.0
    nas = _client(ctx)
    listing = Listing(names=("a", "b"), layers_visited=1)
    log = run(
        ctx,
        {
            "app": [
                lambda: nas.charge(COST["stat"], "/f", OK, 0, 0),
                lambda: nas.charge(COST["readdir"], "/d", listing, 0, 0),
            ]
        },
    )
    stat = REQUEST + SYSCALL + 0.5
    assert log == [("app", stat, None), ("app", stat + 2 * REQUEST + SYSCALL + 2.0, None)]
