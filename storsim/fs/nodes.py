"""The vocabulary of the file-system model: entries, errors, results and paths.

Like the legend printed on a map, this module says what the symbols mean before any
route is drawn: what an entry of a tree is (``Node``: a file, a directory, a symlink or,
in image layers only, a whiteout), how an operation fails (``FsError`` carrying the
kernel's errno name), what each operation answers (small NamedTuples whose fields the
timing layer reads), and the protocol ``FileSystem`` that ``OverlayFS`` and ``PlainFS``
implement, a ``Mount`` accepts, and ``ContainerView`` follows for its operations. Paths
are absolute POSIX strings, normalised lexically on entry (``..`` is resolved as text).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol

__all__ = [
    "DIR",
    "FILE",
    "SYMLINK",
    "WHITEOUT",
    "Changed",
    "FileSystem",
    "FsError",
    "Listing",
    "Lookup",
    "Node",
    "Opened",
    "Read",
    "Wrote",
    "Written",
]

FILE: Final = "file"
DIR: Final = "dir"
SYMLINK: Final = "symlink"
WHITEOUT: Final = "whiteout"

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
