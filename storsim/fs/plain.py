"""A plain directory tree: a volume, a bind mount's host directory, a tmpfs.

An ordinary directory is an overlay with nothing underneath: a transparency with no
stack below it, where every spot shows the top sheet's ink or nothing. So ``PlainFS`` is
the overlay engine (``storsim.fs.overlay.OverlayEngine``) over no lower layers, not a
second implementation of POSIX: with no lower stack every lookup stops at layer 0 after
visiting 1 directory, nothing is ever copied up, no whiteout or opaque directory is ever
written (there is nothing below to hide) and no rename meets EXDEV. The differential
test checks exactly this against a real directory (``test_plainfs_matches_kernel`` in
``tests/fs/test_kernel.py``). What ``PlainFS`` adds is what only a plain tree does:
``populate`` (Docker copying an image directory into a new volume) and ``clear`` (a tmpfs
emptied when its container stops).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from storsim.fs.layers import LowerStack
from storsim.fs.nodes import _KIND_MODE, DIR, FILE, WHITEOUT, Node, _depth, _norm, _split
from storsim.fs.overlay import OverlayEngine, _Dir, _Entry, _Inode

__all__ = ["PlainFS"]

_NO_LAYERS: Final = LowerStack(())


class PlainFS(OverlayEngine):
    """An ordinary directory tree: a volume, a bind mount's host directory, a tmpfs.

    The overlay engine over no lower layers (see the module docstring): the same
    operations as ``OverlayFS``, everything in layer 0, a lookup visits 1 directory,
    nothing is ever copied up. One object may be mounted into several containers (that
    is what sharing a volume means).
    """

    __slots__ = ()

    def __init__(self) -> None:
        # No directory has a lower part, so neither option changes anything here.
        super().__init__(_NO_LAYERS, metacopy=False, redirect_dir=True, overlay=False)

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
                existing.xattrs = dict(node.xattrs) if node.xattrs else None
                continue
            parent, name = _split(path)
            pd = self._makedirs(parent)
            if isinstance(existing, _Inode):
                if node.kind == DIR:
                    raise ValueError(f"{path} is a {existing.kind}, cannot populate a dir")
                self._unlink_inode(existing)
                self._drop(path, pd, name)
            entry: _Entry
            xattrs = dict(node.xattrs) if node.xattrs else None
            if node.kind == DIR:
                entry = _Dir(node.mode, xattrs=xattrs)
            else:
                entry = _Inode(
                    node.kind, node.size_bytes, node.mode, node.target, rdev=node.rdev,
                    xattrs=xattrs,
                )  # fmt: skip
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
        fresh = _Dir(root.mode)
        fresh.walk = ()
        self._up = {"/": fresh}
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
