"""Image layers: the read-only sheets of a container's root, merged once per image.

An image is a pile of tracing-paper sheets, each holding the changes of one Dockerfile
step; nobody may draw on them. ``Layer`` is one sheet (an overlayfs *lowerdir*: files,
directories, symlinks, whiteouts that delete a name of the sheets below, opaque
directories that hide everything below them). ``LowerStack`` is the pile, top-most
first, with what a lookup sees through it computed once, so that every container of the
image shares one merged index and a lookup is one dict hit however deep the image is.
The merge follows the kernel's lookup loop (``ovl_lookup``); the differential test
(``tests/fs/test_kernel.py``) and Docker's own layer extraction (``tests/fs/test_layers.py``)
check it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Final, NamedTuple

from storsim.fs.nodes import (
    _KIND_MODE,
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    SYMLINK,
    WHITEOUT,
    Node,
    _depth,
    _norm,
    _split,
)

__all__ = ["DOCKER_MAX_LAYERS", "KERNEL_MAX_LAYERS", "Layer", "LowerEntry", "LowerStack"]

DOCKER_MAX_LAYERS: Final = 128
"""Docker overlay2's ``maxDepth``: images deeper than this are refused."""
KERNEL_MAX_LAYERS: Final = 500
"""The kernel's own limit on lower layers (``OVL_MAX_STACK``)."""


class Layer:
    """One immutable image layer, like a directory that overlayfs uses as a lowerdir.

    Args:
        name: a label (the layer's digest, or "base", "app"...).
        entries: path -> Node. Missing parent directories are implied (mode 0o755).

    Raises:
        ValueError: if an entry lies below a non-directory, the root is not a plain
            directory, or an entry is a 0:0 character device (which overlayfs reads as a
            whiteout: write ``Node("whiteout")``).
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
            if node.kind == CHARDEV and node.rdev == (0, 0):
                # overlayfs reads a 0:0 character device in a layer as a whiteout.
                raise ValueError(f"layer {name!r}: {path} is a 0:0 chardev: write a whiteout")
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
        fifos: Iterable[str] = (),
        xattrs: Mapping[str, Mapping[str, bytes]] | None = None,
    ) -> Layer:
        """Build a layer from plain lists.

        Args:
            name: the layer's label.
            files: path -> size in bytes.
            dirs: directories (parents of other entries need not be listed).
            whiteouts: paths this layer deletes from the layers below.
            opaque: directories that hide the layers below them.
            symlinks: path -> target.
            fifos: named pipes.
            xattrs: path -> {attribute name: value} for entries given above (or implied
                directories).

        Returns:
            The layer.

        Raises:
            ValueError: if a path is given twice, lies below a non-directory, or has
                attributes its kind cannot hold.
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
        for path in fifos:
            add(path, Node(FIFO))
        for path, attrs in (xattrs or {}).items():
            path = _norm(path)
            node = entries.get(path, Node(DIR))
            entries[path] = replace(node, xattrs=tuple(attrs.items()))
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

    __slots__ = ("_absolute", "_index", "layers", "max_layers")

    def __init__(self, layers: Sequence[Layer], *, max_layers: int = DOCKER_MAX_LAYERS) -> None:
        if max_layers < 1:
            raise ValueError(f"max_layers must be >= 1 (got {max_layers!r})")
        limit = min(max_layers, KERNEL_MAX_LAYERS)
        if len(layers) > limit:
            raise ValueError(f"max depth exceeded: {len(layers)} lower layers > {limit}")
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.max_layers = max_layers
        self._index: dict[str, LowerEntry] = self._merge()
        self._absolute: dict[tuple[str, bool], int] = {}

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
                # The merged directory shows the top-most copy's mode and attributes
                # (ovl_dentry_lower: getxattr and copy-up read that one).
                clean = Node(DIR, mode=node.mode, xattrs=node.xattrs)
                todo.append((child, clean, li, visited, tuple(merged), child_ancestors))
            index[path] = LowerEntry(
                DIR, dnode, dlayer, dvisited, stack, tuple(sorted(visible)), ancestors
            )
        return index

    def lookup(self, path: str) -> LowerEntry | None:
        """The merged lower entry at ``path`` (a whiteout included), or None."""
        return self._index.get(_norm(path))

    def absolute_layers(self, path: str, *, is_dir: bool) -> int:
        """Lower layers a lookup consults for an upper entry whose redirect is the absolute
        ``path`` (a directory, or with ``is_dir=False`` a metacopy file looking for its data).

        ``ovl_lookup`` then searches the root's stack, every layer top-most first, walking
        the whole path in each (``ovl_lookup_layer``), and stops after the layer where a
        whiteout or a non-directory lies on the way, an opaque directory lies on the way
        or is the target, or the target is found as a non-directory (for a file: as
        anything). The count is kept (the stack never changes).
        """
        key = (path, is_dir)
        count = self._absolute.get(key)
        if count is None:
            count = self._absolute[key] = self._search_absolute(path, is_dir)
        return count

    def _search_absolute(self, path: str, is_dir: bool) -> int:
        parts = [c for c in path.split("/") if c]
        above = ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]
        for count, layer in enumerate(self.layers, 1):
            entries = layer.entries
            stop = reached = False
            for q in above:
                node = entries.get(q)
                if node is None or node.kind != DIR:
                    stop = node is not None  # a whiteout or a non-directory ends it
                    break
                stop = stop or node.opaque  # the walk goes on in this layer, not below it
            else:
                reached = True
            if reached:
                node = entries.get(path)
                if node is not None and (not is_dir or node.kind != DIR or node.opaque):
                    stop = True
            if stop:
                return count
        return len(self.layers)

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
