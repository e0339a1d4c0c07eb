"""tmpfs (TmpfsBackend): memory only, never the disk."""

from __future__ import annotations

from storsim.backends import Attachment
from storsim.backends.tmpfs import TmpfsBackend
from storsim.fs import PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE


def test_tmpfs_costs_a_syscall_and_a_memory_copy(ctx: SimContext) -> None:
    """Data operations copy their bytes in memory; fsync and failures cost a syscall."""
    tmp = TmpfsBackend(ctx, Attachment(fs=PlainFS(), key=None))
    ok = object()
    assert tmp.charge(OP_TABLE["read"].cost, "/f", ok, 4096, 0) == 1.125
    assert tmp.charge(OP_TABLE["create"].cost, "/g", ok, 8192, 0) == 2.125
    assert tmp.charge(OP_TABLE["fsync"].cost, "/f", ok, 0, 0) == 0.125
    assert tmp.charge(OP_TABLE["write"].cost, "/f", None, 4096, 0) == 0.125
    assert tmp.lock_cost() == 0.125
    assert ctx.host.disk.completed == 0
