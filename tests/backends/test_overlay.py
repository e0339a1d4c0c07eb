"""The root overlay (OverlayBackend): cold lookups through the layers, one copy-up per
file with openers waiting for it, timed exactly on the constant host of conftest.py."""

from __future__ import annotations

from storsim.backends import Attachment
from storsim.backends.overlay import OverlayBackend
from storsim.fs import Layer, LowerStack, OverlayFS, Read
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from tests.backends.conftest import run

READ, WRITE = OP_TABLE["read"].cost, OP_TABLE["write"].cost


def _container(ctx: SimContext, name: str) -> tuple[OverlayFS, OverlayBackend]:
    stack = LowerStack([Layer.build("top", files={"/data/f": 8192})])
    at = Attachment(fs=None, key=("upper", name), image=("lower", "app"))
    return OverlayFS(stack), OverlayBackend(ctx, at)


def test_the_first_write_copies_up_and_a_concurrent_writer_waits(ctx: SimContext) -> None:
    """Two writers of one lower file at t=0: the first copies the file up (its lookup, the
    lower chunk read, the upper write, the workdir entry, then its CPU part); the second
    waits for that copy-up to complete and ends with it; a later read is a cached hit."""
    fs, overlay = _container(ctx, "web-1")
    first, second = fs.open_write("/data/f", 0, 4096), fs.open_write("/data/f", 0, 4096)
    assert (first.copied_up, first.copy_up_bytes, first.layers_visited) == (True, 8192, 1)
    assert not second.copied_up
    read = fs.read("/data/f", 0, 4096)
    log = run(
        ctx,
        {
            "copier": [lambda: overlay.charge(WRITE, "/data/f", first, 4096, 0)],
            "waiter": [lambda: overlay.charge(WRITE, "/data/f", second, 4096, 0)],
            "reader": [lambda: 10.0, lambda: overlay.charge(READ, "/data/f", read, 4096, 0)],
        },
    )
    # copier: upper directory and lower inode (0-2), one layer of lookup CPU (1/16),
    # the 128 KiB lower chunk (2), the 8 KiB upper write (1.125), the workdir entry (1):
    # data in place at 6.1875; then create + rename (0.5), syscall and 4 KiB copy (1.125)
    assert log == [
        ("copier", 7.8125, None),
        ("waiter", 7.8125, None),  # woken at 6.1875, waits to 6.6875, then its own 1.125
        ("reader", 10.0, None),
        ("reader", 11.625, None),  # the written page is in the cache: syscall, hit, copy
    ]
    assert ctx.host.disk.completed == 5


def test_a_later_opener_of_a_finished_copy_up_does_not_wait(ctx: SimContext) -> None:
    """Once a copy-up has completed, a write of the file costs its CPU time only."""
    fs, overlay = _container(ctx, "web-1")
    first, second = fs.open_write("/data/f", 0, 4096), fs.open_write("/data/f", 0, 4096)
    log = run(
        ctx,
        {
            "copier": [lambda: overlay.charge(WRITE, "/data/f", first, 4096, 0)],
            "later": [lambda: 20.0, lambda: overlay.charge(WRITE, "/data/f", second, 4096, 0)],
        },
    )
    assert log == [("copier", 7.8125, None), ("later", 20.0, None), ("later", 21.125, None)]


def test_a_second_container_shares_the_image_lookups_and_pages(ctx: SimContext) -> None:
    """Another container of the same image reading the same lower file reads only its own
    upper directory: the image's inode and data are in the host's caches."""
    fs_a, a = _container(ctx, "web-1")
    fs_b, b = _container(ctx, "web-2")
    read_a, read_b = fs_a.read("/data/f", 0, 4096), fs_b.read("/data/f", 0, 4096)
    assert read_a == read_b == Read(nbytes=4096, layer=1)
    log = run(
        ctx,
        {
            "a": [lambda: a.charge(READ, "/data/f", read_a, 4096, 0)],
            "b": [lambda: 10.0, lambda: b.charge(READ, "/data/f", read_b, 4096, 0)],
        },
    )
    assert log == [
        ("a", 2.0625 + 2 + 1.625, None),  # 2 metadata reads, layer CPU, chunk, CPU
        ("b", 10.0, None),
        ("b", 10.0 + 1 + 0.0625 + 1.625, None),  # its upper directory only, then a hit
    ]


def test_a_failed_lookup_costs_its_layers_and_a_syscall(ctx: SimContext) -> None:
    """A miss on a fresh mount reads the directories it consulted, then the syscall."""
    _, overlay = _container(ctx, "web-1")
    log = run(ctx, {"app": [lambda: overlay.charge(READ, "/data/missing", None, 4096, 0)]})
    assert log == [("app", 1.0 + 0.0625 + 0.125, None)]  # the upper directory, 1 layer
