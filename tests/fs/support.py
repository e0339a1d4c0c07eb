"""What the tests of ``storsim.fs`` share: the example image, ``errno_of``, the random
inputs (layers and operations over a small path alphabet) and the three references the
model is checked against: Docker's layer extraction, a flat POSIX tree, and the kernel's
lookup loop (``ovl_walk``: the layer directories each lookup of a path walk consults)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from hypothesis import strategies as st

from storsim.fs import (
    BLOCKDEV,
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    SYMLINK,
    WHITEOUT,
    XATTR_NAME_MAX,
    XATTR_SIZE_MAX,
    Component,
    ContainerView,
    FsError,
    Layer,
    Listing,
    Node,
    OverlayFS,
    PlainFS,
)

# The bottom layer, as a base image would have it.
BASE = Layer.build(
    "base",
    files={
        "/etc/app.conf": 100,
        "/data/big.db": 1000,
        "/d/f": 5,
        "/d/g": 2,
        "/e/x": 10,
        "/z": 0,
        "/lib/a/b": 1,
    },
    symlinks={"/s": "target"},
)
# The top layer: overrides /d/f, deletes /d/g, replaces /e wholesale.
TOP = Layer.build(
    "app",
    files={"/d/h": 3, "/d/f": 7, "/e/new": 4, "/app/main.py": 8},
    whiteouts=["/d/g"],
    opaque=["/e"],
)


def bare(result: Any) -> Any:
    """``result`` without its walk (the walk tests check walks on their own)."""
    return result._replace(walk=None)


def errno_of(call: Callable[[], object]) -> str:
    """The errno name ``call`` fails with."""
    with pytest.raises(FsError) as info:
        call()
    return info.value.errno


NAMES = ("a", "b")
PATHS = tuple(
    "/" + "/".join(parts)
    for parts in [(x,) for x in NAMES]
    + [(x, y) for x in NAMES for y in NAMES]
    + [(x, y, z) for x in NAMES for y in NAMES for z in NAMES]
)


# Attributes a lower file may carry (by its drawn size), and the names operations use:
# user and privileged namespaces, a process's trusted.overlay.* (escaped in the layers), a
# prefix alone (EINVAL), namespaces nobody serves (EOPNOTSUPP) and too long a name (ERANGE).
FILE_XATTRS = ((), (("user.a", b"L"),), (("trusted.t", b"T"), ("user.b", b"")))
XATTR_NAMES = (
    "user.a", "user.a", "user.b", "user.b", "trusted.t", "trusted.t", "security.s",
    "trusted.overlay.x", "user.", "foo.x", "system.x", "", "user." + "x" * (XATTR_NAME_MAX - 4),
    "trusted.overlay." + "x" * 233,
)  # fmt: skip
XATTR_VALUES = (b"", b"1", b"1", b"22", b"22", b"x" * (XATTR_SIZE_MAX + 1))


def _layer_entries(raw: list[tuple[str, str, int]]) -> dict[str, Node]:
    entries: dict[str, Node] = {}
    for path, kind, size in sorted(raw, key=lambda e: e[0].count("/")):
        parts = path.split("/")[1:-1]
        ancestors = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        if path in entries or any(a in entries and entries[a].kind != DIR for a in ancestors):
            continue
        entries[path] = {
            FILE: Node(FILE, size, xattrs=FILE_XATTRS[size % 3]),
            DIR: Node(DIR, mode=0o700 if size % 2 else 0o755),
            "opaque": Node(DIR, opaque=True),
            WHITEOUT: Node(WHITEOUT),
            SYMLINK: Node(SYMLINK, target="t" * (size + 1)),
            FIFO: Node(FIFO, mode=0o600 if size % 2 else 0o644),
        }[kind]
    return entries


layers_st = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from([FILE, FILE, DIR, WHITEOUT, "opaque", SYMLINK, FIFO]),
            st.integers(0, 9),
        ),
        max_size=12,
    ).map(lambda raw: Layer("l", _layer_entries(raw))),
    max_size=5,
)


def extract(layers: list[Layer]) -> dict[str, Node]:
    """Docker's way of building a root file system without overlayfs: unpack each layer
    (bottom first) over the previous ones, applying whiteouts and opaque markers."""
    tree: dict[str, Node] = {}

    def remove(path: str, *, keep_self: bool = False) -> None:
        for p in [p for p in tree if p.startswith(path + "/") or (p == path and not keep_self)]:
            del tree[p]

    for layer in reversed(layers):
        for path in sorted(layer.entries, key=lambda p: (p.count("/"), p)):
            node = layer.entries[path]
            if path == "/":
                continue
            if node.kind == WHITEOUT:
                remove(path)
            elif node.kind == DIR:
                if path in tree and tree[path].kind != DIR:
                    remove(path)
                if node.opaque:
                    remove(path, keep_self=True)
                tree[path] = Node(DIR, mode=node.mode)
            else:
                remove(path)
                tree[path] = node
    return dict(sorted(tree.items()))


@dataclass
class _RFile:
    kind: str
    size: int
    mode: int
    target: str | None = None
    rdev: tuple[int, int] = (0, 0)
    xattrs: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _RDir:
    mode: int
    lower: bool
    xattrs: dict[str, bytes] = field(default_factory=dict)


_NAMESPACES = ("user.", "trusted.", "security.")


class Reference:
    """A flat POSIX tree with Linux's error order and no layers: what a container should
    see whatever the layers do underneath. Only EXDEV for directories that have a lower
    part (without redirect_dir), EPERM for a 0:0 character device and the attribute names
    ``trusted.overlay.*`` that overlayfs keeps for itself come from overlayfs (``overlay``)."""

    def __init__(self, tree: dict[str, Node], *, redirect_dir: bool, overlay: bool = True) -> None:
        self.redirect_dir = redirect_dir
        self.overlay = overlay
        self.t: dict[str, _RFile | _RDir] = {"/": _RDir(0o755, True)}
        for p, n in tree.items():
            self.t[p] = (
                _RDir(n.mode, True, dict(n.xattrs))
                if n.kind == DIR
                else _RFile(n.kind, n.size_bytes, n.mode, n.target, n.rdev, dict(n.xattrs))
            )

    def parent(self, path: str) -> str:
        parent = path.rsplit("/", 1)[0] or "/"
        parts = [p for p in parent.split("/") if p]
        for i in range(len(parts)):
            e = self.t.get("/" + "/".join(parts[: i + 1]))
            if e is None:
                raise FsError("ENOENT", path)
            if isinstance(e, _RFile):
                raise FsError("ELOOP" if e.kind == SYMLINK else "ENOTDIR", path)
        return parent

    def get(self, path: str) -> _RFile | _RDir | None:
        self.parent(path)
        return self.t.get(path)

    def children(self, path: str) -> list[str]:
        prefix = "/" if path == "/" else path + "/"
        return sorted(p[len(prefix) :] for p in self.t if p.startswith(prefix) and p != path
                      and "/" not in p[len(prefix) :])  # fmt: skip

    def existing(self, path: str) -> _RFile | _RDir:
        e = self.get(path)
        if e is None:
            raise FsError("ENOENT", path)
        return e

    def regular(self, path: str, *, write: bool = True) -> _RFile:
        e = self.existing(path)
        if isinstance(e, _RDir):
            raise FsError("EISDIR", path)
        if e.kind == SYMLINK:
            raise FsError("ELOOP", path)
        if e.kind == FIFO:
            raise FsError("ENXIO" if write else "ESPIPE", path)
        if e.kind != FILE:
            raise FsError("ENXIO", path)
        return e

    def apply(self, op: tuple[Any, ...]) -> object:
        try:
            return getattr(self, "_" + op[0])(*op[1:])
        except FsError as e:
            return e.errno

    def _stat(self, p: str) -> object:
        e = self.existing(p)
        return ("ok", DIR, 0) if isinstance(e, _RDir) else ("ok", e.kind, e.size)

    def _open(self, p: str, write: bool, create: bool, excl: bool, trunc: bool) -> object:
        e = self.get(p)
        if e is None:
            if not create:
                raise FsError("ENOENT", p)
            self.t[p] = _RFile(FILE, 0, 0o644)
            return ("ok", FILE, 0)
        if create and excl:
            raise FsError("EEXIST", p)
        if isinstance(e, _RDir):
            if write or trunc or create:
                raise FsError("EISDIR", p)
            return ("ok", DIR, 0)
        if e.kind == FIFO and not write:
            return ("ok", FIFO, 0)
        f = self.regular(p)
        if trunc:
            f.size = 0
        return ("ok", FILE, f.size)

    def _read(self, p: str, offset: int, n: int) -> object:
        return ("ok", max(0, min(n, self.regular(p, write=False).size - offset)))

    def _write(self, p: str, offset: int, n: int) -> object:
        f = self.regular(p)
        if n:
            f.size = max(f.size, offset + n)
        return ("ok", f.size)

    def _append(self, p: str, n: int) -> object:
        f = self.regular(p)
        f.size += n
        return ("ok", f.size)

    def _truncate(self, p: str, size: int) -> object:
        self.regular(p).size = size
        return "ok"

    def _fsync(self, p: str) -> object:
        e = self.existing(p)
        if isinstance(e, _RFile) and e.kind != FILE:
            raise FsError({SYMLINK: "ELOOP", FIFO: "EINVAL"}.get(e.kind, "ENXIO"), p)
        return "ok"

    def _mknod(self, p: str, kind: str, mode: int, rdev: tuple[int, int]) -> object:
        if kind == DIR:
            raise FsError("EPERM", p)
        if self.get(p) is not None:
            raise FsError("EEXIST", p)
        if self.overlay and kind == CHARDEV and rdev == (0, 0):
            raise FsError("EPERM", p)
        self.t[p] = _RFile(kind, 0, mode, rdev=rdev if kind in (CHARDEV, BLOCKDEV) else (0, 0))
        return "ok"

    def _xattr_target(self, p: str, name: str, *, write: bool) -> _RFile | _RDir:
        e = self.existing(p)
        if name.startswith("user.") and isinstance(e, _RFile) and e.kind != FILE:
            raise FsError("EPERM" if write else "ENODATA", p)
        if self.overlay and name.startswith("trusted.overlay."):
            if name == "trusted.overlay.":
                raise FsError("EINVAL", p)
            if len(name) + len("overlay.") > XATTR_NAME_MAX:
                raise FsError("EOPNOTSUPP", p)
        prefix = next((ns for ns in _NAMESPACES if name.startswith(ns)), None)
        if prefix is None:
            raise FsError("EOPNOTSUPP", p)
        if name == prefix:
            raise FsError("EINVAL", p)
        return e

    def _setxattr(self, p: str, name: str, value: bytes, create: bool, replace: bool) -> object:
        if not name or len(name) > XATTR_NAME_MAX:
            raise FsError("ERANGE", p)
        if len(value) > XATTR_SIZE_MAX:
            raise FsError("E2BIG", p)
        e = self._xattr_target(p, name, write=True)
        if create and name in e.xattrs:
            raise FsError("EEXIST", p)
        if replace and name not in e.xattrs:
            raise FsError("ENODATA", p)
        e.xattrs[name] = value
        return "ok"

    def _getxattr(self, p: str, name: str) -> object:
        if not name or len(name) > XATTR_NAME_MAX:
            raise FsError("ERANGE", p)
        e = self._xattr_target(p, name, write=False)
        if name not in e.xattrs:
            raise FsError("ENODATA", p)
        return ("ok", e.xattrs[name])

    def _chmod(self, p: str, mode: int) -> object:
        e = self.existing(p)
        if isinstance(e, _RFile) and e.kind == SYMLINK:
            raise FsError("EOPNOTSUPP", p)
        e.mode = mode
        return "ok"

    def _readdir(self, p: str) -> object:
        if not isinstance(self.existing(p), _RDir):
            raise FsError("ENOTDIR", p)
        return ("ok", tuple(self.children(p)))

    def _unlink(self, p: str) -> object:
        if isinstance(self.existing(p), _RDir):
            raise FsError("EISDIR", p)
        del self.t[p]
        return "ok"

    def _rmdir(self, p: str) -> object:
        if not isinstance(self.existing(p), _RDir):
            raise FsError("ENOTDIR", p)
        if self.children(p):
            raise FsError("ENOTEMPTY", p)
        del self.t[p]
        return "ok"

    def _mkdir(self, p: str) -> object:
        if self.get(p) is not None:
            raise FsError("EEXIST", p)
        self.t[p] = _RDir(0o755, False)
        return "ok"

    def _symlink(self, target: str, p: str) -> object:
        if self.get(p) is not None:
            raise FsError("EEXIST", p)
        self.t[p] = _RFile(SYMLINK, len(target), 0o777, target)
        return "ok"

    def _link(self, s: str, d: str) -> object:
        e = self.existing(s)
        if self.get(d) is not None:
            raise FsError("EEXIST", d)
        if isinstance(e, _RDir):
            raise FsError("EPERM", s)
        self.t[d] = e  # the same object: a hard link
        return "ok"

    def _rename(self, s: str, d: str) -> object:
        self.parent(s)
        self.parent(d)
        e = self.existing(s)
        old = self.t.get(d)
        if d.startswith(s + "/"):
            raise FsError("EINVAL", s)
        if s.startswith(d + "/"):
            raise FsError("ENOTEMPTY", d)
        if e is old:
            return "ok"
        if old is not None:
            if isinstance(e, _RDir) and not isinstance(old, _RDir):
                raise FsError("ENOTDIR", d)
            if not isinstance(e, _RDir) and isinstance(old, _RDir):
                raise FsError("EISDIR", d)
        if isinstance(e, _RDir) and e.lower and not self.redirect_dir:
            raise FsError("EXDEV", s)
        if isinstance(old, _RDir) and self.children(d):
            raise FsError("ENOTEMPTY", d)
        moved = {p: v for p, v in self.t.items() if p == s or p.startswith(s + "/")}
        for p in moved:
            del self.t[p]
        self.t.pop(d, None)
        for p, v in moved.items():
            self.t[d + p[len(s) :]] = v
        return "ok"

    def tree(self) -> dict[str, Node]:
        out: dict[str, Node] = {}
        for p, e in sorted(self.t.items()):
            if p != "/":
                xattrs = tuple(e.xattrs.items())
                out[p] = (
                    Node(DIR, mode=e.mode, xattrs=xattrs)
                    if isinstance(e, _RDir)
                    else Node(e.kind, e.size, e.mode, target=e.target, rdev=e.rdev, xattrs=xattrs)
                )
        return out


def call_op(fs: OverlayFS | PlainFS | ContainerView, op: tuple[Any, ...]) -> Any:
    """Apply ``op`` (a tuple of ``draw_op``) to ``fs``; returns its result (raises FsError)."""
    name, args = op[0], op[1:]
    if name == "open":
        path, write, create, excl, trunc = args
        return fs.open(path, write=write, create=create, excl=excl, trunc=trunc)
    if name == "open_write":
        path, offset, nbytes, append = args
        return fs.open_write(path, offset, nbytes, append=append)
    if name == "setxattr":
        path, attr, value, create, replace = args
        return fs.setxattr(path, attr, value, create=create, replace=replace)
    return getattr(fs, name)(*args)


def outcome(op: tuple[Any, ...], result: Any) -> object:
    """What ``Reference.apply`` (and the kernel harness) return for ``op``'s ``result``."""
    name = op[0]
    if name in ("stat", "open"):
        return ("ok", result.kind, 0 if result.kind == DIR else result.size_bytes)
    if name == "read":
        return ("ok", result.nbytes)
    if name in ("write", "append", "open_write"):
        return ("ok", result.size_bytes)
    if name == "getxattr":
        return ("ok", result.value)
    if name == "readdir":
        return ("ok", result.names)
    return "ok"


def model_apply(fs: OverlayFS | PlainFS, op: tuple[Any, ...]) -> object:
    """Apply ``op`` to the model; returns what ``Reference.apply`` returns."""
    try:
        result = call_op(fs, op)
    except FsError as e:
        return e.errno
    if op[0] == "readdir":
        # Drop the ghost names of one-layer directories (see OverlayFS.readdir).
        prefix = "/" if op[1] == "/" else op[1] + "/"
        visible = fs.visible_tree()
        return ("ok", tuple(n for n in result.names if prefix + n in visible))
    return outcome(op, result)


def draw_op(data: st.DataObject, visible: list[str], *, links: bool = True) -> tuple[Any, ...]:
    """A random operation, mostly on paths that exist right now."""
    path = (
        st.one_of(st.sampled_from(visible), st.sampled_from(PATHS))
        if visible
        else st.sampled_from(PATHS)
    )
    names = ["open", "write", "append", "read", "truncate", "unlink", "rmdir", "mkdir"]
    names += ["rename", "rename", "chmod", "symlink", "stat", "readdir", "fsync"]
    names += ["mknod", "setxattr", "setxattr", "getxattr", "getxattr"]
    name = data.draw(st.sampled_from([*names, "link"] if links else names))
    extra = draw_special_op(data, name, path)
    if extra is not None:
        return extra
    if name == "open":
        return (name, data.draw(path), *data.draw(st.tuples(*[st.booleans()] * 4)))
    if name in ("write", "read"):
        return (name, data.draw(path), data.draw(st.integers(0, 20)), data.draw(st.integers(0, 9)))
    if name in ("append", "truncate"):
        return (name, data.draw(path), data.draw(st.integers(0, 20)))
    if name in ("rename", "link"):
        return (name, data.draw(path), data.draw(path))
    if name == "chmod":
        return (name, data.draw(path), data.draw(st.sampled_from([0o600, 0o700, 0o755])))
    if name == "symlink":
        return (name, data.draw(st.sampled_from(["a", "../b", "/x/y"])), data.draw(path))
    return (name, data.draw(path))


MKNOD_KINDS = (FIFO, FIFO, CHARDEV, BLOCKDEV, FILE, DIR)
RDEVS = ((0, 0), (240, 1), (241, 7))


def draw_special_op(
    data: st.DataObject, name: str, path: st.SearchStrategy[str]
) -> tuple[Any, ...] | None:
    """The arguments of ``mknod``, ``setxattr`` and ``getxattr`` (None for other ops)."""
    if name == "mknod":  # like mkdir, anywhere: mostly a new name
        kind = data.draw(st.sampled_from(MKNOD_KINDS))
        mode = data.draw(st.sampled_from([0o600, 0o644]))
        where = data.draw(st.sampled_from(PATHS))
        return (name, where, kind, mode, data.draw(st.sampled_from(RDEVS)))
    if name == "setxattr":
        attr = data.draw(st.sampled_from(XATTR_NAMES))
        value = data.draw(st.sampled_from(XATTR_VALUES))
        flag = data.draw(st.sampled_from([None, None, "create", "replace"]))
        return (name, data.draw(path), attr, value, flag == "create", flag == "replace")
    if name == "getxattr":  # mostly names that the layers or earlier calls set
        names = st.one_of(st.sampled_from(XATTR_NAMES[:5]), st.sampled_from(XATTR_NAMES))
        return (name, data.draw(path), data.draw(names))
    return None


# --------------------------------------------------------------------------- ovl_lookup


class UpperEntry(NamedTuple):
    """An entry of an upper directory as ``ovl_lookup`` reads it."""

    kind: str
    opaque: bool = False
    metacopy: bool = False
    redirect: str | None = None


def model_upper(fs: OverlayFS) -> dict[str, UpperEntry]:
    """The model's upper tree, as ``ovl_walk`` reads it."""
    redirects = fs.redirects()
    return {
        p: UpperEntry(n.kind, n.opaque, n.metacopy, redirects.get(p))
        for p, n in fs.upper_tree().items()
    }


class WalkState(NamedTuple):
    """A resolved directory: whether it has an upper part, and its lower merge stack as
    (layer index, path in that layer), top-most first."""

    upper: bool
    stack: tuple[tuple[int, str], ...]


def ovl_walk(
    lowers: Sequence[Mapping[str, Node]], upper: Mapping[str, UpperEntry], path: str
) -> tuple[list[tuple[str, int, bool, bool]], WalkState | None]:
    """The kernel's path walk of ``path`` on a fresh mount, counted the way ``ovl_lookup``
    (``fs/overlayfs/namei.c``) loops, on the raw layers and upper tree: for each component,
    (path, layer directories consulted, whether one was the parent's upper, found); and
    the final directory's state (None if the walk did not end at a directory).

    Written from the kernel's code, not from the model's: the upper directory of the
    parent first (a whiteout, a non-metacopy non-directory or an opaque directory there
    stops the search; a redirect renames what the lowers are asked for, an absolute one
    searches every layer from its root), then one lower layer per loop iteration until
    a whiteout, a non-directory, an opaque directory or a metacopy's data stops it.
    """
    root = tuple((i, "/") for i in range(len(lowers)))
    state = WalkState(True, root)
    out: list[tuple[str, int, bool, bool]] = []
    cur = "/"
    for name in [c for c in path.split("/") if c]:
        p = cur + name if cur == "/" else cur + "/" + name
        count, kind, child = _ovl_lookup(lowers, upper, state, root, p, name)
        out.append((p, count, state.upper, kind is not None))
        if kind != DIR:
            return out, None
        assert child is not None
        state, cur = child, p
    return out, state


def _ovl_lookup(
    lowers: Sequence[Mapping[str, Node]],
    upper: Mapping[str, UpperEntry],
    parent: WalkState,
    root: tuple[tuple[int, str], ...],
    p: str,
    name: str,
) -> tuple[int, str | None, WalkState | None]:
    count = 0
    stop = is_dir = metacopy = has_upper = False
    kind: str | None = None
    lname, absolute = name, False
    if parent.upper:
        count = 1
        e = upper.get(p)
        if e is not None:
            if e.kind == WHITEOUT:
                stop = True
            else:
                kind, has_upper = e.kind, True
                if e.kind == DIR:
                    is_dir, stop = True, e.opaque
                elif e.metacopy:
                    metacopy = True
                else:
                    stop = True
                if not stop and e.redirect is not None:
                    lname, absolute = e.redirect, e.redirect.startswith("/")
    merged: list[tuple[int, str]] = []
    for li, lp in root if absolute else parent.stack:
        if stop:
            break
        count += 1
        if absolute:
            target = lname
            node, stop = _absolute_lookup(lowers[li], lname)
        else:
            target = lp + lname if lp == "/" else lp + "/" + lname
            node = lowers[li].get(target)
        if node is None:
            continue
        if node.kind == WHITEOUT or metacopy:
            stop = True  # a whiteout; or a metacopy file's data (or what is no data)
            continue
        if node.kind != DIR:
            stop = True
            if not is_dir:
                kind = node.kind
            continue
        kind, is_dir = DIR, True
        merged.append((li, target))
        stop = stop or node.opaque
    if kind != DIR:
        return count, kind, None
    return count, kind, WalkState(has_upper, tuple(merged))


def _absolute_lookup(layer: Mapping[str, Node], path: str) -> tuple[Node | None, bool]:
    """``ovl_lookup_layer`` of an absolute redirect in one layer: the node found, and whether
    the search stops after this layer (a whiteout or non-directory on the way, or an opaque
    directory, even one above the target)."""
    stop = False
    parts = [c for c in path.split("/") if c]
    for i in range(1, len(parts)):
        node = layer.get("/" + "/".join(parts[:i]))
        if node is None:
            return None, stop
        if node.kind != DIR:
            return None, True
        stop = stop or node.opaque
    return layer.get(path), stop


def ovl_dir_entries(
    lowers: Sequence[Mapping[str, Node]], upper: Mapping[str, UpperEntry], path: str
) -> tuple[int, ...]:
    """The entries ``readdir`` of the directory ``path`` reads from each layer's copy of
    it (upper first, whiteouts included): what the kernel's ``ovl_dir_read_merged``
    iterates."""
    _, state = ovl_walk(lowers, upper, path)
    assert state is not None
    out = []
    if state.upper:
        prefix = "/" if path == "/" else path + "/"
        out.append(sum(1 for q in upper if q.startswith(prefix) and "/" not in q[len(prefix) :]))
    for li, lp in state.stack:
        prefix = "/" if lp == "/" else lp + "/"
        layer = lowers[li]
        out.append(sum(1 for q in layer if q.startswith(prefix) and "/" not in q[len(prefix) :]))
    return tuple(out)


def op_walk(
    lowers: Sequence[Mapping[str, Node]], upper: Mapping[str, UpperEntry], op: tuple[Any, ...]
) -> list[tuple[str, int, bool, bool]]:
    """The lookups ``op`` makes before it fails or succeeds, in the kernel's order:
    ``rename`` walks both parents, then looks up the source's name and, if the source
    exists, the target's (``do_renameat2``); ``link`` walks the source, then the target
    (``do_linkat``); a call that fails before any lookup (ERANGE, E2BIG, EBUSY for ``/``,
    an empty symlink target, mknod of a directory) makes none."""
    name = op[0]
    if name in ("setxattr", "getxattr"):
        attr = op[2]
        if (
            not attr
            or len(attr) > XATTR_NAME_MAX
            or (name == "setxattr" and len(op[3]) > XATTR_SIZE_MAX)
        ):
            return []
    if (name == "symlink" and not op[1]) or (name == "mknod" and op[2] == DIR):
        return []
    if name == "rename":
        s, t = op[1], op[2]
        if "/" in (s, t):
            return []
        ws, wt = ovl_walk(lowers, upper, s)[0], ovl_walk(lowers, upper, t)[0]
        if len(ws) < s.count("/"):
            return ws
        if len(wt) < t.count("/"):
            return ws[:-1] + wt
        if not ws[-1][3]:
            return ws[:-1] + wt[:-1] + ws[-1:]
        return ws[:-1] + wt[:-1] + ws[-1:] + wt[-1:]
    if name == "link":
        s, t = op[1], op[2]
        ws = ovl_walk(lowers, upper, s)[0]
        if len(ws) < s.count("/") or not ws[-1][3]:
            return ws
        return ws + ovl_walk(lowers, upper, t)[0]
    path = op[2] if name == "symlink" else op[1]
    return ovl_walk(lowers, upper, path)[0]


def op_path(op: tuple[Any, ...]) -> str:
    """The path a one-path operation works on."""
    return str(op[2] if op[0] == "symlink" else op[1])


def plain_upper(fs: PlainFS) -> dict[str, UpperEntry]:
    """A plain tree as ``ovl_walk`` reads it (no lowers: every lookup consults 1)."""
    return {p: UpperEntry(n.kind) for p, n in fs.upper_tree().items()}


def apply_checked(
    fs: OverlayFS | PlainFS, lowers: Sequence[Mapping[str, Node]], op: tuple[Any, ...]
) -> object:
    """Apply ``op`` and check its lookups against ``ovl_walk`` on the model's own upper
    tree: the walk (the result's, ``fs.walk`` of the path, or the error's), the final
    component's count and, for ``readdir``, the entries read per layer. Returns what
    ``Reference.apply`` returns (the result's outcome, or the errno name)."""
    upper = model_upper(fs) if isinstance(fs, OverlayFS) else plain_upper(fs)
    want = [Component(*c) for c in op_walk(lowers, upper, op)]
    try:
        result = call_op(fs, op)
    except FsError as e:
        error = e
    else:
        error = None
    if error is not None:
        assert error.walk is not None, op
        assert list(error.walk) == want, (op, error.errno)
        assert error.layers_visited == (want[-1].layers_visited if want else 0), op
        return error.errno
    walk = result.walk
    if walk is None:
        assert op[0] not in ("rename", "link"), op  # two walks: always in the result
        walk = fs.walk(op_path(op))
    assert list(walk) == want, op
    if isinstance(result, Listing):  # its layers_visited counts the directories it read
        assert result.layer_entries == ovl_dir_entries(lowers, upper, op[1]), op
        assert result.layers_visited == len(result.layer_entries), op
    elif hasattr(result, "layers_visited"):
        assert result.layers_visited == want[-1].layers_visited, op
    return outcome(op, result)
