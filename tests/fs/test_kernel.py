"""Differential test: ``storsim.fs`` against the real Linux overlayfs and a plain directory.

Hypothesis draws random image layers (files and directories with extended attributes,
whiteouts, opaque directories, symlinks, FIFOs, device nodes) and random operation
sequences over a small path alphabet. Each sequence is applied both to the model and to a
real overlay mount (or a real plain directory), one system call at a time; after every
operation the outcomes (ok or errno name, plus what the call returned) must agree, and at
the end the visible trees and the upper directories (whiteouts as 0:0 character devices,
opaque, metacopy, origin and redirect xattrs, the other attributes, device numbers) must
agree too. Where they disagree, the kernel is right.

The kernel does not say how many layer directories a lookup consulted, so those counts are
checked by the kernel's own rule instead: every operation's walk against ``ovl_walk`` (a
transcription of ``ovl_lookup``) on the model's upper tree, and at the end every path's
walk and every directory's entries per layer against ``ovl_walk`` on the kernel's upperdir.

The model never follows symlinks, so the harness resolves every parent directory with
``openat2(RESOLVE_NO_SYMLINKS)`` and opens with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so
that a FIFO does not wait for its peer): then the kernel answers the very question the
model answers. Attributes are set and read through ``/proc/self/fd/N/name`` of the resolved
parent, without following the last component (``lsetxattr``).

Needs root and ``mount -t overlay``; skips otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from storsim.fs import (
    BLOCKDEV,
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    SYMLINK,
    WHITEOUT,
    XATTR_SIZE_MAX,
    Component,
    Layer,
    LowerStack,
    Node,
    OverlayFS,
    PlainFS,
)
from tests.fs.support import (
    UpperEntry,
    apply_checked,
    draw_special_op,
    ovl_dir_entries,
    ovl_walk,
)

pytestmark = pytest.mark.kernel

_LIBC = ctypes.CDLL(None, use_errno=True)
_SYS_OPENAT2 = 437  # the same number on every architecture (new syscalls are unified)
_SYS_FCHMODAT2 = 452
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
_AT_SYMLINK_NOFOLLOW = 0x100
_MNT_DETACH = 2
_SPECIAL_IFMT = {FIFO: stat.S_IFIFO, CHARDEV: stat.S_IFCHR, BLOCKDEV: stat.S_IFBLK}
_OVL = "trusted.overlay."
_OVL_ESCAPED = "trusted.overlay.overlay."

OFF = "redirect_dir=off,metacopy=off,index=off"
ON = "redirect_dir=on,metacopy=on,index=off"

NAMES = ("a", "b")
PATHS = tuple(
    "/" + "/".join(parts)
    for parts in [(x,) for x in NAMES]
    + [(x, y) for x in NAMES for y in NAMES]
    + [(x, y, z) for x in NAMES for y in NAMES for z in NAMES]
)
TARGETS = ("a", "b/a", "/a", "zz")


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


def _check(ret: int, what: str) -> int:
    if ret < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), what)
    return ret


def _mount(lowers: list[Path], upper: Path, work: Path, mnt: Path, opts: str) -> None:
    lowerdir = ":".join(str(p) for p in lowers)
    data = f"lowerdir={lowerdir},upperdir={upper},workdir={work},{opts}"
    ret = _LIBC.mount(b"overlay", str(mnt).encode(), b"overlay", 0, data.encode())
    _check(ret, f"mount {data}")


def _umount(mnt: Path) -> None:
    _check(_LIBC.umount2(str(mnt).encode(), _MNT_DETACH), f"umount {mnt}")


def _errname(code: int | None) -> str:
    name = errno.errorcode.get(code or 0, str(code))
    return "EOPNOTSUPP" if name == "ENOTSUP" else name


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch directory; skips unless we can mount overlayfs with the options we need."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount overlayfs")
    base = tmp_path_factory.mktemp("ovl")
    probe = base / "probe"
    for d in ("l", "u", "w", "m"):
        (probe / d).mkdir(parents=True)
    for opts in (OFF, ON):
        try:
            _mount([probe / "l"], probe / "u", probe / "w", probe / "m", opts)
        except OSError as e:
            pytest.skip(f"cannot mount overlayfs with {opts}: {e}")
        _umount(probe / "m")
    shutil.rmtree(probe)
    return base


# --------------------------------------------------------------------------- strategies

_entry = st.tuples(
    st.sampled_from(PATHS),
    st.sampled_from([FILE, FILE, DIR, WHITEOUT, "opaque", SYMLINK, FIFO, CHARDEV]),
    st.integers(0, 12),
    st.sampled_from(TARGETS),
)
# Attributes of lower files and directories, by the drawn size: a process's user and
# trusted ones, and its trusted.overlay.* (stored escaped in the layer).
LAYER_XATTRS = (
    (), (), (("user.a", b"L"),), (("trusted.t", b"T"), ("user.b", b"")),
    (("trusted.overlay.x", b"O"), ("security.s", b"S")),
)  # fmt: skip


def _layer_entries(raw: list[tuple[str, str, int, str]]) -> dict[str, Node]:
    """A valid layer from random entries: the first entry of a path wins, and entries
    below a non-directory of the same layer are dropped."""
    entries: dict[str, Node] = {}
    for path, kind, size, target in sorted(raw, key=lambda e: e[0].count("/")):
        if path in entries:
            continue
        parts = path.split("/")[1:-1]
        ancestors = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(a in entries and entries[a].kind != DIR for a in ancestors):
            continue
        xattrs = LAYER_XATTRS[size % len(LAYER_XATTRS)]
        if kind == FILE:
            entries[path] = Node(FILE, size, xattrs=xattrs)
        elif kind == DIR:
            entries[path] = Node(DIR, xattrs=xattrs)
        elif kind == "opaque":
            entries[path] = Node(DIR, opaque=True, xattrs=xattrs)
        elif kind == WHITEOUT:
            entries[path] = Node(WHITEOUT)
        elif kind == FIFO:
            entries[path] = Node(FIFO, mode=0o600 if size % 2 else 0o644)
        elif kind == CHARDEV:
            entries[path] = Node(CHARDEV, rdev=(240, size))  # a major no driver registers
        else:
            entries[path] = Node(SYMLINK, target=target)
    return entries


layers_st = st.lists(st.lists(_entry, max_size=12).map(_layer_entries), min_size=1, max_size=4)


def draw_op(data: st.DataObject, visible: list[str]) -> tuple[Any, ...]:
    """One random operation; its paths are mostly ones that exist right now, so that most
    operations do something instead of failing with ENOENT."""
    path = st.one_of(st.sampled_from(visible), st.sampled_from(PATHS)) if visible else _path
    name = data.draw(
        st.sampled_from(
            ["open", "write", "append", "read", "truncate", "unlink", "rmdir", "mkdir"]
            + ["rename"] * 3
            + ["open_write"]
            + ["chmod", "link", "symlink", "stat", "readdir", "fsync"]
            + ["mknod", "setxattr", "setxattr", "getxattr", "getxattr"]
        )
    )
    special = draw_special_op(data, name, path)
    if special is not None:
        return special
    if name == "open":
        flags = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()))
        return (name, data.draw(path), *flags)
    if name in ("write", "read"):
        return (name, data.draw(path), data.draw(st.integers(0, 16)), data.draw(st.integers(0, 8)))
    if name == "append":
        return (name, data.draw(path), data.draw(st.integers(0, 8)))
    if name == "open_write":
        offset, nbytes = data.draw(st.integers(0, 16)), data.draw(st.integers(0, 8))
        return (name, data.draw(path), offset, nbytes, data.draw(st.booleans()))
    if name == "truncate":
        return (name, data.draw(path), data.draw(st.integers(0, 16)))
    if name in ("rename", "link"):
        return (name, data.draw(path), data.draw(path))
    if name == "chmod":
        return (name, data.draw(path), data.draw(st.sampled_from([0o600, 0o640, 0o700, 0o755])))
    if name == "symlink":
        return (name, data.draw(st.sampled_from(TARGETS)), data.draw(path))
    if name == "mkdir":
        return (name, data.draw(_path))
    return (name, data.draw(path))


_path = st.sampled_from(PATHS)


# --------------------------------------------------------------------------- building


def _build_layer(root: Path, entries: dict[str, Node]) -> None:
    root.mkdir(mode=0o755)
    for path in sorted(entries, key=lambda p: p.count("/")):
        node = entries[path]
        full = root / path.lstrip("/")
        full.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if node.kind == FILE:
            full.write_bytes(b"L" * node.size_bytes)
            full.chmod(node.mode)
        elif node.kind == DIR:
            full.mkdir(mode=0o755)
            full.chmod(node.mode)
            if node.opaque:
                os.setxattr(full, "trusted.overlay.opaque", b"y")
        elif node.kind == WHITEOUT:
            os.mknod(full, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        elif node.kind in _SPECIAL_IFMT:
            os.mknod(full, _SPECIAL_IFMT[node.kind] | node.mode, os.makedev(*node.rdev))
            full.chmod(node.mode)
        else:
            assert node.target is not None
            os.symlink(node.target, full)
        for name, value in node.xattrs:
            # A process's trusted.overlay.* is stored escaped in the layers (Linux 6.7).
            raw = _OVL_ESCAPED + name[len(_OVL) :] if name.startswith(_OVL) else name
            os.setxattr(full, raw, value, follow_symlinks=False)


@contextlib.contextmanager
def _overlay(base: Path, layers: list[dict[str, Node]], opts: str) -> Iterator[tuple[Path, Path]]:
    """Mount an overlay of ``layers`` (top-most first); yields (mount point, upperdir)."""
    work = Path(tempfile.mkdtemp(dir=base))
    lowers = [work / f"l{i}" for i in range(len(layers))]
    for path, entries in zip(lowers, layers, strict=True):
        _build_layer(path, entries)
    upper, wdir, mnt = work / "u", work / "w", work / "m"
    for d in (upper, wdir, mnt):
        d.mkdir(mode=0o755)
    _mount(lowers, upper, wdir, mnt, opts)
    try:
        yield mnt, upper
    finally:
        _umount(mnt)
        shutil.rmtree(work)


# --------------------------------------------------------------------------- the kernel side


class Kernel:
    """Applies operations to a real directory, never following a symlink."""

    def __init__(self, root: Path) -> None:
        self.root = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        os.close(self.root)

    @contextlib.contextmanager
    def parent(self, path: str) -> Iterator[tuple[int, str]]:
        parent, _, name = path.rpartition("/")
        rel = parent.lstrip("/")
        if not rel:
            fd = os.dup(self.root)
        else:
            how = _OpenHow(
                os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC,
                0,
                _RESOLVE_NO_SYMLINKS | _RESOLVE_BENEATH,
            )
            fd = _check(
                _LIBC.syscall(
                    _SYS_OPENAT2, self.root, rel.encode(), ctypes.byref(how), ctypes.sizeof(how)
                ),
                parent,
            )
        try:
            yield fd, name
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def opened(self, path: str, flags: int) -> Iterator[int]:
        flags |= os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        with self.parent(path) as (pfd, name):
            fd = os.open(name, flags, 0o644, dir_fd=pfd)
        try:
            yield fd
        finally:
            os.close(fd)

    def apply(self, op: tuple[Any, ...]) -> object:
        try:
            return getattr(self, "_" + op[0])(*op[1:])
        except OSError as e:
            return _errname(e.errno)

    @staticmethod
    def _kind(mode: int) -> str:
        if stat.S_ISDIR(mode):
            return DIR
        if stat.S_ISLNK(mode):
            return SYMLINK
        for kind, ifmt in _SPECIAL_IFMT.items():
            if stat.S_IFMT(mode) == ifmt:
                return kind
        return FILE

    def _stat(self, path: str) -> object:
        with self.parent(path) as (pfd, name):
            s = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        kind = self._kind(s.st_mode)
        return ("ok", kind, 0 if kind == DIR else s.st_size)

    def _open(self, path: str, write: bool, create: bool, excl: bool, trunc: bool) -> object:
        flags = os.O_WRONLY if write else os.O_RDONLY
        flags |= (os.O_CREAT if create else 0) | (os.O_EXCL if excl else 0)
        flags |= os.O_TRUNC if trunc else 0
        with self.opened(path, flags) as fd:
            s = os.fstat(fd)
        kind = self._kind(s.st_mode)
        return ("ok", kind, 0 if kind == DIR else s.st_size)

    def _read(self, path: str, offset: int, nbytes: int) -> object:
        with self.opened(path, os.O_RDONLY) as fd:
            return ("ok", len(os.pread(fd, nbytes, offset)))

    def _write(self, path: str, offset: int, nbytes: int) -> object:
        with self.opened(path, os.O_WRONLY) as fd:
            if nbytes:
                os.pwrite(fd, b"w" * nbytes, offset)
            return ("ok", os.fstat(fd).st_size)

    def _append(self, path: str, nbytes: int) -> object:
        with self.opened(path, os.O_WRONLY | os.O_APPEND) as fd:
            if nbytes:
                os.write(fd, b"a" * nbytes)
            return ("ok", os.fstat(fd).st_size)

    def _open_write(self, path: str, offset: int, nbytes: int, append: bool) -> object:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else 0)
        with self.opened(path, flags) as fd:
            if nbytes:
                if append:
                    os.write(fd, b"a" * nbytes)
                else:
                    os.pwrite(fd, b"w" * nbytes, offset)
            return ("ok", os.fstat(fd).st_size)

    def _truncate(self, path: str, size: int) -> object:
        with self.opened(path, os.O_WRONLY) as fd:
            os.ftruncate(fd, size)
        return "ok"

    def _fsync(self, path: str) -> object:
        with self.opened(path, os.O_RDONLY) as fd:
            os.fsync(fd)
        return "ok"

    def _readdir(self, path: str) -> object:
        with self.opened(path, os.O_RDONLY | os.O_DIRECTORY) as fd:
            return ("ok", tuple(sorted(os.listdir(fd))))

    def _unlink(self, path: str) -> object:
        with self.parent(path) as (pfd, name):
            os.unlink(name, dir_fd=pfd)
        return "ok"

    def _rmdir(self, path: str) -> object:
        with self.parent(path) as (pfd, name):
            os.rmdir(name, dir_fd=pfd)
        return "ok"

    def _mkdir(self, path: str) -> object:
        with self.parent(path) as (pfd, name):
            os.mkdir(name, 0o755, dir_fd=pfd)
        return "ok"

    def _symlink(self, target: str, path: str) -> object:
        with self.parent(path) as (pfd, name):
            os.symlink(target, name, dir_fd=pfd)
        return "ok"

    def _chmod(self, path: str, mode: int) -> object:
        with self.parent(path) as (pfd, name):
            ret = _LIBC.syscall(_SYS_FCHMODAT2, pfd, name.encode(), mode, _AT_SYMLINK_NOFOLLOW)
            _check(ret, path)
        return "ok"

    def _arguments_first(self, call: Callable[[str], object]) -> None:
        """Let the kernel judge a call's arguments before any lookup, as the syscall does
        (the harness resolves the parent first): ``call`` on a path that does not exist
        fails with ENOENT, unless the arguments alone are refused (ERANGE, E2BIG, EPERM)."""
        try:
            call(f"/proc/self/fd/{self.root}/.missing/x")
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise

    def _mknod(self, path: str, kind: str, mode: int, rdev: tuple[int, int]) -> object:
        ifmt = stat.S_IFDIR if kind == DIR else _SPECIAL_IFMT.get(kind, stat.S_IFREG)
        self._arguments_first(lambda p: os.mknod(p, ifmt | mode, os.makedev(*rdev)))
        with self.parent(path) as (pfd, name):
            os.mknod(name, ifmt | mode, os.makedev(*rdev), dir_fd=pfd)
        return "ok"

    def _setxattr(self, path: str, name: str, value: bytes, create: bool, replace: bool) -> object:
        flags = (os.XATTR_CREATE if create else 0) | (os.XATTR_REPLACE if replace else 0)
        self._arguments_first(lambda p: os.setxattr(p, name, value, flags))
        with self.parent(path) as (pfd, last):
            os.setxattr(f"/proc/self/fd/{pfd}/{last}", name, value, flags, follow_symlinks=False)
        return "ok"

    def _getxattr(self, path: str, name: str) -> object:
        self._arguments_first(lambda p: os.getxattr(p, name))
        with self.parent(path) as (pfd, last):
            return ("ok", os.getxattr(f"/proc/self/fd/{pfd}/{last}", name, follow_symlinks=False))

    def _rename(self, src: str, dst: str) -> object:
        with self.parent(src) as (sfd, sname), self.parent(dst) as (dfd, dname):
            os.rename(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
        return "ok"

    def _link(self, src: str, dst: str) -> object:
        with self.parent(src) as (sfd, sname):
            # link(2) resolves the source completely before it looks at the target.
            os.stat(sname, dir_fd=sfd, follow_symlinks=False)
            with self.parent(dst) as (dfd, dname):
                os.link(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd, follow_symlinks=False)
        return "ok"


# --------------------------------------------------------------------------- the model side


def model_apply(
    fs: OverlayFS | PlainFS, op: tuple[Any, ...], lowers: list[dict[str, Node]] | None = None
) -> object:
    """Apply ``op`` to the model, checking its lookups (``apply_checked``); returns what
    ``Kernel.apply`` returns for the kernel (readdir's ghost names included)."""
    if lowers is None:
        lowers = [dict(layer.entries) for layer in fs.lower.layers]
    return apply_checked(fs, lowers, op)


# --------------------------------------------------------------------------- trees

Xattrs = tuple[tuple[str, bytes], ...]
Row = tuple[str, int, int, str | None, tuple[int, int], Xattrs]


def _xattrs(path: Path, *, private: bool = True) -> Xattrs:
    """``path``'s attributes (its own, if a symlink); without overlay's private ones (its
    ``trusted.overlay.*``, but not a process's, escaped) unless ``private``."""
    names = os.listxattr(path, follow_symlinks=False)
    if not private:
        names = [n for n in names if not n.startswith(_OVL) or n.startswith(_OVL_ESCAPED)]
    return tuple(sorted((n, os.getxattr(path, n, follow_symlinks=False)) for n in names))


def _rdev(s: os.stat_result) -> tuple[int, int]:
    return (os.major(s.st_rdev), os.minor(s.st_rdev)) if s.st_rdev else (0, 0)


def _kernel_tree(root: Path) -> dict[str, Row]:
    out: dict[str, Row] = {}

    def walk(rel: str) -> None:
        for name in os.listdir(root / rel.lstrip("/") if rel else root):
            path = f"{rel}/{name}"
            full = root / path.lstrip("/")
            try:
                s = os.lstat(full)
            except FileNotFoundError:
                continue  # a whiteout listed by a one-layer directory (see OverlayFS.readdir)
            kind = Kernel._kind(s.st_mode)
            target = os.readlink(full) if kind == SYMLINK else None
            size = 0 if kind == DIR else s.st_size
            out[path] = (kind, size, stat.S_IMODE(s.st_mode), target, _rdev(s), _xattrs(full))
            if kind == DIR:
                walk(path)

    walk("")
    return dict(sorted(out.items()))


def _model_tree(tree: dict[str, Node]) -> dict[str, Row]:
    return {p: (n.kind, n.size_bytes, n.mode, n.target, n.rdev, n.xattrs) for p, n in tree.items()}


UpperRow = tuple[str, int, int, str | None, bool, bool, bool, str | None, tuple[int, int], Xattrs]


def _xattr(path: Path, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as e:
        if e.errno == errno.ENODATA:
            return None
        raise


def _kernel_upper(upper: Path) -> dict[str, UpperRow]:
    """The upperdir as rows: (kind, size, mode, target, opaque, metacopy, origin, redirect,
    rdev, the other attributes)."""
    out: dict[str, UpperRow] = {}
    for dirpath, dirnames, filenames in os.walk(upper):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            path = "/" + str(full.relative_to(upper))
            s = os.lstat(full)
            if stat.S_ISCHR(s.st_mode) and s.st_rdev == os.makedev(0, 0):
                mode = stat.S_IMODE(s.st_mode)
                out[path] = (WHITEOUT, 0, mode, None, False, False, False, None, (0, 0), ())
                continue
            kind = Kernel._kind(s.st_mode)
            redirect = _xattr(full, "trusted.overlay.redirect")
            out[path] = (
                kind,
                0 if kind == DIR else s.st_size,
                stat.S_IMODE(s.st_mode),
                os.readlink(full) if kind == SYMLINK else None,
                _xattr(full, "trusted.overlay.opaque") == b"y",
                _xattr(full, "trusted.overlay.metacopy") is not None,
                _xattr(full, "trusted.overlay.origin") is not None,
                redirect.decode() if redirect is not None else None,
                _rdev(s),
                _xattrs(full, private=False),
            )
    return dict(sorted(out.items()))


def _model_upper(fs: OverlayFS) -> dict[str, UpperRow]:
    origins = fs.copied_up_paths()
    redirects = fs.redirects()
    return {
        p: (n.kind, n.size_bytes, n.mode, n.target, n.opaque, n.metacopy, p in origins,
            redirects.get(p), n.rdev, n.xattrs)
        for p, n in fs.upper_tree().items()
    }  # fmt: skip


def _check_walks(fs: OverlayFS, lowers: list[dict[str, Node]], upper: Path) -> None:
    """Every path's walk and every directory's entries per layer are what the kernel's
    lookup loop gives on the kernel's own upperdir (the lowers are the layers as built)."""
    rows = _kernel_upper(upper)
    entries = {p: UpperEntry(r[0], r[4], r[5], r[7]) for p, r in rows.items()}
    for path in PATHS:
        walk, state = ovl_walk(lowers, entries, path)
        assert list(fs.walk(path)) == [Component(*c) for c in walk], path
        if state is not None:
            assert fs.readdir(path).layer_entries == ovl_dir_entries(lowers, entries, path), path


# --------------------------------------------------------------------------- the tests


def _run(kernel: Kernel, fs: OverlayFS | PlainFS, data: st.DataObject, steps: int) -> None:
    """Apply ``steps`` random operations to both sides, comparing each outcome (and each
    walk with the lookup loop's, on the model's upper tree)."""
    lowers = [dict(layer.entries) for layer in fs.lower.layers]
    ops: list[tuple[Any, ...]] = []
    for _ in range(steps):
        op = draw_op(data, list(fs.visible_tree()))
        ops.append(op)
        want = kernel.apply(op)
        got = model_apply(fs, op, lowers)
        event(f"{op[0]} -> {want if isinstance(want, str) else 'ok'}")
        assert got == want, f"op {len(ops)} {op}: model {got!r}, kernel {want!r}\nops: {ops}"


def _check_trees(fs: OverlayFS, mnt: Path, upper: Path) -> None:
    assert _model_tree(fs.visible_tree()) == _kernel_tree(mnt)
    assert _model_upper(fs) == _kernel_upper(upper)
    _check_walks(fs, [dict(layer.entries) for layer in fs.lower.layers], upper)


def _differential(
    base: Path, layers: list[dict[str, Node]], data: st.DataObject, opts: str
) -> None:
    fs = OverlayFS(
        LowerStack([Layer(f"l{i}", e) for i, e in enumerate(layers)]),
        metacopy="metacopy=on" in opts,
        redirect_dir="redirect_dir=on" in opts,
    )
    with _overlay(base, layers, opts) as (mnt, upper):
        kernel = Kernel(mnt)
        try:
            assert _model_tree(fs.visible_tree()) == _kernel_tree(mnt), "lower merge differs"
            _run(kernel, fs, data, data.draw(st.integers(1, 40), label="steps"))
        finally:
            kernel.close()
        _check_trees(fs, mnt, upper)


# STORSIM_KERNEL_EXAMPLES=5000 runs a deeper campaign; the default keeps the file < 60 s.
_EXAMPLES = int(os.environ.get("STORSIM_KERNEL_EXAMPLES", "500"))
_SETTINGS: Callable[[Any], Any] = settings(
    max_examples=_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(layers=layers_st, data=st.data())
def test_overlay_matches_kernel(
    base_dir: Path, layers: list[dict[str, Node]], data: st.DataObject
) -> None:
    """With redirect_dir and metacopy off, every outcome, the view and the upperdir match."""
    _differential(base_dir, layers, data, OFF)


@_SETTINGS
@given(layers=layers_st, data=st.data())
def test_overlay_matches_kernel_metacopy_redirect(
    base_dir: Path, layers: list[dict[str, Node]], data: st.DataObject
) -> None:
    """With metacopy and redirect_dir on, every outcome, the view and the upperdir match."""
    _differential(base_dir, layers, data, ON)


@settings(
    max_examples=max(_EXAMPLES // 2, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=st.data())
def test_plainfs_matches_kernel(base_dir: Path, data: st.DataObject) -> None:
    """PlainFS gives the same outcomes and tree as a real directory."""
    work = Path(tempfile.mkdtemp(dir=base_dir))
    kernel = Kernel(work)
    fs = PlainFS()
    try:
        _run(kernel, fs, data, data.draw(st.integers(1, 40), label="steps"))
        assert _model_tree(fs.visible_tree()) == _kernel_tree(work)
    finally:
        kernel.close()
        shutil.rmtree(work)


# Cases the random campaigns once found the model wrong on (layers top-most first).
REGRESSIONS = [
    pytest.param(
        [{"/a/a": Node(WHITEOUT)}], [("readdir", "/a"), ("stat", "/a/a")], OFF,
        id="one-layer-dir-lists-whiteouts",
    ),
    pytest.param([{}], [("mkdir", "/a"), ("mkdir", "/a/b")], ON, id="mkdir-opaque-with-redirect"),
    pytest.param(
        [{"/a/b/a": Node(FILE), "/b/a/a": Node(FILE)}],
        [("rename", "/b", "/a/a"), ("mkdir", "/b"), ("mkdir", "/b/a"), ("rename", "/a", "/b")],
        ON,
        id="enotempty-after-redirect",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "ops", "opts"), REGRESSIONS)
def test_regressions_match_kernel(
    base_dir: Path, layers: list[dict[str, Node]], ops: list[tuple[Any, ...]], opts: str
) -> None:
    """Each case the random campaigns found gives the kernel's outcomes and trees."""
    fs = OverlayFS(
        LowerStack([Layer(f"l{i}", e) for i, e in enumerate(layers)]),
        metacopy="metacopy=on" in opts,
        redirect_dir="redirect_dir=on" in opts,
    )
    with _overlay(base_dir, layers, opts) as (mnt, upper):
        kernel = Kernel(mnt)
        try:
            for op in ops:
                assert model_apply(fs, op) == kernel.apply(op), op
        finally:
            kernel.close()
        _check_trees(fs, mnt, upper)


# Behaviours of the operations added for issue 10 (mknod, setxattr, getxattr) and of
# special files, each found against the kernel: (layers, ops, opts, the outcomes, the paths
# the upper holds at the end).
_F = (False, False)  # setxattr with neither XATTR_CREATE nor XATTR_REPLACE
_LONG = "trusted.overlay." + "x" * 233  # escaped, 256 bytes
FOUND = [
    pytest.param(
        [{"/f": Node(FILE, 3)}],
        [("setxattr", "/f", "foo.x", b"1", *_F), ("setxattr", "/f", "user.", b"1", *_F),
         ("getxattr", "/f", "foo.x")],
        OFF, ["EOPNOTSUPP", "EINVAL", "EOPNOTSUPP"], {"/f"},
        id="setxattr-copies-up-before-the-upper-refuses-the-name",
    ),
    pytest.param(
        [{"/f": Node(FILE, 3)}],
        [("setxattr", "/f", "user.q", b"1", False, True),
         ("setxattr", "/f", "user.q", b"1", True, False),
         ("setxattr", "/f", "user.q", b"2", True, False), ("getxattr", "/f", "user.q")],
        ON, ["ENODATA", "ok", "EEXIST", ("ok", b"1")], {"/f"},
        id="setxattr-flags-are-judged-after-a-metacopy-copy-up",
    ),
    pytest.param(
        [{"/d": Node(DIR, opaque=True), "/d/x": Node(FILE), "/y": Node(FILE)}],
        [("setxattr", "/d/x", "trusted.overlay.x", b"1", *_F),
         ("getxattr", "/d/x", "trusted.overlay.x"), ("getxattr", "/d", "trusted.overlay.opaque"),
         ("setxattr", "/y", "trusted.overlay.", b"1", *_F), ("setxattr", "/y", _LONG, b"1", *_F),
         ("getxattr", "/y", _LONG)],
        OFF, ["ok", ("ok", b"1"), "ENODATA", "EINVAL", "EOPNOTSUPP", "EOPNOTSUPP"], {"/d", "/d/x"},
        id="trusted-overlay-names-are-escaped-and-overlays-own-are-hidden",
    ),
    pytest.param(
        [{"/d": Node(DIR, xattrs=(("user.top", b"t"),))},
         {"/d": Node(DIR, xattrs=(("user.low", b"l"),)), "/d/x": Node(FILE)}],
        [("getxattr", "/d", "user.low"), ("getxattr", "/d", "user.top"), ("chmod", "/d", 0o700),
         ("getxattr", "/d", "user.low")],
        OFF, ["ENODATA", ("ok", b"t"), "ok", "ENODATA"], {"/d"},
        id="a-merged-directory-shows-its-top-copys-attributes",
    ),
    pytest.param(
        [{"/p": Node(FIFO), "/s": Node(SYMLINK, target="t")}],
        [("setxattr", "/p", "user.a", b"1", *_F), ("getxattr", "/p", "user.a"),
         ("setxattr", "/s", "user.a", b"1", *_F), ("setxattr", "/p", "trusted.t", b"1", *_F),
         ("getxattr", "/p", "trusted.t")],
        OFF, ["EPERM", "ENODATA", "EPERM", "ok", ("ok", b"1")], {"/p"},
        id="user-attributes-live-on-files-and-directories-only",
    ),
    pytest.param(
        [{}],
        [("mknod", "/c", CHARDEV, 0o644, (0, 0)), ("mknod", "/b", BLOCKDEV, 0o644, (0, 0)),
         ("mknod", "/no/d", DIR, 0o755, (0, 0)), ("getxattr", "/no/x", ""),
         ("setxattr", "/no/x", "user.a", b"x" * (XATTR_SIZE_MAX + 1), *_F)],
        ON, ["EPERM", "ok", "EPERM", "ERANGE", "E2BIG"], {"/b"},
        id="mknod-of-the-whiteout-device-and-checks-before-the-lookup",
    ),
    pytest.param(
        [{"/p": Node(FIFO), "/c": Node(CHARDEV, rdev=(240, 1))}],
        [("open", "/p", True, False, False, False), ("open", "/p", False, False, False, True),
         ("read", "/p", 0, 1), ("fsync", "/p"), ("write", "/c", 0, 1),
         ("open", "/c", False, False, False, False)],
        ON, ["ENXIO", ("ok", FIFO, 0), "ESPIPE", "EINVAL", "ENXIO", "ENXIO"], set(),
        id="fifo-and-device-opens-copy-nothing-up",
    ),
]  # fmt: skip


class Found(NamedTuple):
    """A case of ``FOUND``."""

    layers: list[dict[str, Node]]
    ops: list[tuple[Any, ...]]
    opts: str
    outcomes: list[object]
    upper: set[str]

    def model(self) -> OverlayFS:
        return OverlayFS(
            LowerStack([Layer(f"l{i}", e) for i, e in enumerate(self.layers)]),
            metacopy="metacopy=on" in self.opts,
            redirect_dir="redirect_dir=on" in self.opts,
        )


@pytest.fixture(params=[pytest.param(Found(*case.values), id=case.id) for case in FOUND])
def found(request: pytest.FixtureRequest) -> Found:
    """One case of ``FOUND``."""
    case: Found = request.param
    return case


def test_found_behaviours_in_the_model(found: Found) -> None:
    """Each behaviour found against the kernel holds in the model (with or without root)."""
    fs = found.model()
    assert [model_apply(fs, op) for op in found.ops] == found.outcomes
    assert set(fs.upper_tree()) == found.upper


def test_found_behaviours_match_kernel(base_dir: Path, found: Found) -> None:
    """Each behaviour found against the kernel: its outcomes, view and upperdir, there."""
    fs = found.model()
    with _overlay(base_dir, found.layers, found.opts) as (mnt, updir):
        kernel = Kernel(mnt)
        try:
            assert [kernel.apply(op) for op in found.ops] == found.outcomes
            for op in found.ops:
                model_apply(fs, op)
        finally:
            kernel.close()
        _check_trees(fs, mnt, updir)
    assert set(fs.upper_tree()) == found.upper


def test_whiteout_and_copy_up_on_disk(base_dir: Path) -> None:
    """Writing a lower file copies it whole with an origin xattr; unlinking leaves a 0:0 device."""
    layers = [{"/a/b": Node(FILE, 10), "/c": Node(FILE, 4)}]
    fs = OverlayFS(LowerStack([Layer("l0", layers[0])]))
    with _overlay(base_dir, layers, OFF) as (mnt, upper):
        kernel = Kernel(mnt)
        try:
            for op in [("write", "/a/b", 0, 1), ("unlink", "/c")]:
                assert kernel.apply(op) == model_apply(fs, op)
        finally:
            kernel.close()
        _check_trees(fs, mnt, upper)
    assert _model_upper(fs) == {
        "/a": (DIR, 0, 0o755, None, False, False, True, None, (0, 0), ()),
        "/a/b": (FILE, 10, 0o644, None, False, False, True, None, (0, 0), ()),
        "/c": (WHITEOUT, 0, 0, None, False, False, False, None, (0, 0), ()),
    }
