"""The vocabulary of the file-system model: entries, errors, results and paths.

Like the legend printed on a map, this module says what the symbols mean before any
route is drawn: what an entry of a tree is (``Node``: a file, a directory, a symlink, a
FIFO, a device node or, in image layers only, a whiteout, with its extended attributes),
how an operation fails (``FsError`` carrying the kernel's errno name and what the failed
call cost), what each operation answers (small NamedTuples whose fields the timing layer
reads), what a path walk costs (``Walk``: one ``Component`` per lookup), and the protocol
``FileSystem`` that ``OverlayFS`` and ``PlainFS`` implement, a ``Mount`` accepts, and
``ContainerView`` follows for its operations. Paths are absolute POSIX strings,
normalised lexically on entry (``..`` is resolved as text).

How a backend reads the cost of a call (the fields are in its result, or in its
``FsError``):

- ``layers_visited`` (``Lookup``, ``Opened``, ``Wrote``, ``Xattr``, ``FsError``): the
  lookup of the final component (for an error, of the last component looked up);
  ``Listing.layers_visited`` counts instead the layer directories ``readdir`` read, and
  ``Listing.layer_entries`` the entries it read in each (upper first).
- the walk: every component's lookup, for a cold dentry cache: ``result.walk`` if it is
  not None (the call changed directories on its path: a copy-up, a creation, a removal,
  a rename), else ``fs.walk(path)``, asked at once, before the file system serves
  another call; ``FsError.walk`` always. A backend charges the components not yet in its
  mount's dentry cache (a ``Component`` whose ``found`` is False is a negative dentry).
- ``copy_up_bytes``/``copied_up``/``source_layer`` of an ``FsError``: what the call copied
  up before it failed (a refused ``setxattr``, a ``rename`` onto a non-empty upper
  directory).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol, TypeAlias

__all__ = [
    "BLOCKDEV",
    "CHARDEV",
    "DIR",
    "FIFO",
    "FILE",
    "SPECIAL",
    "SYMLINK",
    "WHITEOUT",
    "XATTR_NAME_MAX",
    "XATTR_SIZE_MAX",
    "Changed",
    "Component",
    "FileSystem",
    "FsError",
    "Listing",
    "Lookup",
    "Node",
    "Opened",
    "Read",
    "Walk",
    "Wrote",
    "Written",
    "Xattr",
]

FILE: Final = "file"
DIR: Final = "dir"
SYMLINK: Final = "symlink"
WHITEOUT: Final = "whiteout"
FIFO: Final = "fifo"
"""A named pipe (``mkfifo``, ``mknod p``)."""
CHARDEV: Final = "chardev"
"""A character device node (``mknod c MAJOR MINOR``); 0:0 is what overlayfs uses as a
whiteout, so no layer and no overlay holds one."""
BLOCKDEV: Final = "blockdev"
"""A block device node (``mknod b MAJOR MINOR``)."""
SPECIAL: Final = frozenset({FIFO, CHARDEV, BLOCKDEV})
"""Node kinds that hold no data and are no directory: what ``mknod`` makes besides files."""

_KIND_MODE: Final = {
    FILE: 0o644,
    DIR: 0o755,
    SYMLINK: 0o777,
    WHITEOUT: 0,
    FIFO: 0o644,
    CHARDEV: 0o644,
    BLOCKDEV: 0o644,
}
_DEFAULT_MODE: Final = -1

XATTR_NAME_MAX: Final = 255
"""Longest extended attribute name, in bytes (``include/uapi/linux/limits.h``): longer (or
empty) names are ERANGE before the path is even looked up."""
XATTR_SIZE_MAX: Final = 65536
"""Largest extended attribute value, in bytes (``include/uapi/linux/limits.h``): larger is
E2BIG before the lookup. A file system may hold less (ext4: what fits in one block, 4 KiB
for all of an inode's attributes, else ENOSPC); that limit is not modelled."""
_XATTR_NAMESPACES: Final = ("user.", "trusted.", "security.")
"""The namespaces the model holds (``include/uapi/linux/xattr.h``). ``system.*`` (POSIX
ACLs) is not modelled: its names answer EOPNOTSUPP, as on a file system mounted ``noacl``."""
_MAJOR_MAX: Final = (1 << 12) - 1  # the kernel's dev_t: 12 bits of major, 20 of minor
_MINOR_MAX: Final = (1 << 20) - 1


def _xattr_args_errno(name: str, value: bytes | None) -> str | None:
    """ERANGE or E2BIG for a name or value the syscall refuses before any lookup
    (``setxattr_copy``/``import_xattr_name`` in ``fs/xattr.c``), else None."""
    if not name or len(name.encode()) > XATTR_NAME_MAX:
        return "ERANGE"
    if value is not None and len(value) > XATTR_SIZE_MAX:
        return "E2BIG"
    return None


def _xattr_namespace_errno(name: str) -> str | None:
    """EINVAL for a namespace prefix with nothing after it, EOPNOTSUPP for a namespace no
    handler serves (``xattr_resolve_name``), else None."""
    for prefix in _XATTR_NAMESPACES:
        if name.startswith(prefix):
            return "EINVAL" if len(name) == len(prefix) else None
    return "EOPNOTSUPP"


class Component(NamedTuple):
    """One lookup of a path walk: the name ``path`` looked up in its parent directory.

    What a cold lookup of that name costs, counted as the kernel's ``ovl_lookup`` loop
    counts it (``fs/overlayfs/namei.c``): the parent's upper directory when the parent has
    one (``upper``), then the lower layers of the parent's merge stack, top-most first,
    until one of them stops the search (a whiteout, a non-directory, an opaque directory)
    or the stack ends. A plain tree (a volume, a bind mount, a tmpfs) counts 1.
    """

    path: str
    """The component's path (in the file system that serves it)."""
    layers_visited: int
    """Layer directories its lookup consulted."""
    upper: bool
    """One of them was the parent's upper directory (then the others are the top-most
    ``layers_visited - 1`` lower layers of the parent's merge stack; else the top-most
    ``layers_visited``)."""
    found: bool
    """The name exists (False: a negative lookup, the last component of a failed walk)."""


Walk: TypeAlias = tuple[Component, ...]
"""The lookups of a path walk on a cold dentry cache, root excluded, in walk order: one
per component up to the final one, or up to the component where the walk failed."""


class FsError(Exception):
    """A file operation failed the way the kernel fails it.

    Not a ``StorsimError``: it is the simulated application's error, which a backend
    turns into a record, never a fault of storsim or of the scenario. It carries what the
    failed call cost, for the timing side to charge it honestly: the lookups it made and
    any copy-up it did before failing.

    Args:
        errno: the errno name, e.g. ``"ENOENT"``.
        path: the path the operation was given.
        walk: the lookups the call made (``()``: it failed before any lookup); the file
            systems fill it in before the error leaves them.
        copy_up_bytes: data bytes copied up before the call failed (a ``setxattr`` copies
            a lower file up before the upper file system refuses the attribute).
        copied_up: a copy-up happened before the call failed.
        source_layer: the layer the copied data came from (0: none).
    """

    def __init__(
        self,
        errno: str,
        path: str,
        *,
        walk: Walk | None = None,
        copy_up_bytes: int = 0,
        copied_up: bool = False,
        source_layer: int = 0,
    ) -> None:
        super().__init__(errno, path)
        self.errno = errno
        self.path = path
        self.walk = walk
        self.copy_up_bytes = copy_up_bytes
        self.copied_up = copied_up
        self.source_layer = source_layer

    @property
    def layers_visited(self) -> int:
        """Layer directories the last lookup of the call consulted (the one that failed,
        for a failed lookup; the final component's otherwise); 0 before any lookup."""
        walk = self.walk
        return walk[-1].layers_visited if walk else 0

    def on(self, path: str) -> FsError:
        """The same failure reported on another path (a container's, for a mount's)."""
        return FsError(
            self.errno,
            path,
            walk=self.walk,
            copy_up_bytes=self.copy_up_bytes,
            copied_up=self.copied_up,
            source_layer=self.source_layer,
        )

    def __str__(self) -> str:
        return f"{self.errno}: {self.path}"


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of a tree: a file, directory, symlink, FIFO, device node or (in layers
    only) whiteout.

    Args:
        kind: ``"file"``, ``"dir"``, ``"symlink"``, ``"fifo"``, ``"chardev"``,
            ``"blockdev"`` or ``"whiteout"``.
        size_bytes: file size; for a symlink the length of its target (set for you).
        mode: permission bits; defaults to 0o755 for directories, 0o777 for symlinks (the
            only mode Linux gives them), 0 for whiteouts and 0o644 for the others.
        opaque: a directory that hides the layers below it.
        target: a symlink's target.
        metacopy: in an upper tree, a file whose data still lives in a lower layer.
        rdev: a device node's (major, minor).
        xattrs: extended attributes as ``(name, value)`` pairs (sorted for you), as a process
            sees them through the mount (``upper_tree`` shows an overlay's upperdir, where
            ``trusted.overlay.*`` names are escaped as ``trusted.overlay.overlay.*``).

    Raises:
        ValueError: on a combination the kernel cannot hold (an opaque file, a symlink
            without target, a negative size, a ``user.*`` attribute on a symlink...).
    """

    kind: str
    size_bytes: int = 0
    mode: int = _DEFAULT_MODE
    opaque: bool = False
    target: str | None = None
    metacopy: bool = False
    rdev: tuple[int, int] = (0, 0)
    xattrs: tuple[tuple[str, bytes], ...] = ()

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
        if (kind in (DIR, WHITEOUT) or kind in SPECIAL) and self.size_bytes:
            raise ValueError(f"a {kind} must have size_bytes 0 (got {self.size_bytes})")
        if self.opaque and kind != DIR:
            raise ValueError(f"only a directory can be opaque (got kind {kind!r})")
        if self.metacopy and kind != FILE:
            raise ValueError(f"only a file can be metacopy (got kind {kind!r})")
        major, minor = self.rdev
        if kind in (CHARDEV, BLOCKDEV):
            if not (0 <= major <= _MAJOR_MAX and 0 <= minor <= _MINOR_MAX):
                raise ValueError(
                    f"rdev must be (0..{_MAJOR_MAX}, 0..{_MINOR_MAX}) (got {self.rdev!r})"
                )
        elif self.rdev != (0, 0):
            raise ValueError(f"only a device node has an rdev (got kind {kind!r})")
        if self.xattrs:
            self._check_xattrs()

    def _check_xattrs(self) -> None:
        pairs = tuple(sorted(self.xattrs))
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"xattr names must be unique (got {names})")
        if self.kind == WHITEOUT:
            raise ValueError("a whiteout holds no xattrs")
        for name, value in pairs:
            if not isinstance(value, bytes):
                raise ValueError(f"xattr {name} must be bytes (got {value!r})")
            if _xattr_args_errno(name, value) or _xattr_namespace_errno(name):
                raise ValueError(
                    f"xattr names must be user./trusted./security.<name> of at most "
                    f"{XATTR_NAME_MAX} bytes, values at most {XATTR_SIZE_MAX} bytes "
                    f"(got {name!r}, {len(value)} bytes)"
                )
            if name.startswith("user.") and self.kind not in (FILE, DIR):
                # xattr_permission: user.* lives on regular files and directories only.
                raise ValueError(f"a {self.kind} holds no user.* xattr (got {name!r})")
        object.__setattr__(self, "xattrs", pairs)


class Lookup(NamedTuple):
    """Result of ``stat``: what the path is and where it was found."""

    kind: str
    size_bytes: int
    layer: int
    """0 is the upper (or a PlainFS); 1..n are the lowers, top-most first."""
    layers_visited: int
    """Layer directories the lookup of the final component consulted."""
    walk: Walk | None = None
    """The call's path walk when the call changed the directories on its path; None when
    ``fs.walk(path)``, asked before the next call on that file system, gives it (the same
    in every result)."""


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
    walk: Walk | None = None


class Read(NamedTuple):
    """Result of ``read``."""

    nbytes: int
    """Bytes read, clipped at end of file."""
    layer: int
    """Where the data comes from: a metacopy upper file still reads from its lower."""
    walk: Walk | None = None


class Written(NamedTuple):
    """Result of ``write`` and ``append``."""

    size_bytes: int
    """The file's size after the write."""
    copy_up_bytes: int
    walk: Walk | None = None


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
    walk: Walk | None = None
    grown: int = 0
    """Bytes the write added past the file's old end (an extending write allocates and
    updates the size; an overwrite of existing bytes does not)."""


class Changed(NamedTuple):
    """Result of an operation that changes the tree."""

    copy_up_bytes: int
    walk: Walk | None = None
    """For ``rename``: both walks, as the kernel makes them (both parents, then the source
    and the target); for ``link``: the source's, then the target's."""
    copied_up: bool = False
    """True when a ``chmod`` or ``setxattr`` copied the entry up, its data included or
    not (a directory, or a file with metacopy: ``copy_up_bytes`` 0, but the upper inode
    is still created in the work directory and renamed into place [K1])."""


class Listing(NamedTuple):
    """Result of ``readdir``."""

    names: tuple[str, ...]
    """Visible entry names, sorted; no ``.`` or ``..``."""
    layers_visited: int
    """Layer directories read to merge the listing (``len(layer_entries)``)."""
    layer_entries: tuple[int, ...] = ()
    """Entries read from each of those directories, upper first, then the lowers top-down
    (whiteouts included, ``.`` and ``..`` not): the kernel reads every layer's copy of a
    merged directory and merges the names into one list, which it keeps with the open
    directory (``ovl_dir_read_merged``, ``ovl_cache_get``); a directory that lives in one
    layer only it reads straight from that layer (``ovl_dir_is_real``)."""
    walk: Walk | None = None


class Xattr(NamedTuple):
    """Result of ``getxattr``."""

    value: bytes
    layer: int
    """Where the attribute was read: the upper (0) if the entry has an upper part (a
    metacopy file's attributes were copied up with it), else its top-most lower layer."""
    layers_visited: int
    """Layer directories the lookup of the final component consulted."""
    walk: Walk | None = None


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

    def setxattr(
        self, path: str, name: str, value: bytes = b"", *, create: bool = False,
        replace: bool = False,
    ) -> Changed: ...  # fmt: skip

    def getxattr(self, path: str, name: str) -> Xattr: ...

    def unlink(self, path: str) -> Changed: ...

    def mkdir(self, path: str, mode: int = 0o755) -> Changed: ...

    def rmdir(self, path: str) -> Changed: ...

    def rename(self, src: str, dst: str) -> Changed: ...

    def rename_checks(self, src: str, dst: str) -> bool: ...

    def node(self, path: str) -> Node: ...

    def link(self, src: str, dst: str) -> Changed: ...

    def symlink(self, target: str, path: str) -> Changed: ...

    def mknod(
        self, path: str, kind: str = FIFO, mode: int = 0o644, rdev: tuple[int, int] = (0, 0)
    ) -> Changed: ...

    def readdir(self, path: str) -> Listing: ...

    def walk(self, path: str) -> Walk: ...

    def visible_tree(self, under: str = "/") -> dict[str, Node]: ...

    def upper_tree(self) -> dict[str, Node]: ...

    def upper_bytes(self) -> int: ...


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
