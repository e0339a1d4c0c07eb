"""Differential test of the mount table: ``ContainerView`` against real bind mounts.

The same harness as ``tests/fs/test_kernel.py`` (a real overlay from random layers, the
same random operations, one system call at a time), with a host directory bind-mounted
into it the way Docker mounts it: single files of the host directory onto file paths of
the container (``mount --bind FILE TARGET``, some read-only), the directory itself onto a
directory path (so that a file is reached both through its file bind and through its
directory's bind), and sometimes a ``--read-only`` root (the overlay's own mount made
read-only). After every operation the outcomes must agree; at the end the container's
whole tree (mounts included), the host directory and the overlay's upperdir must agree.
Where they disagree, the kernel is right.

Two behaviours of the kernel the model does not have are left out of the random
operations (``_known_deviation``), each a documented limitation of ``ContainerView``:
renaming a directory that holds a mount point moves the mount with it (the model's
table is keyed by path: EBUSY), and a file bind pins the source's inode, so renaming
another file over the source, or unlinking it, through the directory's bind leaves the
target showing the old inode (the model follows the source's path).

``BIND_CASES`` are the single-file bind rules one by one, each checked in the model
without root and against the kernel with it.

Needs root and ``mount``; skips otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from storsim.fs import (
    DIR,
    FILE,
    SYMLINK,
    ContainerView,
    FsError,
    Layer,
    LowerStack,
    Mount,
    Node,
    OverlayFS,
    PlainFS,
)
from tests.fs.support import call_op, outcome
from tests.fs.test_kernel import (
    _EXAMPLES,
    _LIBC,
    OFF,
    PATHS,
    TARGETS,
    Kernel,
    _build_layer,
    _check,
    _kernel_tree,
    _kernel_upper,
    _model_tree,
    _model_upper,
    _overlay,
    base_dir,
    draw_op,
    layers_st,
)

pytestmark = pytest.mark.kernel

__all__ = ["base_dir"]  # the fixture, shared with test_kernel.py

_MS_RDONLY, _MS_REMOUNT, _MS_BIND = 1, 32, 4096
_MNT_DETACH = 2
HOST = "/h"  # where the host directory itself is bind-mounted, when it is


class Bind(NamedTuple):
    """One bind mount: ``source`` of the host directory (``/`` for the directory itself)
    onto ``target`` of the container."""

    source: str
    target: str
    read_only: bool


def _bind(source: Path, target: Path, read_only: bool) -> None:
    _check(_LIBC.mount(str(source).encode(), str(target).encode(), None, _MS_BIND, None), "bind")
    if read_only:
        _remount_ro(target)


def _remount_ro(target: Path) -> None:
    flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
    _check(_LIBC.mount(None, str(target).encode(), None, flags, None), f"ro {target}")


def _view(
    layers: list[dict[str, Node]], host: dict[str, Node], binds: list[Bind], read_only: bool
) -> tuple[ContainerView, PlainFS]:
    """The model: an overlay of ``layers`` with ``binds`` of one host tree grafted on."""
    tree = PlainFS()
    tree.populate(host)
    root = OverlayFS(LowerStack([Layer(f"l{i}", e) for i, e in enumerate(layers)]))
    mounts = [Mount(b.target, tree, "local_bind", read_only=b.read_only, source_root=b.source)
              for b in binds]  # fmt: skip
    return ContainerView(root, mounts, read_only=read_only), tree


@contextlib.contextmanager
def _mounted(
    base: Path,
    layers: list[dict[str, Node]],
    host: dict[str, Node],
    binds: list[Bind],
    read_only: bool,
) -> Iterator[tuple[Path, Path, Path]]:
    """The kernel: a real overlay, the host directory, the binds (made as Docker makes
    them: missing mount points created, parents first, the shallowest mount first).
    Yields (the container's root, the overlay's upperdir, the host directory)."""
    hostdir = Path(tempfile.mkdtemp(dir=base)) / "host"
    _build_layer(hostdir, host)
    made: list[Path] = []
    try:
        with _overlay(base, layers, OFF) as (mnt, upper):
            try:
                for b in sorted(binds, key=lambda b: b.target.count("/")):
                    source = hostdir / b.source.lstrip("/")
                    target = mnt / b.target.lstrip("/")
                    if not os.path.lexists(target):
                        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                        if source.is_dir():
                            target.mkdir(mode=0o755)
                        else:
                            target.touch(mode=0o644)
                    _bind(source, target, b.read_only)
                    made.append(target)
                if read_only:
                    _remount_ro(mnt)
                yield mnt, upper, hostdir
            finally:
                for target in reversed(made):
                    _check(_LIBC.umount2(str(target).encode(), _MNT_DETACH), f"umount {target}")
    finally:
        shutil.rmtree(hostdir.parent)


def model_apply(view: ContainerView, op: tuple[Any, ...]) -> object:
    """Apply ``op`` through the view; what ``Kernel.apply`` returns (readdir's ghost names
    included: the kernel lists a one-layer directory's whiteouts too)."""
    try:
        return outcome(op, call_op(view, op))
    except FsError as e:
        return e.errno


def _known_deviation(op: tuple[Any, ...], view: ContainerView, binds: list[Bind]) -> bool:
    """Whether ``op`` meets one of the two kernel behaviours the model leaves out (see the
    module docstring)."""
    if op[0] == "rename":
        prefix = op[1].rstrip("/") + "/"
        if any(m.target.startswith(prefix) for m in view.mounts):
            return True  # the kernel moves the mounts below a renamed directory
    if op[0] not in ("rename", "unlink", "rmdir"):
        return False
    dirs = [b.target for b in binds if b.source == "/"]
    pinned = [d + b.source for d in dirs for b in binds if b.source != "/"]
    return any(p == q or p.startswith(q + "/") for p in pinned for q in op[1:3])


_host_entry = st.tuples(
    st.sampled_from(PATHS), st.sampled_from([FILE, FILE, FILE, DIR, SYMLINK]),
    st.integers(0, 12), st.sampled_from(TARGETS),
)  # fmt: skip


def _host_tree(raw: list[tuple[str, str, int, str]]) -> dict[str, Node]:
    """A host directory from random entries (the first of a path wins; nothing below a
    file or a symlink)."""
    out: dict[str, Node] = {}
    for path, kind, size, target in sorted(raw, key=lambda e: e[0].count("/")):
        parts = path.split("/")[1:-1]
        ancestors = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        if path in out or any(a in out and out[a].kind != DIR for a in ancestors):
            continue
        out[path] = (
            Node(SYMLINK, target=target)
            if kind == SYMLINK
            else Node(kind, size if kind == FILE else 0)
        )
    return out


@st.composite
def _setups(draw: st.DrawFn) -> tuple[list[dict[str, Node]], dict[str, Node], list[Bind], bool]:
    layers = draw(layers_st)
    host = draw(st.lists(_host_entry, min_size=1, max_size=8).map(_host_tree))
    files = sorted(p for p, n in host.items() if n.kind == FILE)
    assume(files)
    binds = [
        Bind(draw(st.sampled_from(files)), draw(st.sampled_from(PATHS)), draw(st.booleans()))
        for _ in range(draw(st.integers(1, 2)))
    ]
    if draw(st.booleans()):
        binds.append(Bind("/", HOST, draw(st.booleans())))
    return layers, host, binds, draw(st.booleans())


def _mountable(layers: list[dict[str, Node]], binds: list[Bind]) -> bool:
    """Whether Docker would mount ``binds`` as the model does: each target missing, or of
    the source's kind, with no symlink or special file on the way (runc resolves those
    in the root file system; the model does not)."""
    if len({b.target for b in binds}) != len(binds):
        return False
    root = OverlayFS(LowerStack([Layer(f"l{i}", e) for i, e in enumerate(layers)]))
    for b in binds:
        parts = b.target.split("/")[1:]
        for i in range(1, len(parts) + 1):
            try:
                kind = root.stat("/" + "/".join(parts[:i])).kind
            except FsError:
                break
            if kind not in (DIR, FILE) or (kind == FILE and i < len(parts)):
                return False
    return True


@settings(
    max_examples=max(_EXAMPLES // 2, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(setup=_setups(), data=st.data())
def test_binds_match_kernel(
    base_dir: Path,
    setup: tuple[list[dict[str, Node]], dict[str, Node], list[Bind], bool],
    data: st.DataObject,
) -> None:
    """Through file and directory binds of one host directory (over a real overlay, some
    read-only, sometimes on a read-only root), every outcome, the container's tree, the
    host directory and the upperdir match the kernel's."""
    layers, host, binds, read_only = setup
    assume(_mountable(layers, binds))
    try:
        view, tree = _view(layers, host, binds, read_only)
    except (FsError, ValueError):
        assume(False)  # a mount Docker refuses too (a file onto a directory...)
        raise
    event(f"{len(binds)} binds, read-only root {read_only}")
    with _mounted(base_dir, layers, host, binds, read_only) as (mnt, upper, hostdir):
        assert _model_tree(view.visible_tree()) == _kernel_tree(mnt), "mounted trees differ"
        kernel = Kernel(mnt)
        ops: list[tuple[Any, ...]] = []
        try:
            for _ in range(data.draw(st.integers(1, 30), label="steps")):
                op = draw_op(data, list(view.visible_tree()))
                if _known_deviation(op, view, binds):
                    continue
                ops.append(op)
                want = kernel.apply(op)
                got = model_apply(view, op)
                event(f"{op[0]} -> {want if isinstance(want, str) else 'ok'}")
                assert got == want, f"op {len(ops)} {op}: model {got!r}, kernel {want!r}\n{ops}"
        finally:
            kernel.close()
        assert _model_tree(view.visible_tree()) == _kernel_tree(mnt)
        assert _model_tree(tree.visible_tree()) == _kernel_tree(hostdir)
        assert isinstance(view.root, OverlayFS)
        assert _model_upper(view.root) == _kernel_upper(upper)


# The single-file bind rules, one by one: an image with /etc/app.conf (4 bytes) and a
# sibling /etc/other, the host file /app.conf (6 bytes, its directory also bound at /h),
# bound onto /etc/app.conf (read-write, or read-only) and onto /srv/app.conf (a new path).
_IMAGE = [{"/etc": Node(DIR), "/etc/app.conf": Node(FILE, 4), "/etc/other": Node(FILE, 2)}]
_HOST = {"/app.conf": Node(FILE, 6), "/x": Node(FILE, 1)}
_RW = [Bind("/app.conf", "/etc/app.conf", False), Bind("/", HOST, False)]
_RO = [Bind("/app.conf", "/etc/app.conf", True), Bind("/app.conf", "/srv/app.conf", False)]
_W = ("open", "/etc/new", True, True, False, False)
_C = ("open", "/etc/app.conf/x", True, True, False, False)
BIND_CASES = [
    pytest.param(
        _RW, False,
        [("stat", "/etc/app.conf"), ("readdir", "/etc"), ("stat", "/etc/other"),
         ("write", "/etc/app.conf", 6, 2), ("stat", "/h/app.conf"), ("append", "/h/app.conf", 1),
         ("read", "/etc/app.conf", 0, 100)],
        [("ok", FILE, 6), ("ok", ("app.conf", "other")), ("ok", FILE, 2), ("ok", 8),
         ("ok", FILE, 8), ("ok", 9), ("ok", 9)],
        id="the-target-is-the-host-file-shared-with-its-directory-and-siblings-stay",
    ),
    pytest.param(
        _RW, False,
        [("open", "/etc/app.conf", True, False, False, True), ("stat", "/h/app.conf"),
         ("chmod", "/etc/app.conf", 0o600), ("setxattr", "/etc/app.conf", "user.a", b"1",
         False, False), ("getxattr", "/h/app.conf", "user.a"), ("fsync", "/etc/app.conf")],
        [("ok", FILE, 0), ("ok", FILE, 0), "ok", "ok", ("ok", b"1"), "ok"],
        id="truncate-chmod-setxattr-fsync-go-to-the-source",
    ),
    pytest.param(
        _RW, False,
        [_W, ("rename", "/etc/new", "/etc/app.conf"), ("rename", "/etc/app.conf", "/etc/z"),
         ("unlink", "/etc/app.conf"), ("rename", "/etc/nope", "/etc/app.conf"),
         ("rename", "/etc/app.conf", "/etc/app.conf"), ("rename", "/etc", "/etc/app.conf"),
         ("rename", "/etc/app.conf", "/etc/other"), ("rmdir", "/etc/app.conf")],
        [("ok", FILE, 0), "EBUSY", "EBUSY", "EBUSY", "ENOENT", "ok", "EINVAL", "EBUSY",
         "ENOTDIR"],
        id="the-target-cannot-be-replaced-renamed-or-removed",
    ),
    pytest.param(
        _RW, False,
        [_C, ("stat", "/etc/app.conf/x"), ("mkdir", "/etc/app.conf/x"), ("mkdir", "/etc/app.conf"),
         ("link", "/etc/app.conf", "/etc/l"), ("link", "/etc/other", "/etc/app.conf"),
         ("rename", "/etc/app.conf/x", "/etc/y")],
        ["ENOTDIR", "ENOTDIR", "ENOTDIR", "EEXIST", "EXDEV", "EEXIST", "ENOTDIR"],
        id="a-path-under-the-target-is-enotdir",
    ),
    pytest.param(
        _RO, False,
        [("read", "/etc/app.conf", 0, 4), ("write", "/etc/app.conf", 0, 1),
         ("open", "/etc/app.conf", False, False, False, True), ("chmod", "/etc/app.conf", 0o600),
         ("setxattr", "/etc/app.conf", "user.a", b"1", False, False), ("fsync", "/etc/app.conf"),
         ("write", "/srv/app.conf", 0, 1), ("stat", "/etc/app.conf"), ("unlink", "/etc/app.conf"),
         ("readdir", "/srv")],
        [("ok", 4), "EROFS", "EROFS", "EROFS", "EROFS", "ok", ("ok", 6), ("ok", FILE, 6), "EBUSY",
         ("ok", ("app.conf",))],
        id="a-read-only-file-bind-is-erofs-and-the-same-file-writable-elsewhere",
    ),
    pytest.param(
        _RW, True,
        [("unlink", "/etc/app.conf"), ("rename", "/etc/other", "/etc/app.conf"),
         ("write", "/etc/app.conf", 0, 1), ("write", "/etc/other", 0, 1)],
        ["EROFS", "EROFS", ("ok", 6), "EROFS"],
        id="on-a-read-only-root-removing-the-target-is-erofs",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("binds", "read_only", "ops", "outcomes"), BIND_CASES)
def test_bind_cases_in_the_model(
    binds: list[Bind], read_only: bool, ops: list[tuple[Any, ...]], outcomes: list[object]
) -> None:
    """Each single-file bind rule, as found against the kernel, holds in the model."""
    view, _ = _view(_IMAGE, _HOST, binds, read_only)
    assert [model_apply(view, op) for op in ops] == outcomes


@pytest.mark.parametrize(("binds", "read_only", "ops", "outcomes"), BIND_CASES)
def test_bind_cases_match_kernel(
    base_dir: Path,
    binds: list[Bind],
    read_only: bool,
    ops: list[tuple[Any, ...]],
    outcomes: list[object],
) -> None:
    """Each single-file bind rule gives the same outcomes on real bind mounts."""
    with _mounted(base_dir, _IMAGE, _HOST, binds, read_only) as (mnt, _, _):
        kernel = Kernel(mnt)
        try:
            assert [kernel.apply(op) for op in ops] == outcomes
        finally:
            kernel.close()
