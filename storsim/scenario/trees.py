"""The shape of the file trees a scenario describes: checked before anything is built.

Like a surveyor who checks a plot plan before the builders come (no room inside a
cupboard, no door onto a wall), this module checks the trees a scenario lists, the way
the file-system model will build them, without building them: no entry below a file, a
symlink or a whiteout; no path given twice in one image layer as two kinds of entry; no
mount (or compared path) on, or below, a file or symlink of what the container sees
there (its image, or the mount above it). Generated populations (``generate:``, up to
ten million files) are never listed: whether a path is one of their directories or
files is computed from the pattern their names follow (:func:`_generated`).

Each problem is ``(yaml path, rule)`` for :func:`~storsim.scenario.messages.rule_error`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the specs import nothing from here; only the Scenario's check does
    from storsim.scenario.content import Content, GenerateSpec, LayerSpec
    from storsim.scenario.model import Scenario
    from storsim.scenario.services import ServiceSpec

__all__ = ["Problem", "content_kind", "tree_problems"]

#: What is wrong, and where: (YAML path, rule).
Problem = tuple[list[str | int], str]

DIR, FILE, SYMLINK, WHITEOUT = "directory", "file", "symlink", "whiteout"


def tree_problems(s: Scenario) -> Iterator[Problem]:
    """Every problem of the scenario's trees, in file order (the first is reported)."""
    for name, image in s.images.items():
        for layer in image.layers:
            if layer.origin is layer:  # the copies of a `repeat` have the same problems
                yield from _layer_problems(layer, ["images", name, "layers", layer.entry])
    for key, content in s.sources.items():
        yield from _content_problems(content, ["sources", key])
    if s.compare is not None and s.compare.content is not None:
        yield from _content_problems(s.compare.content, ["compare", "content"])
    tables = _Tables()
    for sname, svc in s.services.items():
        yield from _mount_problems(s, sname, svc, tables)
    if s.compare is not None:
        services = [s.compare.service] if s.compare.service else list(s.services)
        for sname in services:
            if sname in s.services:
                yield from _compare_problems(s, sname, s.services[sname], tables)


# --- one tree: explicit entries and generated ones --------------------------------------


def _ancestors(path: str) -> Iterator[str]:
    """The proper ancestors of an absolute path, nearest first, "/" excluded."""
    while True:
        path = path.rsplit("/", 1)[0]
        if not path:
            return
        yield path


def _below(path: str, base: str) -> bool:
    return base == "/" or path.startswith(base.rstrip("/") + "/")


def _generated(g: GenerateSpec, path: str) -> str | None:
    """What ``path`` is in the population ``g`` generates: DIR (its folder, an ancestor,
    or one of its ``dNNNN`` subfolders), FILE, ``"below"`` (below one of its files),
    or None. The names follow the model's pattern: ``{dir}/{prefix}{i:06d}``, or, past
    ``fanout`` files, ``{dir}/d{i // fanout:04d}/{prefix}{i:06d}``."""
    base = g.dir.rstrip("/")  # "" for the root
    if path == (base or "/") or _below(base or "/", path):
        return DIR  # the folder itself, or one of its ancestors
    if not path.startswith(base + "/"):
        return None
    rest = path[len(base) + 1 :].split("/")
    low, high = 0, g.count
    if g.count > g.fanout:
        k = _number(rest[0], "d", 4)
        if k is None or k * g.fanout >= g.count:
            return None
        if len(rest) == 1:
            return DIR
        low, high = k * g.fanout, min(g.count, (k + 1) * g.fanout)
        rest = rest[1:]
    i = _number(rest[0], g.prefix, 6)
    if i is None or not low <= i < high:
        return None
    return FILE if len(rest) == 1 else "below"


def _number(name: str, prefix: str, width: int) -> int | None:
    """``n`` if ``name`` is ``f"{prefix}{n:0{width}d}"``, else None."""
    match = re.fullmatch(re.escape(prefix) + r"(\d+)", name)
    if match is None or f"{prefix}{int(match[1]):0{width}d}" != name:
        return None
    return int(match[1])


def _collide(g: GenerateSpec, other: GenerateSpec) -> bool:
    """Whether ``g``'s ``dNNNN`` subfolders take names that ``other`` gives to files in
    the same folder (``d{k:04d}`` and ``d{i:06d}`` meet from 100000 on)."""
    if g.dir != other.dir or g.count <= g.fanout or other.count > other.fanout:
        return False
    subfolders = -(-g.count // g.fanout)
    return other.prefix == "d" and min(subfolders, other.count) > 100_000


def _kind(entries: dict[str, str], generates: Sequence[GenerateSpec], path: str) -> str | None:
    """The kind of ``path`` in one tree (explicit entries win over generated ones)."""
    kind = entries.get(path)
    if kind is not None:
        return kind
    for g in generates:
        found = _generated(g, path)
        if found == "below":
            return None
        if found is not None:
            return found
    return None


def _structure(
    entries: dict[str, str], generates: Sequence[GenerateSpec], where: list[str | int]
) -> Iterator[Problem]:
    """Nothing below a non-directory: explicit entries among themselves, explicit
    entries and generated populations, and populations among themselves."""
    for path, kind in sorted(entries.items()):
        for parent in _ancestors(path):
            above = entries.get(parent)
            if above is not None and above != DIR:
                yield where, f"{path} must not be below {parent}, which is a {above}"
                break
        for j, g in enumerate(generates):
            found = _generated(g, path)
            if found == "below":
                yield where, f"{path} must not be below a file that generate[{j}] makes"
            elif found == FILE and kind != FILE:
                yield where, f"{path} is a {kind}, but generate[{j}] makes a file of that name"
            elif found == DIR and kind != DIR:
                yield where, f"{path} is a {kind}, but generate[{j}] puts files below it"
    for j, g in enumerate(generates):
        for k, other in enumerate(generates):
            if k != j and (_generated(other, g.dir) in (FILE, "below") or _collide(g, other)):
                yield (
                    where,
                    (
                        f"generate[{j}] must not put files where generate[{k}] makes a file "
                        f"({g.dir}): give them different dirs or prefixes"
                    ),
                )


def _layer_problems(layer: LayerSpec, where: list[str | int]) -> Iterator[Problem]:
    """A layer's entries as ``Layer.build`` adds them: each path once (a directory may
    also be marked opaque), generated files replacing listed files of the same name."""
    entries: dict[str, str] = {}
    for kind, paths in (
        (DIR, layer.dirs),
        ("opaque directory", layer.opaque),
        (FILE, layer.files),
        (WHITEOUT, layer.delete),
        (SYMLINK, layer.symlinks),
    ):
        for path in paths:
            if path == "/" and kind == DIR:
                continue
            before = entries.get(path)
            if before is not None and not (kind == "opaque directory" and before == DIR):
                yield where, f"{path} must be given once, not as a {before} and a {kind}"
            entries[path] = DIR if kind == "opaque directory" else kind
    yield from _structure(entries, layer.generate, where)


def _content_entries(content: Content) -> dict[str, str]:
    """A volume's or bind source's entries as they are populated: directories, then
    files, then symlinks, a later kind replacing an earlier one at the same path."""
    entries = {path: DIR for path in content.dirs if path != "/"}
    entries.update(dict.fromkeys(content.files, FILE))
    entries.update(dict.fromkeys(content.symlinks, SYMLINK))
    return entries


def content_kind(content: Content, path: str) -> str | None:
    """The kind of ``path`` (absolute, inside the tree) in a volume's or bind source's
    content: ``"file"``, ``"directory"``, ``"symlink"`` or None."""
    return _kind(_content_entries(content), content.generate, path)


def _content_problems(content: Content, where: list[str | int]) -> Iterator[Problem]:
    yield from _structure(_content_entries(content), content.generate, where)


# --- what a container sees at a mount target -----------------------------------------


class _Tables:
    """The entry table of each layer and content, made once for one scenario's check
    (a layer may list a hundred thousand files, and every mount looks through it)."""

    def __init__(self) -> None:
        self._made: dict[int, tuple[object, dict[str, str]]] = {}

    def of(self, tree: LayerSpec | Content) -> dict[str, str]:
        from storsim.scenario.content import LayerSpec

        if isinstance(tree, LayerSpec):
            tree = tree.origin  # the copies of a `repeat` have one table
        made = self._made.get(id(tree))
        if made is None:  # the tree is kept with its table, so that its id stays its own
            table = _layer_entries(tree) if isinstance(tree, LayerSpec) else _content_entries(tree)
            made = self._made[id(tree)] = (tree, table)
        return made[1]


def _image_kind(s: Scenario, image: str, path: str, tables: _Tables) -> str | None:
    """The kind of ``path`` in an image's merged view (a lookup from the top layer down:
    a whiteout hides the name, an opaque directory or a non-directory above hides what
    the layers below have there)."""
    for layer in reversed(s.images[image].layers):
        entries = tables.of(layer)
        kind = _kind(entries, layer.generate, path)
        if kind == WHITEOUT:
            return None
        if kind is not None:
            return kind
        for parent in _ancestors(path):
            above = entries.get(parent)
            if above in (WHITEOUT, FILE, SYMLINK) or parent in layer.opaque:
                return None
    return None


def _layer_entries(layer: LayerSpec) -> dict[str, str]:
    entries = dict.fromkeys(layer.dirs, DIR)
    entries.update(dict.fromkeys(layer.opaque, DIR))
    entries.update(dict.fromkeys(layer.files, FILE))
    entries.update(dict.fromkeys(layer.delete, WHITEOUT))
    entries.update(dict.fromkeys(layer.symlinks, SYMLINK))
    return entries


def _blocker(lookup: dict[str, str | None], path: str) -> str | None:
    """The first of ``path`` and its ancestors that is a file or symlink, with its kind."""
    for p in (path, *_ancestors(path)):
        if lookup.get(p) in (FILE, SYMLINK):
            return f"{p}, a {lookup[p]}"
    return None


def _seen_at(
    s: Scenario, svc: ServiceSpec, path: str, tables: _Tables, skip: str | None = None
) -> tuple[str, dict[str, str | None]]:
    """What a container of ``svc`` sees at ``path`` and its ancestors, below the deepest
    mount above ``path`` (other than one at ``skip``): (what that is, path -> kind)."""
    above = [
        m for m in svc.mounts if m.target != skip and m.target != path and _below(path, m.target)
    ]
    paths = [path, *_ancestors(path)]
    if not above:
        return "the image", {p: _image_kind(s, svc.image, p, tables) for p in paths}
    mount = max(above, key=lambda m: len(m.target))
    base = mount.target.rstrip("/")
    inner = [p[len(base) :] for p in paths if p.startswith(base + "/")]
    place = s.bind_sources.get(mount.source or "") if mount.type == "bind" else None
    if place is not None and place.file:
        return f"the file bind at {mount.target}", {mount.target: FILE}
    if place is not None and place.inner != "/":
        # a directory inside a bind source's tree: its content, seen from that directory
        root = s.sources.get(place.root)
        kinds = {base + q: _kind(tables.of(root), root.generate, place.inner + q) if root
                 else None for q in inner}  # fmt: skip
        return f"the bind mount at {mount.target}", kinds
    content = s.sources.get(mount.source) if mount.source else None
    if content is None and mount.type == "volume":
        # a new, empty volume gets the image's files at its target (Docker copies them)
        kinds = {base + q: _image_kind(s, svc.image, base + q, tables) for q in inner}
        return f"the volume at {mount.target}", kinds
    entries = tables.of(content) if content is not None else {}
    generates = content.generate if content is not None else []
    kinds = {base + q: _kind(entries, generates, q) for q in inner}
    return f"the {mount.type} mount at {mount.target}", kinds


def _mount_problems(
    s: Scenario, sname: str, svc: ServiceSpec, tables: _Tables
) -> Iterator[Problem]:
    targets: list[tuple[str, int | None, int]] = [
        (m.target, i, 0) for i, m in enumerate(svc.mounts)
    ]
    targets += [(t, None, j) for j, t in enumerate(s.images[svc.image].volumes)]
    for target, i, j in targets:
        what, kinds = _seen_at(s, svc, target, tables)
        mount = svc.mounts[i] if i is not None else None
        place = s.bind_sources.get(mount.source or "") if mount and mount.type == "bind" else None
        if place is not None and place.file:
            # a single-file bind: a file (or nothing) at the target, directories above it
            kind = kinds.get(target)
            blocker = _blocker({p: k for p, k in kinds.items() if p != target}, target)
            if blocker is None and kind == SYMLINK:
                blocker = f"{target}, a symlink"
            if blocker is None and kind == DIR:
                assert i is not None
                assert mount is not None
                yield (
                    _mount_where(sname, svc, i),
                    f"cannot mount the file {mount.source} on {target}: {what} has a "
                    "directory there (Docker refuses it: not a directory)",
                )
                continue
        else:
            blocker = _blocker(kinds, target)
        if blocker is None:
            continue
        if i is None:
            where: list[str | int] = ["images", svc.image, "volumes", j]
        elif i < len(svc.volumes):
            where = ["services", sname, "volumes", i]
        else:
            where = ["services", sname, "tmpfs", i - len(svc.volumes)]
        yield where, f"cannot mount on {target}: {what} has {blocker} there (not a directory)"


def _compare_problems(
    s: Scenario, sname: str, svc: ServiceSpec, tables: _Tables
) -> Iterator[Problem]:
    assert s.compare is not None
    if set(s.compare.choices) <= {"image_layer"}:
        return  # an image layer may hold a directory over a file of a lower layer
    path = s.compare.path
    for m in svc.mounts:
        place = s.bind_sources.get(m.source or "") if m.type == "bind" else None
        if m.target == path and place is not None and place.file:
            yield (
                ["compare", "path"],
                f"is the target of the file bind {m.source} in service {sname}: compare "
                "places a directory (compare the directory that holds it)",
            )
            return
    what, kinds = _seen_at(s, svc, path, tables, skip=path)
    blocker = _blocker(kinds, path)
    if blocker is not None:
        yield (
            ["compare", "path"],
            (
                f"cannot place {path} on another storage: in service {sname}, {what} has "
                f"{blocker} there (not a directory)"
            ),
        )
        return
    content = s.compare.content
    if content is None:
        return
    entries = tables.of(content)
    base = path.rstrip("/")
    for m in svc.mounts:
        if m.target != path and _below(m.target, path):
            inner = m.target[len(base) :]
            lookup = {q: _kind(entries, content.generate, q) for q in (inner, *_ancestors(inner))}
            blocker = _blocker(lookup, inner)
            if blocker is not None:
                yield (
                    ["compare", "content"],
                    (f"has {blocker} where service {sname} mounts {m.target} (not a directory)"),
                )


def _mount_where(sname: str, svc: ServiceSpec, i: int) -> list[str | int]:
    if i < len(svc.volumes):
        return ["services", sname, "volumes", i]
    return ["services", sname, "tmpfs", i - len(svc.volumes)]
