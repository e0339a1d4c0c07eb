"""Union file system and mount semantics: what Linux overlayfs and Docker's mounts do, with no time.

A container's root file system is like a stack of overhead-projector transparencies. The
image layers are sheets that nobody may draw on; the container gets one clean sheet on top.
Looking down through the stack you see, at each spot, the top-most ink. To change a drawing
that is on a lower sheet you first trace it onto the top sheet (*copy-up*, the whole file,
however small the change); to erase it you stick an opaque white label on the top sheet
(a *whiteout*); to start a drawing afresh in a spot you cover that spot with an opaque
patch (an *opaque directory*). Mounts are sheets of another stack slid in at one spot:
they hide whatever the image has there.

This module answers "what happens?" for every file operation: which layer served it, how
many layer directories the lookup consulted, how many bytes a copy-up moved, which errno
the kernel returns. It holds no clock; ``storsim.backends`` turns those answers into time.

Objects::

    Node, Layer             one immutable image layer (a lowerdir)
    LowerStack              the image's lowers, top-most first, with a merged index
                            precomputed once and shared by every container of the image
    OverlayFS               one container's root: the lower stack plus a private upper
    PlainFS                 an ordinary tree: a volume, a bind mount's host directory, a tmpfs
    Mount, ContainerView    the mount table: longest prefix wins

Every operation returns a small NamedTuple (``Lookup``, ``Opened``, ``Read``, ``Written``,
``Changed``, ``Listing``) or raises ``FsError`` whose ``errno`` is the errno *name*.

Model choices (simplifications, on purpose):

- Paths are absolute and normalised lexically (``..`` is resolved as text).
- No symbolic link is ever followed, as if every call used ``openat2(RESOLVE_NO_SYMLINKS)``
  and ``O_NOFOLLOW``: a symlink used as a directory gives ELOOP; opening, reading, writing,
  truncating or fsyncing a symlink gives ELOOP; ``readdir`` of one gives ENOTDIR; ``chmod``
  of one gives EOPNOTSUPP (``fchmodat2(AT_SYMLINK_NOFOLLOW)``); ``stat`` is ``lstat``.
- ``truncate(path, size)`` and ``write`` behave like ``open(O_WRONLY)`` followed by
  ``ftruncate``/``pwrite``; negative sizes, offsets and byte counts are API misuse
  (``ValueError``), not simulated failures.
- ``layers_visited`` follows the kernel's lookup loop (``ovl_lookup``): the upper directory
  counts 1 when the parent has one; each lower layer of the parent's merge stack consulted
  until a hit that stops the search counts 1. For directories reached through a redirect
  it uses the redirect target's count (the kernel walks the whole path per layer there).
- The overlay's ``index``, ``xino``, ``nfs_export`` features are off (Docker's setting), and
  the "impure" xattr that the kernel puts on upper directories (it only serves readdir's
  ``d_ino``) is not modelled; nor is ``redirect_max``.

Kernel behaviour found by the differential test (``tests/test_fs_kernel.py``, Linux 6.18,
``index=off``) and modelled here, beyond the textbook rules:

- ``mkdir`` makes an opaque directory when it replaces a whiteout that is in the upper
  layer (``ovl_create_over_whiteout``) and, only with ``redirect_dir=on``, whenever the
  parent is merged (has a lower part). With ``redirect_dir=off`` a new directory in a
  merged parent is not opaque, and its later lookups keep consulting the lowers.
- A directory that lives in one layer only (no upper part, one lower) is read straight
  from that layer: ``readdir`` lists the whiteouts in it, as ghost names that ``stat``
  reports as ENOENT; ``rmdir`` ignores them. Merged directories filter whiteouts out.
- A directory that has no lower part, renamed into a merged directory, is marked opaque
  (so that a lower entry of the same name can never leak into it).
- With ``redirect_dir``, renaming a merged or lower directory stores a redirect: the old name
  if the parent did not change, else the absolute lower path; an existing redirect is kept
  if it is absolute or the parent did not change. A redirected directory removed with
  ``rmdir`` leaves no whiteout under its new name (the old name keeps its own whiteout).
- ``metacopy=on`` cannot be combined with ``redirect_dir=off`` (the kernel refuses the mount);
  without an explicit ``redirect_dir``, metacopy turns it on. So ``OverlayFS(metacopy=True)``
  always behaves with ``redirect_dir`` on.
- Metacopy covers every copy-up that is not caused by a write-open, ``O_TRUNC`` or
  ``truncate``: ``chmod``, but also ``rename`` and ``link`` of a lower file, and empty files.
  Renaming a metacopy file stores a redirect (relative in the same directory, else the
  absolute data path); hard-linking one stores the absolute data path on the shared inode.
  The data copy-up later drops the metacopy xattr but keeps the redirect.
- ``truncate`` of a lower file copies the whole file first (``ovl_setattr`` asks for a data
  copy-up), even when truncating to 0; only an ``O_TRUNC`` open copies no data.
- Every copy-up records a ``trusted.overlay.origin`` xattr on the copied file, directory or
  symlink, including the parent directories copied up on the way
  (``copied_up_paths()`` lists them).
- ``rename(a, b)`` where ``b`` is a hard link of ``a`` (or ``a == b``) does nothing and copies
  nothing up. When ``b`` is a non-empty directory that has no lower part, the ENOTEMPTY
  comes from the upper file system, *after* ``a`` was copied up and given its redirect or
  opaque mark: those stay although the rename failed. Error order of ``rename``: missing
  source parent, missing target parent, missing source, source is an ancestor of the
  target (EINVAL), target is an ancestor of the source (ENOTEMPTY), type mismatch
  (ENOTDIR/EISDIR), EXDEV, target not empty.
- ``link`` of a directory onto an existing name is EEXIST, not EPERM; ``unlink`` of a
  directory (or of ``/``) is EISDIR; ``rmdir("/")`` is EBUSY; ``open(O_CREAT)`` of an
  existing directory is EISDIR; ``O_CREAT|O_EXCL`` on a symlink is EEXIST.
- Whiteouts in the upper directory are character devices 0:0 with mode 000.
"""

from __future__ import annotations

import errno as _errno
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple, Protocol

from storsim import names

__all__ = [
    "DIR",
    "DOCKER_MAX_LAYERS",
    "FILE",
    "KERNEL_MAX_LAYERS",
    "MUTATING_OPS",
    "OPS",
    "STORAGES",
    "SYMLINK",
    "WHITEOUT",
    "Changed",
    "ContainerView",
    "FileSystem",
    "FsError",
    "Layer",
    "Listing",
    "Lookup",
    "LowerEntry",
    "LowerStack",
    "Mount",
    "Node",
    "Opened",
    "OverlayFS",
    "PlainFS",
    "Read",
    "Wrote",
    "Written",
]

_new_tuple = tuple.__new__

FILE: Final = "file"
DIR: Final = "dir"
SYMLINK: Final = "symlink"
WHITEOUT: Final = "whiteout"

DOCKER_MAX_LAYERS: Final = 128
"""Docker overlay2's ``maxDepth``: images deeper than this are refused."""
KERNEL_MAX_LAYERS: Final = 500
"""The kernel's own limit on lower layers (``OVL_MAX_STACK``)."""

OPS: Final = frozenset(names.OPS)
"""Operation names a ``Mount`` may list as unsupported."""
MUTATING_OPS: Final = frozenset(
    {
        "write",
        "append",
        "create",
        "unlink",
        "rename",
        "mkdir",
        "rmdir",
        "chmod",
        "link",
        "symlink",
        "truncate",
    }
)
"""Operations that a read-only mount refuses with EROFS."""
STORAGES: Final = names.STORAGES
"""The storage choices, named as everywhere in storsim."""

_ERRNO_NAMES: Final = frozenset(_errno.errorcode.values()) | {"EOPNOTSUPP"}
_KIND_MODE: Final = {FILE: 0o644, DIR: 0o755, SYMLINK: 0o777, WHITEOUT: 0}
_DEFAULT_MODE: Final = -1


class FsError(Exception):
    """A file operation failed the way the kernel fails it.

    Not a ``StorsimError``: it is the simulated application's error, which a backend
    turns into a record, never a fault of storsim or of the scenario.

    Args:
        errno: the errno name, e.g. ``"ENOENT"``.
        path: the path the operation was given.
    """

    def __init__(self, errno: str, path: str) -> None:
        super().__init__(errno, path)
        self.errno = errno
        self.path = path

    def __str__(self) -> str:
        return f"{self.errno}: {self.path}"


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of a tree: a file, directory, symlink or (in layers only) whiteout.

    Args:
        kind: ``"file"``, ``"dir"``, ``"symlink"`` or ``"whiteout"``.
        size_bytes: file size; for a symlink the length of its target (set for you).
        mode: permission bits; defaults to 0o644 for files, 0o755 for directories, 0o777 for
            symlinks (the only mode Linux gives them) and 0 for whiteouts.
        opaque: a directory that hides the layers below it.
        target: a symlink's target.
        metacopy: in an upper tree, a file whose data still lives in a lower layer.

    Raises:
        ValueError: on a combination the kernel cannot hold (an opaque file, a symlink
            without target, a negative size...).
    """

    kind: str
    size_bytes: int = 0
    mode: int = _DEFAULT_MODE
    opaque: bool = False
    target: str | None = None
    metacopy: bool = False

    def __post_init__(self) -> None:
        kind = self.kind
        if kind not in _KIND_MODE:
            raise ValueError(f"kind must be one of {sorted(_KIND_MODE)} (got {kind!r})")
        if self.mode == _DEFAULT_MODE:
            object.__setattr__(self, "mode", _KIND_MODE[kind])
        elif not 0 <= self.mode <= 0o7777:
            raise ValueError(f"mode must be within 0..0o7777 (got {self.mode:#o})")
        if self.size_bytes < 0:
            raise ValueError(f"size_bytes must be >= 0 (got {self.size_bytes!r})")
        if kind == SYMLINK:
            if not self.target:
                raise ValueError(f"a symlink must have a non-empty target (got {self.target!r})")
            length = len(self.target.encode())
            if self.size_bytes not in (0, length):
                raise ValueError(f"a symlink's size_bytes must be {length} (got {self.size_bytes})")
            object.__setattr__(self, "size_bytes", length)
            if self.mode != 0o777:
                raise ValueError(f"a symlink's mode must be 0o777 (got {self.mode:#o})")
        elif self.target is not None:
            raise ValueError(f"only a symlink has a target (got kind {kind!r})")
        if kind in (DIR, WHITEOUT) and self.size_bytes:
            raise ValueError(f"a {kind} must have size_bytes 0 (got {self.size_bytes})")
        if self.opaque and kind != DIR:
            raise ValueError(f"only a directory can be opaque (got kind {kind!r})")
        if self.metacopy and kind != FILE:
            raise ValueError(f"only a file can be metacopy (got kind {kind!r})")


class Lookup(NamedTuple):
    """Result of ``stat``: what the path is and where it was found."""

    kind: str
    size_bytes: int
    layer: int
    """0 is the upper (or a PlainFS); 1..n are the lowers, top-most first."""
    layers_visited: int
    """Layer directories the lookup of the final component consulted."""


class Opened(NamedTuple):
    """Result of ``open``."""

    kind: str
    size_bytes: int
    layer: int
    layers_visited: int
    created: bool
    copy_up_bytes: int
    """Data bytes copied from a lower layer into the upper by this open."""
    copied_up: bool
    """A copy-up happened (True with 0 bytes for an ``O_TRUNC`` open)."""


class Read(NamedTuple):
    """Result of ``read``."""

    nbytes: int
    """Bytes read, clipped at end of file."""
    layer: int
    """Where the data comes from: a metacopy upper file still reads from its lower."""


class Written(NamedTuple):
    """Result of ``write`` and ``append``."""

    size_bytes: int
    """The file's size after the write."""
    copy_up_bytes: int


class Wrote(NamedTuple):
    """Result of ``open_write``: an ``open(O_WRONLY|O_CREAT)`` and its write, as one."""

    size_bytes: int
    """The file's size after the write."""
    layers_visited: int
    """Layer directories the open's lookup consulted."""
    copy_up_bytes: int
    """Data bytes the open copied up from a lower layer."""
    copied_up: bool
    """The open copied the file up (its data, or only its metadata first)."""
    source_layer: int
    """The layer the open copied the file's data from (0: no data copied up)."""
    offset: int
    """Where the data was written (for an append: the size at the open)."""
    layer: int = 0
    """Where the data lives now: always the upper (0)."""


class Changed(NamedTuple):
    """Result of an operation that changes the tree."""

    copy_up_bytes: int


class Listing(NamedTuple):
    """Result of ``readdir``."""

    names: tuple[str, ...]
    """Visible entry names, sorted; no ``.`` or ``..``."""
    layers_visited: int
    """Layer directories read to merge the listing."""


def _norm(path: str) -> str:
    # Fast path first: almost every call already passes a normalised path.
    if path[:1] == "/" and "//" not in path and "/." not in path and path[-1:] != "/":
        return path
    if path == "/":
        return path
    if not path.startswith("/"):
        raise ValueError(f"path must be absolute (got {path!r})")
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/")


def _split(path: str) -> tuple[str, str]:
    i = path.rfind("/")
    return path[:i] or "/", path[i + 1 :]


def _join(parent: str, name: str) -> str:
    return "/" + name if parent == "/" else parent + "/" + name


def _depth(path: str) -> int:
    return 0 if path == "/" else path.count("/")


class Layer:
    """One immutable image layer, like a directory that overlayfs uses as a lowerdir.

    Args:
        name: a label (the layer's digest, or "base", "app"...).
        entries: path -> Node. Missing parent directories are implied (mode 0o755).

    Raises:
        ValueError: if an entry lies below a non-directory, or the root is not a plain
            directory.
    """

    __slots__ = ("_children", "entries", "name")

    def __init__(self, name: str, entries: Mapping[str, Node]) -> None:
        self.name = name
        given = {_norm(p): n for p, n in entries.items()}
        root = given.get("/", Node(DIR))
        if root.kind != DIR or root.opaque:
            raise ValueError(f"layer {name!r}: '/' must be a plain directory (got {root!r})")
        full: dict[str, Node] = {"/": root}
        for path in sorted(given, key=_depth):
            node = given[path]
            if node.metacopy:
                raise ValueError(f"layer {name!r}: {path} must not be metacopy in a lower layer")
            parent = _split(path)[0]
            while parent not in full:
                full[parent] = Node(DIR)
                parent = _split(parent)[0]
            parent = _split(path)[0]
            if path != "/" and full[parent].kind != DIR:
                kind = full[parent].kind
                raise ValueError(f"layer {name!r}: {path} is below {parent}, which is a {kind}")
            full[path] = node
        children: dict[str, list[str]] = {}
        for path in full:
            if path != "/":
                parent, child = _split(path)
                children.setdefault(parent, []).append(child)
        self.entries: Mapping[str, Node] = MappingProxyType(full)
        self._children: dict[str, tuple[str, ...]] = {p: tuple(c) for p, c in children.items()}

    @classmethod
    def build(
        cls,
        name: str,
        files: Mapping[str, int] | None = None,
        dirs: Iterable[str] = (),
        whiteouts: Iterable[str] = (),
        opaque: Iterable[str] = (),
        symlinks: Mapping[str, str] | None = None,
    ) -> Layer:
        """Build a layer from plain lists.

        Args:
            name: the layer's label.
            files: path -> size in bytes.
            dirs: directories (parents of other entries need not be listed).
            whiteouts: paths this layer deletes from the layers below.
            opaque: directories that hide the layers below them.
            symlinks: path -> target.

        Returns:
            The layer.

        Raises:
            ValueError: if a path is given twice or lies below a non-directory.
        """
        entries: dict[str, Node] = {}

        def add(path: str, node: Node) -> None:
            path = _norm(path)
            if path in entries and not (node.opaque and entries[path].kind == DIR):
                raise ValueError(f"layer {name!r}: {path} is given twice")
            entries[path] = node

        for path in dirs:
            add(path, Node(DIR))
        for path in opaque:
            add(path, Node(DIR, opaque=True))
        for path, size in (files or {}).items():
            add(path, Node(FILE, size))
        for path in whiteouts:
            add(path, Node(WHITEOUT))
        for path, target in (symlinks or {}).items():
            add(path, Node(SYMLINK, target=target))
        return cls(name, entries)

    @property
    def size_bytes(self) -> int:
        """Total size of the files in this layer."""
        return sum(n.size_bytes for n in self.entries.values() if n.kind == FILE)

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {len(self.entries)} entries)"


class LowerEntry(NamedTuple):
    """One name of the merged lower view, as ``ovl_lookup`` would find it.

    Present for every name that some layer of the parent's merge stack holds, whiteouts
    included (a whiteout on top makes the name absent, but the lookup still stops there).
    """

    kind: str
    """Kind of the top-most entry, ``"whiteout"`` included."""
    node: Node | None
    """What the merged view shows (never opaque); None for a whiteout."""
    layer: int
    """1-based index of the top-most layer holding the name."""
    layers_visited: int
    """Lower layer directories consulted before the lookup stopped."""
    stack: tuple[int, ...]
    """Directories: the lower layers merged into it, top-most first."""
    names: tuple[str, ...]
    """Directories: visible child names, sorted."""
    ancestors: tuple[str, ...]
    """Proper ancestors, ``"/"`` first."""


class LowerStack:
    """The read-only layers of one image, top-most first, merged once.

    Built once per image and shared by every container of that image. The merge is
    precomputed into one dict, so a lookup is a dict hit however deep the image is.

    Args:
        layers: the image's layers, top-most first (the order of ``lowerdir=``).
        max_layers: refuse deeper images, like Docker overlay2 (128); the kernel's own limit
            (500) always applies.

    Raises:
        ValueError: ``"max depth exceeded ..."`` when there are too many layers.
    """

    __slots__ = ("_index", "layers", "max_layers")

    def __init__(self, layers: Sequence[Layer], *, max_layers: int = DOCKER_MAX_LAYERS) -> None:
        if max_layers < 1:
            raise ValueError(f"max_layers must be >= 1 (got {max_layers!r})")
        limit = min(max_layers, KERNEL_MAX_LAYERS)
        if len(layers) > limit:
            raise ValueError(f"max depth exceeded: {len(layers)} lower layers > {limit}")
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.max_layers = max_layers
        self._index: dict[str, LowerEntry] = self._merge()

    def _merge(self) -> dict[str, LowerEntry]:
        ents = [layer.entries for layer in self.layers]
        kids = [layer._children for layer in self.layers]
        index: dict[str, LowerEntry] = {}
        root_mode = ents[0]["/"].mode if ents else _KIND_MODE[DIR]
        root_stack = tuple(range(1, len(ents) + 1))
        # Breadth-first over merged directories: (path, node, layer, visited, stack, ancestors).
        todo: list[tuple[str, Node, int, int, tuple[int, ...], tuple[str, ...]]] = [
            ("/", Node(DIR, mode=root_mode), 1 if ents else 0, 1, root_stack, ())
        ]
        while todo:
            path, dnode, dlayer, dvisited, stack, ancestors = todo.pop()
            child_ancestors = (*ancestors, path)
            prefix = "/" if path == "/" else path + "/"
            seen: dict[str, None] = {}
            for li in stack:
                for name in kids[li - 1].get(path, ()):
                    seen[name] = None
            visible: list[str] = []
            for name in seen:
                child = prefix + name
                pos, li, node = _first(ents, stack, child)
                if node.kind == WHITEOUT:
                    index[child] = LowerEntry(WHITEOUT, None, li, pos + 1, (), (), child_ancestors)
                    continue
                visible.append(name)
                if node.kind != DIR:
                    index[child] = LowerEntry(node.kind, node, li, pos + 1, (), (), child_ancestors)
                    continue
                # A directory keeps merging downwards until an opaque directory, a
                # non-directory or a whiteout stops the lookup (ovl_lookup_single).
                merged = [li]
                visited = len(stack)
                if node.opaque:
                    visited = pos + 1
                else:
                    for pos2 in range(pos + 1, len(stack)):
                        below = ents[stack[pos2] - 1].get(child)
                        if below is None:
                            continue
                        if below.kind != DIR:
                            visited = pos2 + 1
                            break
                        merged.append(stack[pos2])
                        if below.opaque:
                            visited = pos2 + 1
                            break
                clean = Node(DIR, mode=node.mode)
                todo.append((child, clean, li, visited, tuple(merged), child_ancestors))
            index[path] = LowerEntry(
                DIR, dnode, dlayer, dvisited, stack, tuple(sorted(visible)), ancestors
            )
        return index

    def lookup(self, path: str) -> LowerEntry | None:
        """The merged lower entry at ``path`` (a whiteout included), or None."""
        return self._index.get(_norm(path))

    def visible_tree(self) -> dict[str, Node]:
        """The image as a container first sees it: path -> Node, root excluded, sorted."""
        return {
            p: e.node for p, e in sorted(self._index.items()) if e.node is not None and p != "/"
        }

    @property
    def size_bytes(self) -> int:
        """Total size of the files in all layers (what the image occupies on disk)."""
        return sum(layer.size_bytes for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        return f"LowerStack({len(self.layers)} layers, {len(self._index)} merged names)"


def _first(
    ents: list[Mapping[str, Node]], stack: tuple[int, ...], path: str
) -> tuple[int, int, Node]:
    """(position in stack, layer, node) of the top-most layer of ``stack`` holding ``path``."""
    for pos, li in enumerate(stack):
        node = ents[li - 1].get(path)
        if node is not None:
            return pos, li, node
    raise AssertionError(f"{path} is in no layer of {stack}")  # pragma: no cover (a bug)


_EMPTY_STACK: Final = LowerStack(())


class _Inode:
    """A file or symlink of a writable tree; hard links share one."""

    __slots__ = ("kind", "low", "lpath", "mode", "nlink", "origin", "redirect", "size", "target")

    def __init__(
        self,
        kind: str,
        size: int,
        mode: int,
        target: str | None = None,
        *,
        origin: bool = False,
        low: LowerEntry | None = None,
        lpath: str | None = None,
    ) -> None:
        self.kind = kind
        self.size = size
        self.mode = mode
        self.target = target
        self.nlink = 1
        self.origin = origin  # copied up from a lower layer (trusted.overlay.origin)
        self.low = low  # metacopy: the lower entry whose data this file still uses
        self.lpath = lpath  # metacopy: that entry's path
        self.redirect: str | None = None


class _Dir:
    """A directory of a writable tree, with what the kernel keeps in its dentry."""

    __slots__ = ("low", "lp", "mode", "names", "opaque", "origin", "redirect", "vis", "wh")

    def __init__(
        self,
        mode: int,
        *,
        opaque: bool = False,
        origin: bool = False,
        lp: str | None = None,
        low: LowerEntry | None = None,
        vis: int = 1,
    ) -> None:
        self.mode = mode
        self.opaque = opaque
        self.origin = origin
        self.redirect: str | None = None
        self.lp = lp  # lower path whose merged directory lies below this one; None: none
        self.low = low  # that lower directory's entry
        self.vis = vis  # layers_visited of a lookup of this directory
        self.names: set[str] = set()  # child names present in this tree, whiteouts excluded
        self.wh: set[str] = set()  # child names that are whiteouts


class _Whiteout:
    __slots__ = ()


_WH: Final = _Whiteout()
_Entry = _Inode | _Dir | _Whiteout


class _R(NamedTuple):
    """An existing entry of the merged view (internal)."""

    kind: str
    ino: _Inode | None  # an upper file or symlink
    d: _Dir | None  # an upper directory
    le: LowerEntry | None  # lower-only entry: its index entry; directory: its lower part
    lp: str | None  # lower path of a lower-only entry, or of a directory's lower part
    vis: int


class FileSystem(Protocol):
    """The operations that ``OverlayFS``, ``PlainFS`` and a ``Mount``'s file system share."""

    def stat(self, path: str) -> Lookup: ...

    def open(
        self,
        path: str,
        *,
        write: bool = False,
        create: bool = False,
        excl: bool = False,
        trunc: bool = False,
        mode: int = 0o644,
    ) -> Opened: ...

    def read(self, path: str, offset: int, nbytes: int) -> Read: ...

    def write(self, path: str, offset: int, nbytes: int) -> Written: ...

    def append(self, path: str, nbytes: int) -> Written: ...

    def open_write(
        self,
        path: str,
        offset: int,
        nbytes: int,
        *,
        append: bool = False,
        at: Callable[[int, int], int] | None = None,
    ) -> Wrote: ...

    def truncate(self, path: str, size: int) -> Changed: ...

    def fsync(self, path: str) -> Changed: ...

    def chmod(self, path: str, mode: int) -> Changed: ...

    def unlink(self, path: str) -> Changed: ...

    def mkdir(self, path: str, mode: int = 0o755) -> Changed: ...

    def rmdir(self, path: str) -> Changed: ...

    def rename(self, src: str, dst: str) -> Changed: ...

    def link(self, src: str, dst: str) -> Changed: ...

    def symlink(self, target: str, path: str) -> Changed: ...

    def readdir(self, path: str) -> Listing: ...

    def visible_tree(self, under: str = "/") -> dict[str, Node]: ...

    def upper_tree(self) -> dict[str, Node]: ...

    def upper_bytes(self) -> int: ...


class _Tree:
    """The engine shared by OverlayFS and PlainFS: a writable tree over a lower stack.

    The writable tree is a flat dict path -> entry (O(1) lookups); a lower-only path is
    found in the lower stack's merged index, and only when something in the upper tree
    changes how an ancestor maps onto the lowers (a whiteout, an opaque or redirected
    directory, a non-directory over a lower directory: a "cut") is the path walked
    component by component.
    """

    __slots__ = ("_bytes", "_cuts", "_lidx", "_up", "lower", "metacopy", "redirect_dir")

    def __init__(self, lower: LowerStack, *, metacopy: bool, redirect_dir: bool) -> None:
        self.lower = lower
        self.metacopy = metacopy
        self.redirect_dir = redirect_dir
        self._lidx = lower._index
        root_le = self._lidx["/"]
        has_lower = bool(root_le.stack)
        root = _Dir(
            _KIND_MODE[DIR],
            lp="/" if has_lower else None,
            low=root_le if has_lower else None,
        )
        self._up: dict[str, _Entry] = {"/": root}
        self._cuts: set[str] = set()
        self._bytes = 0

    # ----------------------------------------------------------------- resolution

    def _res(self, path: str, orig: str) -> _R | None:
        """The entry at ``path``, None if its last component is missing.

        Raises:
            FsError: ENOENT, ENOTDIR or ELOOP for a bad ancestor (reported on ``orig``).
        """
        u = self._up.get(path)
        if u is not None:
            # The writable tree is a real tree, so an entry in it is always visible.
            if isinstance(u, _Inode):
                if u.low is None:
                    return _R(u.kind, u, None, None, None, 1)
                return _R(FILE, u, None, None, None, 1 + u.low.layers_visited)
            if isinstance(u, _Dir):
                return _R(DIR, None, u, u.low, u.lp, u.vis)
            return None
        le = self._lidx.get(path)
        if le is not None and (not self._cuts or self._cuts.isdisjoint(le.ancestors)):
            if le.node is None:
                return None
            vis = le.layers_visited + 1 if le.ancestors[-1] in self._up else le.layers_visited
            return _R(le.kind, None, None, le, path, vis)
        return self._res_slow(path, orig)

    def _res_slow(self, path: str, orig: str) -> _R | None:
        parent, name = _split(path)
        return self._child(self._dir_of(parent, orig), path, name)

    def _dir_of(self, path: str, orig: str) -> _R:
        """The directory at ``path`` (a parent of ``orig``)."""
        r = self._res(path, orig)
        if r is None:
            raise FsError("ENOENT", orig)
        if r.kind != DIR:
            raise FsError("ELOOP" if r.kind == SYMLINK else "ENOTDIR", orig)
        return r

    def _child(self, pr: _R, path: str, name: str) -> _R | None:
        """The entry ``name`` (at ``path``) of the directory ``pr``, or None."""
        if pr.d is not None:
            u = self._up.get(path)
            if u is not None:
                if isinstance(u, _Inode):
                    vis = 1 if u.low is None else 1 + u.low.layers_visited
                    return _R(u.kind, u, None, None, None, vis)
                if isinstance(u, _Dir):
                    return _R(DIR, None, u, u.low, u.lp, u.vis)
                return None
        if pr.lp is None:
            return None
        raw = _join(pr.lp, name)
        le = self._lidx.get(raw)
        if le is None or le.node is None:
            return None
        vis = le.layers_visited + 1 if pr.d is not None else le.layers_visited
        return _R(le.kind, None, None, le, raw, vis)

    def _miss_vis(self, pr: _R, name: str) -> int:
        """layers_visited of a lookup of ``name`` in ``pr`` that finds nothing."""
        vis = 1 if pr.d is not None else 0
        if pr.lp is not None and pr.le is not None:
            le = self._lidx.get(_join(pr.lp, name))
            vis += le.layers_visited if le is not None else len(pr.le.stack)
        return vis

    def _lower_positive(self, pr: _R, name: str) -> bool:
        """Whether a lower layer of ``pr``'s merge holds ``name`` (ovl_lower_positive)."""
        if pr.lp is None:
            return False
        le = self._lidx.get(_join(pr.lp, name))
        return le is not None and le.node is not None

    def _names(self, r: _R) -> list[str]:
        d = r.d
        low = r.le if r.lp is not None else None
        if d is None:
            return list(low.names) if low is not None else []
        if low is None:
            return sorted(d.names)
        names = set(d.names)
        wh = d.wh
        names.update(n for n in low.names if n not in wh)
        return sorted(names)

    def _empty(self, r: _R) -> bool:
        d = r.d
        if d is not None and d.names:
            return False
        if r.lp is None or r.le is None:
            return True
        wh = d.wh if d is not None else set()
        return all(n in wh for n in r.le.names)

    # ------------------------------------------------------------ writable tree

    def _mark_cut(self, path: str, entry: _Entry) -> None:
        # Only paths that the lower index knows can hide or remap lower descendants.
        if path in self._lidx and (
            not isinstance(entry, _Dir) or entry.opaque or entry.redirect is not None
        ):
            self._cuts.add(path)
        else:
            self._cuts.discard(path)

    def _put(self, path: str, entry: _Entry, pd: _Dir, name: str) -> None:
        self._up[path] = entry
        if entry is _WH:
            pd.wh.add(name)
            pd.names.discard(name)
        else:
            pd.names.add(name)
            pd.wh.discard(name)
        self._mark_cut(path, entry)

    def _drop(self, path: str, pd: _Dir, name: str) -> None:
        del self._up[path]
        pd.names.discard(name)
        pd.wh.discard(name)
        self._cuts.discard(path)

    def _drop_tree(self, path: str, d: _Dir, pd: _Dir, name: str) -> None:
        for child in list(d.names):
            cp = _join(path, child)
            e = self._up[cp]
            if isinstance(e, _Dir):
                self._drop_tree(cp, e, d, child)
            else:
                if isinstance(e, _Inode):
                    self._unlink_inode(e)
                self._drop(cp, d, child)
        for child in list(d.wh):
            self._drop(_join(path, child), d, child)
        self._drop(path, pd, name)

    def _unlink_inode(self, ino: _Inode) -> None:
        ino.nlink -= 1
        if ino.nlink == 0 and ino.kind == FILE and ino.low is None:
            self._bytes -= ino.size

    def _resize(self, ino: _Inode, size: int) -> None:
        if ino.low is None:
            self._bytes += size - ino.size
        ino.size = size

    def _up_dir(self, path: str) -> _Dir:
        """The upper directory at ``path``, copying it (and its parents) up if needed."""
        u = self._up.get(path)
        if isinstance(u, _Dir):
            return u
        r = self._res(path, path)
        if r is None or r.kind != DIR or r.le is None:  # pragma: no cover (a bug)
            raise AssertionError(f"{path} is not a visible lower directory")
        parent, name = _split(path)
        pd = self._up_dir(parent)
        le = r.le
        d = _Dir(
            le.node.mode if le.node is not None else _KIND_MODE[DIR],
            origin=True,
            lp=r.lp,
            low=le,
            vis=1 + le.layers_visited,
        )
        self._put(path, d, pd, name)
        return d

    def _copy_up(self, path: str, r: _R, *, meta: bool, trunc: bool = False) -> int:
        """Bring ``r`` into the upper tree; returns the data bytes copied.

        Args:
            path: the entry's path.
            r: the entry.
            meta: the copy-up serves a metadata change (chmod, rename, link): with
                metacopy, a file's data stays below.
            trunc: an O_TRUNC open: no data to copy.
        """
        ino = r.ino
        if ino is not None:
            if ino.low is not None and not meta:
                # A metacopy file gets its data on the first data access.
                nbytes = 0 if trunc else ino.size
                if trunc:
                    ino.size = 0
                ino.low = None
                self._bytes += ino.size
                return nbytes
            return 0
        if r.d is not None:
            return 0
        le = r.le
        node = le.node if le is not None else None
        if le is None or node is None:  # pragma: no cover (a bug)
            raise AssertionError(f"{path} is not a visible lower entry")
        if node.kind == DIR:
            self._up_dir(path)
            return 0
        parent, name = _split(path)
        pd = self._up_dir(parent)
        if node.kind == SYMLINK:
            self._put(
                path, _Inode(SYMLINK, node.size_bytes, 0o777, node.target, origin=True), pd, name
            )
            return 0
        if meta and self.metacopy:
            new = _Inode(FILE, node.size_bytes, node.mode, origin=True, low=le, lpath=r.lp)
            self._put(path, new, pd, name)
            return 0
        size = 0 if trunc else node.size_bytes
        self._put(path, _Inode(FILE, size, node.mode, origin=True), pd, name)
        self._bytes += size
        return size

    def _relink(self, path: str, d: _Dir, plp: str | None, name: str) -> None:
        """Recompute where a moved directory (and its subtree) meets the lowers."""
        lp: str | None
        if d.opaque:
            lp = None
        elif d.redirect is not None:
            if d.redirect[0] == "/":
                lp = d.redirect
            else:
                lp = _join(plp, d.redirect) if plp is not None else None
        else:
            lp = _join(plp, name) if plp is not None else None
        low = self._lidx.get(lp) if lp is not None else None
        if low is None or low.kind != DIR:
            lp, low = None, None
        d.lp, d.low = lp, low
        if low is not None:
            d.vis = 1 + low.layers_visited
        elif d.opaque or plp is None:
            d.vis = 1
        else:
            raw = self._lidx.get(_join(plp, name))
            parent_low = self._lidx.get(plp)
            below = len(parent_low.stack) if parent_low is not None else 0
            d.vis = 1 + (raw.layers_visited if raw is not None else below)
        for child in d.names:
            cp = _join(path, child)
            e = self._up[cp]
            self._mark_cut(cp, e)
            if isinstance(e, _Dir):
                self._relink(cp, e, lp, child)
        for child in d.wh:
            self._mark_cut(_join(path, child), _WH)

    def _subtree(self, path: str, d: _Dir) -> Iterator[str]:
        for child in d.names | d.wh:
            cp = _join(path, child)
            yield cp
            e = self._up[cp]
            if isinstance(e, _Dir):
                yield from self._subtree(cp, e)

    def _create(self, path: str, mode: int, kind: str, target: str | None = None) -> int:
        """Create a new file, directory or symlink; returns the miss's layers_visited."""
        if path == "/":
            raise FsError("EEXIST", path)
        parent, name = _split(path)
        pr = self._dir_of(parent, path)
        if self._child(pr, path, name) is not None:
            raise FsError("EEXIST", path)
        vis = self._miss_vis(pr, name)
        over_whiteout = pr.d is not None and self._up.get(path) is _WH
        pd = self._up_dir(parent)
        entry: _Entry
        if kind == DIR:
            # Over an upper whiteout a new directory must hide what is below. With
            # redirect_dir the kernel also makes every new directory in a merged parent
            # opaque, which spares later lookups the lowers (ovl_create_upper).
            opaque = over_whiteout or (self.redirect_dir and pr.lp is not None)
            entry = _Dir(mode, opaque=opaque, vis=1 if opaque else vis)
        elif kind == SYMLINK:
            assert target is not None
            entry = _Inode(SYMLINK, len(target.encode()), 0o777, target)
        else:
            entry = _Inode(FILE, 0, mode)
        self._put(path, entry, pd, name)
        return vis

    # ----------------------------------------------------------------- operations

    def stat(self, path: str) -> Lookup:
        """Look ``path`` up (like ``lstat``).

        Returns:
            kind, size, the layer that holds it and the layer directories consulted.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP.
        """
        p = _norm(path)
        u = self._up.get(p)
        if type(u) is _Inode:  # an upper file or symlink: what _res would say
            vis = 1 if u.low is None else 1 + u.low.layers_visited
            return _new_tuple(Lookup, (u.kind, u.size, 0, vis))
        le = self._lidx.get(p) if u is None else None
        cuts = self._cuts
        if le is not None and le.node is not None and (not cuts or cuts.isdisjoint(le.ancestors)):
            # a lower-only entry under no cut (the commonest lookup): what _res would say
            vis = le.layers_visited + 1 if le.ancestors[-1] in self._up else le.layers_visited
            return _new_tuple(Lookup, (le.kind, le.node.size_bytes, le.layer, vis))
        r = self._res(p, p)
        if r is None:
            raise FsError("ENOENT", p)
        if r.ino is not None:
            return Lookup(r.ino.kind, r.ino.size, 0, r.vis)
        if r.d is not None:
            return Lookup(DIR, 0, 0, r.vis)
        assert r.le is not None
        assert r.le.node is not None
        return Lookup(r.kind, r.le.node.size_bytes, r.le.layer, r.vis)

    def open(
        self,
        path: str,
        *,
        write: bool = False,
        create: bool = False,
        excl: bool = False,
        trunc: bool = False,
        mode: int = 0o644,
    ) -> Opened:
        """Open ``path`` (with ``O_NOFOLLOW``); opening a lower file for writing copies it up.

        Args:
            path: the file.
            write: open for writing (``O_WRONLY``/``O_RDWR``).
            create: ``O_CREAT``.
            excl: ``O_EXCL`` (only with ``create``).
            trunc: ``O_TRUNC``: like the kernel, truncates even a read-only open, and a
                lower file is copied up without its data.
            mode: permission bits of a created file.

        Returns:
            The opened file, and what its copy-up cost (``copy_up_bytes`` is the file's
            size, or 0 with ``trunc``).

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EEXIST, EISDIR.
        """
        p = _norm(path)
        r = self._res(p, p)
        if r is None:
            if not create:
                raise FsError("ENOENT", p)
            vis = self._create(p, mode & 0o7777, FILE)
            return Opened(FILE, 0, 0, vis, True, 0, False)
        if create and excl:
            raise FsError("EEXIST", p)
        if r.kind == DIR:
            if write or trunc or create:
                raise FsError("EISDIR", p)
            return Opened(DIR, 0, 0 if r.d is not None else self._layer(r), r.vis, False, 0, False)
        if r.kind == SYMLINK:
            raise FsError("ELOOP", p)
        ino = r.ino
        if not (write or trunc):
            size = ino.size if ino is not None else self._size(r)
            return Opened(FILE, size, self._layer(r), r.vis, False, 0, False)
        copied = ino is None or ino.low is not None
        nbytes = self._copy_up(p, r, meta=False, trunc=trunc)
        up = self._up[p]
        assert isinstance(up, _Inode)
        if trunc and up.size:
            self._resize(up, 0)
        return Opened(FILE, up.size, 0, r.vis, False, nbytes, copied)

    def _layer(self, r: _R) -> int:
        if r.ino is not None or r.d is not None:
            return 0
        assert r.le is not None
        return r.le.layer

    def _size(self, r: _R) -> int:
        if r.ino is not None:
            return r.ino.size
        if r.le is not None and r.le.node is not None and r.d is None:
            return r.le.node.size_bytes
        return 0

    def read(self, path: str, offset: int, nbytes: int) -> Read:
        """Read ``nbytes`` at ``offset``; never copies up.

        Returns:
            Bytes read (clipped at end of file) and the layer the data comes from.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EISDIR.
            ValueError: for a negative offset or count.
        """
        if offset < 0 or nbytes < 0:
            raise ValueError(f"offset and nbytes must be >= 0 (got {offset!r}, {nbytes!r})")
        p = _norm(path)
        u = self._up.get(p)
        if type(u) is _Inode and u.kind == FILE:  # an upper file (the commonest): no lookup
            size = u.size
            layer = 0 if u.low is None else u.low.layer
        else:
            r = self._res(p, p)
            if r is None:
                raise FsError("ENOENT", p)
            if r.kind != FILE:
                raise FsError("EISDIR" if r.kind == DIR else "ELOOP", p)
            ino = r.ino
            if ino is not None:
                size = ino.size
                layer = 0 if ino.low is None else ino.low.layer
            else:
                assert r.le is not None
                assert r.le.node is not None
                size = r.le.node.size_bytes
                layer = r.le.layer
        left = size - offset
        return _new_tuple(Read, (nbytes if left > nbytes else (left if left > 0 else 0), layer))

    def _writable(self, p: str) -> tuple[_Inode, int]:
        r = self._res(p, p)
        if r is None:
            raise FsError("ENOENT", p)
        if r.kind != FILE:
            raise FsError("EISDIR" if r.kind == DIR else "ELOOP", p)
        ino = r.ino
        if ino is not None and ino.low is None:
            return ino, 0
        nbytes = self._copy_up(p, r, meta=False)
        up = self._up[p]
        assert isinstance(up, _Inode)
        return up, nbytes

    def write(self, path: str, offset: int, nbytes: int) -> Written:
        """Write ``nbytes`` at ``offset`` (``open(O_WRONLY)`` + ``pwrite``).

        A lower file is copied up first, whole; later writes hit the copy.

        Returns:
            The new size and the bytes the copy-up moved.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EISDIR.
            ValueError: for a negative offset or count.
        """
        if offset < 0 or nbytes < 0:
            raise ValueError(f"offset and nbytes must be >= 0 (got {offset!r}, {nbytes!r})")
        p = _norm(path)
        ino, copied = self._writable(p)
        end = offset + nbytes
        if nbytes and end > ino.size:
            self._resize(ino, end)
        return Written(ino.size, copied)

    def append(self, path: str, nbytes: int) -> Written:
        """Write ``nbytes`` at end of file (``O_APPEND``); copies a lower file up first.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EISDIR.
            ValueError: for a negative count.
        """
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0 (got {nbytes!r})")
        p = _norm(path)
        ino, copied = self._writable(p)
        if nbytes:
            self._resize(ino, ino.size + nbytes)
        return Written(ino.size, copied)

    def open_write(
        self,
        path: str,
        offset: int,
        nbytes: int,
        *,
        append: bool = False,
        at: Callable[[int, int], int] | None = None,
    ) -> Wrote:
        """``open(O_WRONLY|O_CREAT)`` then ``pwrite`` (or, with ``append``, a write at the
        end of file), with one lookup: exactly ``open`` followed by ``write``/``append``.

        Args:
            path: the file; created if missing, copied up if it lies in a lower layer.
            offset: where to write (ignored with ``append`` or ``at``).
            nbytes: bytes to write.
            append: write at the end of file (``O_APPEND``).
            at: ``at(size, nbytes)`` gives the offset from the file's size once opened
                (an application that seeks relative to the size it finds).

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP (a bad ancestor, or a symlink), EISDIR.
            ValueError: for a negative offset or count.
        """
        if nbytes < 0 or offset < 0:
            raise ValueError(f"offset and nbytes must be >= 0 (got {offset!r}, {nbytes!r})")
        p = _norm(path)
        up: _Entry | None = self._up.get(p)
        copy = source = 0
        copied = False
        if type(up) is _Inode and up.kind == FILE and up.low is None:
            vis = 1  # an upper file with its data (the commonest): no lookup below
        else:
            r = self._res(p, p)
            if r is None:
                vis = self._create(p, 0o644, FILE)
            elif r.kind != FILE:
                raise FsError("EISDIR" if r.kind == DIR else "ELOOP", p)
            else:
                vis = r.vis
                if r.ino is None or r.ino.low is not None:  # lower data: copy it up (open)
                    low = r.le if r.ino is None else r.ino.low
                    assert low is not None
                    source = low.layer
                    copy = self._copy_up(p, r, meta=False)
                    copied = True
            up = self._up[p]
        ino = up
        assert isinstance(ino, _Inode)
        size = ino.size
        if append:
            offset = size
        elif at is not None:
            offset = at(size, nbytes)
        end = offset + nbytes
        if nbytes and end > size:
            self._resize(ino, end)
        # tuple.__new__ skips the NamedTuple's Python-level __new__: this runs per write
        return _new_tuple(Wrote, (ino.size, vis, copy, copied, source, offset, 0))

    def truncate(self, path: str, size: int) -> Changed:
        """Set a file's size; a lower file is copied up whole first, as the kernel does.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EISDIR.
            ValueError: for a negative size.
        """
        if size < 0:
            raise ValueError(f"size must be >= 0 (got {size!r})")
        p = _norm(path)
        ino, copied = self._writable(p)
        self._resize(ino, size)
        return Changed(copied)

    def fsync(self, path: str) -> Changed:
        """Flush a file or directory (opened read-only: no copy-up).

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP.
        """
        p = _norm(path)
        r = self._res(p, p)
        if r is None:
            raise FsError("ENOENT", p)
        if r.kind == SYMLINK:
            raise FsError("ELOOP", p)
        return Changed(0)

    def chmod(self, path: str, mode: int) -> Changed:
        """Change permission bits; copies a lower entry up (metadata only with metacopy).

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP; EOPNOTSUPP on a symlink.
            ValueError: for a mode outside 0..0o7777.
        """
        if not 0 <= mode <= 0o7777:
            raise ValueError(f"mode must be within 0..0o7777 (got {mode!r})")
        p = _norm(path)
        r = self._res(p, p)
        if r is None:
            raise FsError("ENOENT", p)
        if r.kind == SYMLINK:
            raise FsError("EOPNOTSUPP", p)
        nbytes = self._copy_up(p, r, meta=True)
        up = self._up[p]
        assert isinstance(up, _Inode | _Dir)
        up.mode = mode
        return Changed(nbytes)

    def unlink(self, path: str) -> Changed:
        """Remove a file or symlink; a lower one leaves a whiteout in the upper.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EISDIR.
        """
        p = _norm(path)
        if p == "/":
            raise FsError("EISDIR", p)
        parent, name = _split(p)
        pr = self._dir_of(parent, p)
        r = self._child(pr, p, name)
        if r is None:
            raise FsError("ENOENT", p)
        if r.kind == DIR:
            raise FsError("EISDIR", p)
        positive = self._lower_positive(pr, name)
        pd = self._up_dir(parent)
        if r.ino is not None:
            self._unlink_inode(r.ino)
            self._drop(p, pd, name)
        if positive:
            self._put(p, _WH, pd, name)
        return Changed(0)

    def mkdir(self, path: str, mode: int = 0o755) -> Changed:
        """Create a directory; over an upper whiteout it is opaque.

        Raises:
            FsError: EEXIST, ENOENT, ENOTDIR, ELOOP.
        """
        self._create(_norm(path), mode & 0o7777, DIR)
        return Changed(0)

    def rmdir(self, path: str) -> Changed:
        """Remove an empty directory; one that exists in a lower leaves a whiteout.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, ENOTEMPTY (the merged view is not empty),
                EBUSY for ``/``.
        """
        p = _norm(path)
        if p == "/":
            raise FsError("EBUSY", p)
        parent, name = _split(p)
        pr = self._dir_of(parent, p)
        r = self._child(pr, p, name)
        if r is None:
            raise FsError("ENOENT", p)
        if r.kind != DIR:
            raise FsError("ENOTDIR", p)
        if not self._empty(r):
            raise FsError("ENOTEMPTY", p)
        positive = self._lower_positive(pr, name)
        pd = self._up_dir(parent)
        if r.d is not None:
            # Whatever whiteouts the upper directory holds go with it (ovl_clear_empty).
            self._drop_tree(p, r.d, pd, name)
        if positive:
            self._put(p, _WH, pd, name)
        return Changed(0)

    def symlink(self, target: str, path: str) -> Changed:
        """Create a symlink at ``path`` pointing to ``target`` (never followed here).

        Raises:
            FsError: EEXIST, ENOENT (also for an empty target), ENOTDIR, ELOOP.
        """
        p = _norm(path)
        if not target:
            raise FsError("ENOENT", p)
        self._create(p, 0o777, SYMLINK, target)
        return Changed(0)

    def link(self, src: str, dst: str) -> Changed:
        """Hard-link ``src`` to ``dst``; a lower ``src`` is copied up first.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EEXIST; EPERM for a directory.
        """
        s, t = _norm(src), _norm(dst)
        sr = self._res(s, s)
        if sr is None:
            raise FsError("ENOENT", s)
        tparent, tname = _split(t)
        tpr = self._dir_of(tparent, t)
        if t == "/" or self._child(tpr, t, tname) is not None:
            raise FsError("EEXIST", t)
        if sr.kind == DIR:
            raise FsError("EPERM", s)
        nbytes = self._copy_up(s, sr, meta=True)
        ino = self._up[s]
        assert isinstance(ino, _Inode)
        if ino.low is not None and not (ino.redirect and ino.redirect[0] == "/"):
            # ovl_set_link_redirect: the data must stay reachable from every name.
            ino.redirect = ino.lpath
        tpd = self._up_dir(tparent)
        ino.nlink += 1
        self._put(t, ino, tpd, tname)
        return Changed(nbytes)

    def rename(self, src: str, dst: str) -> Changed:
        """Rename ``src`` to ``dst``, replacing a file or an empty directory there.

        A lower file is copied up, then moved, and a whiteout is left at ``src``. A
        directory with a lower part moves only with ``redirect_dir``.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP, EISDIR, EINVAL (into itself), ENOTEMPTY,
                EXDEV (a lower or merged directory without ``redirect_dir``), EBUSY (``/``).
        """
        s, t = _norm(src), _norm(dst)
        if s == "/" or t == "/":
            raise FsError("EBUSY", s if s == "/" else t)
        sparent, sname = _split(s)
        tparent, tname = _split(t)
        spr = self._dir_of(sparent, s)
        tpr = self._dir_of(tparent, t)
        sr = self._child(spr, s, sname)
        if sr is None:
            raise FsError("ENOENT", s)
        tr = self._child(tpr, t, tname)
        if t.startswith(s + "/"):
            raise FsError("EINVAL", s)
        if s.startswith(t + "/"):
            raise FsError("ENOTEMPTY", t)
        if s == t or (sr.ino is not None and tr is not None and sr.ino is tr.ino):
            return Changed(0)
        is_dir = sr.kind == DIR
        if tr is not None:
            if is_dir and tr.kind != DIR:
                raise FsError("ENOTDIR", t)
            if not is_dir and tr.kind == DIR:
                raise FsError("EISDIR", t)
        if is_dir and sr.lp is not None and not self.redirect_dir:
            raise FsError("EXDEV", s)
        late_enotempty = False
        if tr is not None and tr.kind == DIR and not self._empty(tr):
            if tr.d is None or tr.lp is not None or tr.d.origin:
                raise FsError("ENOTEMPTY", t)
            # A pure upper target is left to the upper file system's rename, which fails
            # only after the copy-up and the redirect or opaque marking below.
            late_enotempty = True
        positive = self._lower_positive(spr, sname)
        nbytes = self._copy_up(s, sr, meta=True)
        spd = self._up_dir(sparent)
        tpd = self._up_dir(tparent)
        entry = self._up[s]
        samedir = sparent == tparent
        if isinstance(entry, _Dir):
            if entry.lp is not None:
                if not (entry.redirect and (samedir or entry.redirect[0] == "/")):
                    entry.redirect = sname if samedir else entry.lp
            elif not entry.opaque and tpd.lp is not None:
                entry.opaque = True
        else:
            assert isinstance(entry, _Inode)
            if entry.low is not None and not (
                entry.redirect and (samedir or entry.redirect[0] == "/")
            ):
                entry.redirect = sname if samedir else entry.lpath
        if late_enotempty:
            # The new marks leave the entry's lower mapping as it was.
            self._mark_cut(s, entry)
            raise FsError("ENOTEMPTY", t)
        old = self._up.get(t)
        if isinstance(old, _Dir):
            self._drop_tree(t, old, tpd, tname)
        elif old is not None:
            if isinstance(old, _Inode):
                self._unlink_inode(old)
            self._drop(t, tpd, tname)
        moved = list(self._subtree(s, entry)) if isinstance(entry, _Dir) else []
        cut = len(s)
        for old_path in moved:
            e = self._up.pop(old_path)
            self._cuts.discard(old_path)
            self._up[t + old_path[cut:]] = e
        self._drop(s, spd, sname)
        self._put(t, entry, tpd, tname)
        if positive:
            self._put(s, _WH, spd, sname)
        if isinstance(entry, _Dir):
            self._relink(t, entry, tpd.lp, tname)
        return Changed(nbytes)

    def readdir(self, path: str) -> Listing:
        """List a directory: the union of its layers minus whiteouts.

        Raises:
            FsError: ENOENT, ENOTDIR (also for a symlink), ELOOP.
        """
        p = _norm(path)
        r = self._res(p, p)
        if r is None:
            raise FsError("ENOENT", p)
        if r.kind != DIR:
            raise FsError("ENOTDIR", p)
        vis = 1 if r.d is not None else 0
        if r.lp is not None and r.le is not None:
            stack = r.le.stack
            vis += len(stack)
            if r.d is None and len(stack) == 1:
                # The kernel reads a directory that lives in one layer only straight from
                # that layer, whiteouts and all (ovl_dir_is_real): ghost names that stat
                # then reports as ENOENT.
                raw = self.lower.layers[stack[0] - 1]._children.get(r.lp, ())
                return Listing(tuple(sorted(raw)), vis)
        return Listing(tuple(self._names(r)), vis)

    # ---------------------------------------------------------------- introspection

    def _node(self, r: _R) -> Node:
        if r.ino is not None:
            i = r.ino
            return Node(i.kind, i.size, i.mode, target=i.target)
        if r.d is not None:
            return Node(DIR, 0, r.d.mode)
        assert r.le is not None
        assert r.le.node is not None
        return r.le.node

    def visible_tree(self, under: str = "/") -> dict[str, Node]:
        """Everything a process sees below ``under``: path -> Node, sorted by path.

        Args:
            under: a directory; its own entry is not included (nor is ``/``).

        Returns:
            Absolute paths to Nodes (never opaque, never metacopy); empty if ``under`` is
            not a directory.

        Raises:
            FsError: ENOENT, ENOTDIR, ELOOP if ``under`` does not exist.
        """
        out: dict[str, Node] = {}
        start = _norm(under)
        top = self._res(start, start)
        if top is None:
            raise FsError("ENOENT", start)
        if top.kind != DIR:
            return out
        todo = [(start, top)]
        while todo:
            path, r = todo.pop()
            for name in self._names(r):
                cp = _join(path, name)
                cr = self._child(r, cp, name)
                assert cr is not None
                out[cp] = self._node(cr)
                if cr.kind == DIR:
                    todo.append((cp, cr))
        return dict(sorted(out.items()))

    def upper_tree(self) -> dict[str, Node]:
        """The writable tree as the kernel's upperdir holds it: whiteouts, opaque dirs and
        metacopy files included (root excluded), sorted by path."""
        out: dict[str, Node] = {}
        for path, e in sorted(self._up.items()):
            if path == "/":
                continue
            if isinstance(e, _Inode):
                out[path] = Node(
                    e.kind, e.size, e.mode, target=e.target, metacopy=e.low is not None
                )
            elif isinstance(e, _Dir):
                out[path] = Node(DIR, 0, e.mode, opaque=e.opaque)
            else:
                out[path] = Node(WHITEOUT)
        return out

    def upper_bytes(self) -> int:
        """File data bytes held in the writable tree (what ``docker rm`` loses).

        Hard links count once; metacopy files count 0 (their data is still below).
        """
        return self._bytes

    def copied_up_paths(self) -> frozenset[str]:
        """Upper paths that came from a copy-up (the kernel marks them with an origin xattr)."""
        return frozenset(
            p for p, e in self._up.items() if isinstance(e, _Inode | _Dir) and e.origin
        )

    def redirects(self) -> dict[str, str]:
        """Upper path -> stored redirect (``trusted.overlay.redirect``), sorted by path."""
        return {
            p: e.redirect
            for p, e in sorted(self._up.items())
            if isinstance(e, _Inode | _Dir) and e.redirect is not None
        }


class OverlayFS(_Tree):
    """One container's root file system: a shared lower stack plus a private upper layer.

    Args:
        lower: the image's lower stack (shared, never modified).
        metacopy: the overlay ``metacopy=on`` feature: metadata changes copy no data.
            It implies ``redirect_dir`` (the kernel refuses ``metacopy=on,redirect_dir=off``).
        redirect_dir: the overlay ``redirect_dir=on`` feature: directories with a lower
            part can be renamed (otherwise EXDEV, and tools fall back to copying).
    """

    __slots__ = ()

    def __init__(
        self, lower: LowerStack, *, metacopy: bool = False, redirect_dir: bool = False
    ) -> None:
        super().__init__(lower, metacopy=metacopy, redirect_dir=redirect_dir or metacopy)

    def __repr__(self) -> str:
        return (
            f"OverlayFS({len(self.lower)} lower layers, metacopy={self.metacopy}, "
            f"redirect_dir={self.redirect_dir})"
        )


class PlainFS(_Tree):
    """An ordinary directory tree: a volume, a bind mount's host directory, a tmpfs.

    Same operations as ``OverlayFS`` with no layers: everything is in layer 0, a lookup
    visits 1 directory, nothing is ever copied up. One object may be mounted into
    several containers (that is what sharing a volume means).
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(_EMPTY_STACK, metacopy=False, redirect_dir=True)

    def populate(self, entries: Mapping[str, Node]) -> int:
        """Add entries directly, parents implied (mode 0o755), like Docker copying an
        image directory into a new empty volume.

        Args:
            entries: path -> Node (files, directories, symlinks).

        Returns:
            The file bytes added.

        Raises:
            ValueError: for whiteouts, opaque or metacopy nodes, or an entry that clashes
                with an existing one of another kind.
        """
        total = 0
        for raw_path in sorted(entries, key=lambda q: _depth(_norm(q))):
            node = entries[raw_path]
            path = _norm(raw_path)
            if node.kind == WHITEOUT or node.opaque or node.metacopy:
                raise ValueError(f"{path}: a plain tree holds no {node!r}")
            existing = self._up.get(path)
            if isinstance(existing, _Dir):
                if node.kind != DIR:
                    raise ValueError(f"{path} is a directory, cannot populate a {node.kind}")
                existing.mode = node.mode
                continue
            parent, name = _split(path)
            pd = self._makedirs(parent)
            if isinstance(existing, _Inode):
                if node.kind == DIR:
                    raise ValueError(f"{path} is a {existing.kind}, cannot populate a dir")
                self._unlink_inode(existing)
                self._drop(path, pd, name)
            entry: _Entry
            if node.kind == DIR:
                entry = _Dir(node.mode)
            else:
                entry = _Inode(node.kind, node.size_bytes, node.mode, node.target)
                if node.kind == FILE:
                    self._bytes += node.size_bytes
                    total += node.size_bytes
            self._put(path, entry, pd, name)
        return total

    def clear(self) -> int:
        """Remove everything, like a tmpfs when its container stops.

        Returns:
            The file bytes removed.
        """
        removed = self._bytes
        root = self._up["/"]
        assert isinstance(root, _Dir)
        self._up = {"/": _Dir(root.mode)}
        self._cuts.clear()
        self._bytes = 0
        return removed

    def _makedirs(self, path: str) -> _Dir:
        u = self._up.get(path)
        if isinstance(u, _Dir):
            return u
        if u is not None:
            raise ValueError(f"{path} is not a directory")
        parent, name = _split(path)
        pd = self._makedirs(parent)
        d = _Dir(_KIND_MODE[DIR])
        self._put(path, d, pd, name)
        return d

    def __repr__(self) -> str:
        return f"PlainFS({len(self._up)} entries, {self._bytes} bytes)"


@dataclass(frozen=True, slots=True)
class Mount:
    """One entry of a container's mount table.

    Args:
        target: where the mount appears in the container (absolute, not ``/``).
        fs: the mounted tree (usually a ``PlainFS``).
        storage: the storage choice it represents (``"volume"``, ``"local_bind"``,
            ``"distributed_bind"``, ``"tmpfs"``...), reported by ``storage_of``.
        read_only: mutating operations give EROFS.
        source_root: the path inside ``fs`` that appears at ``target`` (a bind mount of a
            subdirectory, or of a single file).
        unsupported: operation names (see ``OPS``) that fail with ``unsupported_errno``,
            like hard links on an S3 FUSE mount.
        unsupported_errno: the errno name those operations give.
        copy_image: Docker's volume behaviour: when the mounted directory is empty, it gets
            a copy of what the image has at ``target`` (``volume-nocopy`` turns it off).
            Needs a ``PlainFS``.

    Raises:
        ValueError: for a bad target, op name or errno name.
    """

    target: str
    fs: FileSystem
    storage: str
    read_only: bool = False
    source_root: str = "/"
    unsupported: frozenset[str] = frozenset()
    unsupported_errno: str = "EOPNOTSUPP"
    copy_image: bool = False

    def __post_init__(self) -> None:
        target = _norm(self.target)
        if target == "/":
            raise ValueError("target must not be '/' (got '/')")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "source_root", _norm(self.source_root))
        object.__setattr__(self, "unsupported", frozenset(self.unsupported))
        unknown = self.unsupported - OPS
        if unknown:
            raise ValueError(f"unsupported must be op names {sorted(OPS)} (got {sorted(unknown)})")
        if self.unsupported_errno not in _ERRNO_NAMES:
            raise ValueError(
                f"unsupported_errno must be an errno name (got {self.unsupported_errno!r})"
            )
        if self.copy_image and not isinstance(self.fs, PlainFS):
            raise ValueError(f"copy_image needs a PlainFS (got {type(self.fs).__name__})")


class _OnPath:
    """Reports a mounted file system's errors on the container's path (the view's calls
    run ``with _OnPath(path): ...``)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if isinstance(error, FsError):
            raise FsError(error.errno, self.path) from None


class ContainerView:
    """What one container sees: its root overlay with mounts grafted on.

    Docker creates missing mount points (directories, or empty files for a file bind
    mount) in the file system below them, so they appear in the container's writable
    layer. A mount hides whatever was at its target.

    Args:
        root: the container's root file system.
        mounts: the mount table; the longest target that is a prefix of a path at a
            component boundary serves it (``/data`` serves ``/data/x`` but not ``/database``).
        read_only: ``docker run --read-only``: the root refuses mutating operations.

    Raises:
        ValueError: for two mounts on one target.
        FsError: when a mount point cannot be made (ENOTDIR: a directory mount over a file,
            or a file mount over a directory).
    """

    __slots__ = ("_table", "mounts", "populated_bytes", "read_only", "root")

    def __init__(
        self, root: FileSystem, mounts: Sequence[Mount] = (), *, read_only: bool = False
    ) -> None:
        self.root = root
        self.read_only = read_only
        self.mounts: tuple[Mount, ...] = tuple(mounts)
        targets = [m.target for m in self.mounts]
        if len(set(targets)) != len(targets):
            raise ValueError(f"mount targets must be unique (got {targets})")
        self.populated_bytes: dict[str, int] = {}
        """Target -> bytes copied from the image into the mount (``copy_image``)."""
        self._table: list[tuple[str, str, Mount]] = []
        for m in sorted(self.mounts, key=lambda m: _depth(m.target)):
            self._make_mount_point(m)
            self._table.append((m.target, m.target + "/", m))
            self._table.sort(key=lambda e: len(e[0]), reverse=True)

    # --------------------------------------------------------------------- routing

    def _route(self, path: str) -> tuple[Mount | None, FileSystem, str]:
        for target, prefix, m in self._table:
            if path == target or path.startswith(prefix):
                rest = path[len(target) :]
                sr = m.source_root
                if not rest:
                    return m, m.fs, sr
                return m, m.fs, (rest if sr == "/" else sr + rest)
        return None, self.root, path

    def mount_of(self, path: str) -> Mount | None:
        """The mount that serves ``path``, or None for the root file system."""
        return self._route(_norm(path))[0]

    def resolve(self, path: str) -> tuple[Mount | None, str]:
        """Which mount serves ``path`` (None: the root) and the path inside its file system."""
        m, _, inner = self._route(_norm(path))
        return m, inner

    def _make_mount_point(self, m: Mount) -> None:
        _, fs, inner = self._route(m.target)
        try:
            is_file = m.fs.stat(m.source_root).kind != DIR
        except FsError:
            # Like `docker run --mount type=bind` with a missing source.
            raise FsError("ENOENT", m.source_root) from None
        try:
            kind: str | None = fs.stat(inner).kind
        except FsError:
            kind = None
        if kind is None:
            parent, _ = _split(inner)
            _makedirs(fs, parent)
            if is_file:
                fs.open(inner, create=True)
            else:
                fs.mkdir(inner)
        elif (kind == DIR) == is_file:
            raise FsError("ENOTDIR", m.target)
        if m.copy_image and not is_file:
            assert isinstance(m.fs, PlainFS)
            if not m.fs.readdir(m.source_root).names:
                entries = _subtree(fs, inner, m.source_root)
                self.populated_bytes[m.target] = m.fs.populate(entries)

    def _under(self, m: Mount) -> tuple[FileSystem, str]:
        """The file system and path that ``m`` hides."""
        for target, prefix, other in self._table:
            if other is not m and m.target.startswith(prefix):
                rest = m.target[len(target) :]
                sr = other.source_root
                return other.fs, (rest if sr == "/" else sr + rest)
        return self.root, m.target

    def hidden_entries(self, target: str) -> int:
        """How many entries (all depths) the mount at ``target`` hides from below it.

        Raises:
            ValueError: if no mount has that target.
        """
        t = _norm(target)
        for m in self.mounts:
            if m.target == t:
                fs, inner = self._under(m)
                return len(_subtree(fs, inner, "/"))
        raise ValueError(f"target must be a mount target (got {target!r})")

    # ------------------------------------------------------------------ checks

    def _ro(self, m: Mount | None) -> bool:
        return self.read_only if m is None else m.read_only

    def _direct(self, m: Mount | None) -> bool:
        """Whether ``m`` (None: the root) checks nothing: writable, refusing no operation."""
        return not self._ro(m) and (m is None or not m.unsupported)

    @staticmethod
    def _unsupported(m: Mount | None, op: str, path: str) -> None:
        if m is not None and op in m.unsupported:
            raise FsError(m.unsupported_errno, path)

    def _is_target(self, path: str) -> bool:
        return any(path == t for t, _, _ in self._table)

    @staticmethod
    def _check_parent(fs: FileSystem, inner: str, path: str) -> None:
        parent = _split(inner)[0]
        with _OnPath(path):
            kind = fs.stat(parent).kind
        if kind != DIR:
            raise FsError("ELOOP" if kind == SYMLINK else "ENOTDIR", path)

    @staticmethod
    def _stat(fs: FileSystem, inner: str, path: str) -> Lookup:
        with _OnPath(path):
            return fs.stat(inner)

    @staticmethod
    def _exists(fs: FileSystem, inner: str, path: str) -> bool:
        """Whether ``inner`` exists; raises for a bad parent."""
        try:
            fs.stat(inner)
        except FsError as e:
            if e.errno != "ENOENT":
                raise FsError(e.errno, path) from None
            ContainerView._check_parent(fs, inner, path)
            return False
        return True

    # ------------------------------------------------------------------ operations

    def stat(self, path: str) -> Lookup:
        """``stat`` through the mount table (see ``OverlayFS.stat``)."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "stat", p)
        return self._stat(fs, inner, p)

    def open(
        self,
        path: str,
        *,
        write: bool = False,
        create: bool = False,
        excl: bool = False,
        trunc: bool = False,
        mode: int = 0o644,
    ) -> Opened:
        """``open`` through the mount table; EROFS for writing or creating on a read-only
        mount (after ENOENT, EEXIST and EISDIR, as the kernel orders them).

        The op names checked against ``Mount.unsupported`` are ``open``, and ``create``
        when the call would create the file.
        """
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "open", p)
        ro = self._ro(m)
        if (ro and (write or trunc or create)) or (
            create and m is not None and "create" in m.unsupported
        ):
            if self._exists(fs, inner, p):
                if ro and (write or trunc):
                    if create and excl:
                        raise FsError("EEXIST", p)
                    kind = self._stat(fs, inner, p).kind
                    if kind == DIR:
                        raise FsError("EISDIR", p)
                    if kind == SYMLINK:
                        raise FsError("ELOOP", p)
                    raise FsError("EROFS", p)
            elif create:
                self._unsupported(m, "create", p)
                if ro:
                    raise FsError("EROFS", p)
        with _OnPath(p):
            return fs.open(inner, write=write, create=create, excl=excl, trunc=trunc, mode=mode)

    def read(self, path: str, offset: int, nbytes: int) -> Read:
        """``read`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "read", p)
        with _OnPath(p):
            return fs.read(inner, offset, nbytes)

    def _writable(self, op: str, p: str) -> tuple[FileSystem, str]:
        m, fs, inner = self._route(p)
        self._unsupported(m, op, p)
        if self._ro(m):
            kind = self._stat(fs, inner, p).kind
            if kind == DIR:
                raise FsError("EISDIR", p)
            if kind == SYMLINK:
                raise FsError("ELOOP", p)
            raise FsError("EROFS", p)
        return fs, inner

    def write(self, path: str, offset: int, nbytes: int) -> Written:
        """``write`` through the mount table."""
        p = _norm(path)
        fs, inner = self._writable("write", p)
        with _OnPath(p):
            return fs.write(inner, offset, nbytes)

    def append(self, path: str, nbytes: int) -> Written:
        """``append`` through the mount table."""
        p = _norm(path)
        fs, inner = self._writable("append", p)
        with _OnPath(p):
            return fs.append(inner, nbytes)

    def open_write(
        self,
        path: str,
        offset: int,
        nbytes: int,
        *,
        append: bool = False,
        at: Callable[[int, int], int] | None = None,
    ) -> Wrote:
        """``open_write`` through the mount table (see ``OverlayFS.open_write``):
        the same outcome, errors and order of checks as :meth:`open` with ``write`` and
        ``create``, then :meth:`write` (or :meth:`append`)."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        if self._direct(m):  # nothing to check
            with _OnPath(p):
                return fs.open_write(inner, offset, nbytes, append=append, at=at)
        # A mount that refuses something: the two calls, each with its own checks.
        try:
            source = fs.read(inner, 0, 0).layer  # where its data is (a metacopy's: below)
        except FsError:
            source = 0
        opened = self.open(p, write=True, create=True)
        if append:
            offset = opened.size_bytes
            written = self.append(p, nbytes)
        else:
            if at is not None:
                offset = at(opened.size_bytes, nbytes)
            written = self.write(p, offset, nbytes)
        copy = opened.copy_up_bytes + written.copy_up_bytes
        return Wrote(
            written.size_bytes,
            opened.layers_visited,
            copy,
            opened.copied_up or bool(copy),
            source if opened.copied_up or copy else 0,
            offset,
        )

    def route(self, path: str) -> tuple[Mount | None, FileSystem, str, bool]:
        """Which mount serves ``path`` (None: the root), its file system, the path inside
        it, and whether calling that file system directly is the same as calling this
        view (a writable mount, or root, that refuses no operation: nothing to check)."""
        m, fs, inner = self._route(_norm(path))
        return m, fs, inner, self._direct(m)

    def truncate(self, path: str, size: int) -> Changed:
        """``truncate`` through the mount table."""
        p = _norm(path)
        fs, inner = self._writable("truncate", p)
        with _OnPath(p):
            return fs.truncate(inner, size)

    def fsync(self, path: str) -> Changed:
        """``fsync`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "fsync", p)
        with _OnPath(p):
            return fs.fsync(inner)

    def chmod(self, path: str, mode: int) -> Changed:
        """``chmod`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "chmod", p)
        if self._ro(m):
            kind = self._stat(fs, inner, p).kind
            raise FsError("EOPNOTSUPP" if kind == SYMLINK else "EROFS", p)
        with _OnPath(p):
            return fs.chmod(inner, mode)

    def unlink(self, path: str) -> Changed:
        """``unlink`` through the mount table; EBUSY for a file mount point."""
        p = _norm(path)
        if self._is_target(p):
            if self._stat(*self._route(p)[1:], p).kind == DIR:
                raise FsError("EISDIR", p)
            raise FsError("EBUSY", p)
        m, fs, inner = self._route(p)
        self._unsupported(m, "unlink", p)
        if self._ro(m):
            self._check_parent(fs, inner, p)
            raise FsError("EROFS", p)
        with _OnPath(p):
            return fs.unlink(inner)

    def rmdir(self, path: str) -> Changed:
        """``rmdir`` through the mount table; EBUSY for a directory mount point."""
        p = _norm(path)
        if self._is_target(p):
            if self._stat(*self._route(p)[1:], p).kind != DIR:
                raise FsError("ENOTDIR", p)
            raise FsError("EBUSY", p)
        m, fs, inner = self._route(p)
        self._unsupported(m, "rmdir", p)
        if self._ro(m):
            self._check_parent(fs, inner, p)
            raise FsError("EROFS", p)
        with _OnPath(p):
            return fs.rmdir(inner)

    def mkdir(self, path: str, mode: int = 0o755) -> Changed:
        """``mkdir`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "mkdir", p)
        if self._ro(m):
            if self._exists(fs, inner, p):
                raise FsError("EEXIST", p)
            raise FsError("EROFS", p)
        with _OnPath(p):
            return fs.mkdir(inner, mode)

    def symlink(self, target: str, path: str) -> Changed:
        """``symlink`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "symlink", p)
        if self._ro(m):
            if self._exists(fs, inner, p):
                raise FsError("EEXIST", p)
            raise FsError("EROFS", p)
        with _OnPath(p):
            return fs.symlink(target, inner)

    def link(self, src: str, dst: str) -> Changed:
        """``link`` through the mount table; EXDEV across mounts."""
        s, t = _norm(src), _norm(dst)
        sm, sfs, sinner = self._route(s)
        tm, tfs, tinner = self._route(t)
        self._unsupported(sm, "link", s)
        self._stat(sfs, sinner, s)
        if self._exists(tfs, tinner, t):
            raise FsError("EEXIST", t)
        if sm is not tm:
            raise FsError("EXDEV", s)
        if self._ro(sm):
            raise FsError("EROFS", t)
        with _OnPath(s):
            return sfs.link(sinner, tinner)

    def rename(self, src: str, dst: str) -> Changed:
        """``rename`` through the mount table.

        EXDEV across mounts (judged by the parents' mounts, as the kernel does); EBUSY when
        ``src`` or ``dst`` is a mount point, or ``src`` contains one (the mount table is
        keyed by path, so it cannot follow a renamed ancestor).
        """
        s, t = _norm(src), _norm(dst)
        sm = self._route(_split(s)[0])[0]
        tm = self._route(_split(t)[0])[0]
        self._unsupported(sm, "rename", s)
        if sm is not tm:
            raise FsError("EXDEV", s)
        if self._ro(sm):
            raise FsError("EROFS", s)
        prefix = s + "/"
        if (
            self._is_target(s)
            or self._is_target(t)
            or any(target.startswith(prefix) for target, _, _ in self._table)
        ):
            raise FsError("EBUSY", s)
        _, fs, sinner = self._route(s)
        tinner = self._route(t)[2]
        with _OnPath(s):
            return fs.rename(sinner, tinner)

    def readdir(self, path: str) -> Listing:
        """``readdir`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        self._unsupported(m, "readdir", p)
        with _OnPath(p):
            return fs.readdir(inner)

    # ------------------------------------------------------------------ introspection

    def storage_of(self, path: str, result: object) -> str:
        """Which storage choice served an operation on ``path``.

        Args:
            path: the path the operation was given.
            result: what the operation returned (any object with the same fields will do),
                or None if it failed.

        Returns:
            For a mount, its ``storage``. For the root overlay, ``"image_layer"`` when the
            result's data came from a lower layer (``layer >= 1``; for a ``Listing``, the
            directory has no upper part) and nothing was copied up, else
            ``"writable_layer"``.
        """
        m, fs, inner = self._route(_norm(path))
        if m is not None:
            return m.storage
        layer = getattr(result, "layer", None)
        if layer is None and isinstance(result, Listing):
            try:
                layer = fs.stat(inner).layer
            except FsError:
                layer = None
        copied = getattr(result, "copied_up", False) or getattr(result, "copy_up_bytes", 0)
        lower = isinstance(layer, int) and layer >= 1 and not copied
        return "image_layer" if lower else "writable_layer"

    def visible_tree(self) -> dict[str, Node]:
        """The whole container's view: path -> Node (root excluded), mounts included."""
        out = {p: n for p, n in self.root.visible_tree().items() if self._route(p)[0] is None}
        for m in self.mounts:
            sub = {m.target: _root_node(m.fs, m.source_root)}
            for rel, node in _subtree(m.fs, m.source_root, "/").items():
                sub[m.target + rel] = node
            out.update((p, n) for p, n in sub.items() if self._route(p)[0] is m)
        return dict(sorted(out.items()))

    def __repr__(self) -> str:
        return f"ContainerView({self.root!r}, {len(self.mounts)} mounts)"


def _root_node(fs: FileSystem, path: str) -> Node:
    if path == "/":
        return Node(DIR)
    return fs.visible_tree(_split(path)[0])[path]


def _subtree(fs: FileSystem, inner: str, base: str) -> dict[str, Node]:
    """Visible entries strictly below ``inner`` in ``fs``, re-rooted at ``base``."""
    try:
        tree = fs.visible_tree(inner)
    except FsError:
        return {}
    cut = 0 if inner == "/" else len(inner)
    return {(p[cut:] if base == "/" else base + p[cut:]): node for p, node in tree.items()}


def _makedirs(fs: FileSystem, path: str) -> None:
    """``mkdir -p`` (mode 0o755), as Docker does for mount points."""
    if path == "/":
        return
    try:
        kind = fs.stat(path).kind
    except FsError as e:
        if e.errno != "ENOENT":
            raise
        _makedirs(fs, _split(path)[0])
        fs.mkdir(path)
        return
    if kind != DIR:
        raise FsError("ENOTDIR", path)
