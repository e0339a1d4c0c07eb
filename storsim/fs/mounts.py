"""The mount table: which file system serves each path of a container.

Like a building's directory board in the lobby, the table tells you, for any room
number, which wing to walk to: the container's root file system, or one of the trees
grafted onto it (volumes, bind mounts, tmpfs). The longest target that is a prefix of a
path at a component boundary wins (``/data`` serves ``/data/x``, not ``/database``).
Building the table does what Docker does at ``docker run``: it creates missing mount
points in the file system below them and, for a volume, copies the image's content into
an empty mounted directory. A mount hides whatever the image has at its target
(``MountTable.hidden_entries`` counts it). ``storsim.fs.view.ContainerView`` adds every
file operation through the table, with the checks each mount imposes.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from storsim import names
from storsim.fs.nodes import DIR, FileSystem, FsError, Listing, Node, _depth, _norm, _split
from storsim.fs.plain import PlainFS

__all__ = ["MUTATING_OPS", "OPS", "STORAGES", "Mount", "MountTable"]

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
        "mknod",
        "setxattr",
    }
)
"""Operations that a read-only mount refuses with EROFS."""
STORAGES: Final = names.STORAGES
"""The storage choices, named as everywhere in storsim."""

_ERRNO_NAMES: Final = frozenset(_errno.errorcode.values()) | {"EOPNOTSUPP"}


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
        unsupported_errnos: the errno of a refused operation that fails otherwise
            (``{"mknod": "EPERM"}`` on an SMB mount), instead of ``unsupported_errno``.
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
    unsupported_errnos: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

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
        bad = sorted(e for e in self.unsupported_errnos.values() if e not in _ERRNO_NAMES)
        if bad:
            raise ValueError(f"unsupported_errnos must be errno names (got {bad})")
        if self.copy_image and not isinstance(self.fs, PlainFS):
            raise ValueError(f"copy_image needs a PlainFS (got {type(self.fs).__name__})")


class MountTable:
    """A container's mount table: its root file system with mounts grafted on.

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


def _root_node(fs: FileSystem, path: str) -> Node:
    """The entry a mount shows at its target: its source's own (a host directory's mode
    and attributes, which ``chmod`` of the target changes; a file bind's file)."""
    return fs.node(path)


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
