"""What the tests of ``storsim.fs`` share: the example image, ``errno_of``, the random
inputs (layers and operations over a small path alphabet) and the two references the
model is checked against: Docker's layer extraction and a flat POSIX tree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import strategies as st

from storsim.fs import (
    DIR,
    FILE,
    SYMLINK,
    WHITEOUT,
    FsError,
    Layer,
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


def _layer_entries(raw: list[tuple[str, str, int]]) -> dict[str, Node]:
    entries: dict[str, Node] = {}
    for path, kind, size in sorted(raw, key=lambda e: e[0].count("/")):
        parts = path.split("/")[1:-1]
        ancestors = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        if path in entries or any(a in entries and entries[a].kind != DIR for a in ancestors):
            continue
        entries[path] = {
            FILE: Node(FILE, size),
            DIR: Node(DIR, mode=0o700 if size % 2 else 0o755),
            "opaque": Node(DIR, opaque=True),
            WHITEOUT: Node(WHITEOUT),
            SYMLINK: Node(SYMLINK, target="t" * (size + 1)),
        }[kind]
    return entries


layers_st = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from([FILE, FILE, DIR, WHITEOUT, "opaque", SYMLINK]),
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


@dataclass
class _RDir:
    mode: int
    lower: bool


class Reference:
    """A flat POSIX tree with Linux's error order and no layers: what a container should
    see whatever the layers do underneath. Only EXDEV for directories that have a lower
    part (without redirect_dir) comes from overlayfs."""

    def __init__(self, tree: dict[str, Node], *, redirect_dir: bool) -> None:
        self.redirect_dir = redirect_dir
        self.t: dict[str, _RFile | _RDir] = {"/": _RDir(0o755, True)}
        for p, n in tree.items():
            self.t[p] = (
                _RDir(n.mode, True)
                if n.kind == DIR
                else _RFile(n.kind, n.size_bytes, n.mode, n.target)
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

    def regular(self, path: str) -> _RFile:
        e = self.existing(path)
        if isinstance(e, _RDir):
            raise FsError("EISDIR", path)
        if e.kind == SYMLINK:
            raise FsError("ELOOP", path)
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
        f = self.regular(p)
        if trunc:
            f.size = 0
        return ("ok", FILE, f.size)

    def _read(self, p: str, offset: int, n: int) -> object:
        return ("ok", max(0, min(n, self.regular(p).size - offset)))

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
        if isinstance(e, _RFile) and e.kind == SYMLINK:
            raise FsError("ELOOP", p)
        return "ok"

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
                out[p] = (
                    Node(DIR, mode=e.mode)
                    if isinstance(e, _RDir)
                    else Node(e.kind, e.size, e.mode, target=e.target)
                )
        return out


def model_apply(fs: OverlayFS | PlainFS, op: tuple[Any, ...]) -> object:
    """Apply ``op`` to the model; returns what ``Reference.apply`` returns."""
    name, args = op[0], op[1:]
    try:
        if name == "stat":
            r = fs.stat(args[0])
            return ("ok", r.kind, 0 if r.kind == DIR else r.size_bytes)
        if name == "open":
            path, write, create, excl, trunc = args
            o = fs.open(path, write=write, create=create, excl=excl, trunc=trunc)
            return ("ok", o.kind, 0 if o.kind == DIR else o.size_bytes)
        if name == "read":
            return ("ok", fs.read(*args).nbytes)
        if name in ("write", "append"):
            return ("ok", getattr(fs, name)(*args).size_bytes)
        if name == "readdir":
            # Drop the ghost names of one-layer directories (see OverlayFS.readdir).
            names = fs.readdir(args[0]).names
            prefix = "/" if args[0] == "/" else args[0] + "/"
            return ("ok", tuple(n for n in names if prefix + n in fs.visible_tree()))
        getattr(fs, name)(*args)
    except FsError as e:
        return e.errno
    return "ok"


def draw_op(data: st.DataObject, visible: list[str], *, links: bool = True) -> tuple[Any, ...]:
    """A random operation, mostly on paths that exist right now."""
    path = (
        st.one_of(st.sampled_from(visible), st.sampled_from(PATHS))
        if visible
        else st.sampled_from(PATHS)
    )
    names = ["open", "write", "append", "read", "truncate", "unlink", "rmdir", "mkdir"]
    names += ["rename", "rename", "chmod", "symlink", "stat", "readdir", "fsync"]
    name = data.draw(st.sampled_from([*names, "link"] if links else names))
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
