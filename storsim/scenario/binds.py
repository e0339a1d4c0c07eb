"""Bind sources: which host tree each bind mount's source is in, and whether it is a file.

Like the street addresses of one town, every bind source names a place on one host:
``./config`` is a directory, ``./config/nginx.conf`` a file in it, and a bind of either
reaches the same bytes. A source is resolved against the *roots*: the ``sources:`` keys
that are not volumes and the sources the services bind. The shortest root that is the
source or a directory above it holds it; the source is then a path in that root's tree:

- a root whose ``sources:`` entry is ``{file: SIZE}`` is one host file (its tree holds
  it at ``/NAME``), and a bind of it mounts that file onto its target;
- a path inside a root's content that is a file there (``./config/nginx.conf`` with
  ``./config: {files: {/nginx.conf: 2 KiB}}``) is a file of that tree: a single-file
  bind mount, sharing the file with every bind of its directory;
- anything else is a directory of that tree, created when missing, as ``docker run -v``
  creates a missing host path as a directory [D6].

A single-file bind mount hides nothing of the image but the one file at its target; see
``storsim.fs.view`` for what the kernel does with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storsim.scenario.model import Scenario

__all__ = ["BindSource", "bind_problems", "bind_sources"]


@dataclass(frozen=True, slots=True)
class BindSource:
    """Where one bind source is.

    Attributes:
        root: the root whose tree holds it (the source itself, or a directory above it).
        inner: its path in that tree (``/`` for a directory root itself; ``/NAME`` for a
            file root).
        file: whether it is a single file (its mount is a single-file bind mount).
    """

    root: str
    inner: str
    file: bool


def _under(path: str, root: str) -> bool:
    return path.startswith(root.rstrip("/") + "/")


def _mounted(s: Scenario) -> list[tuple[str, list[str | int]]]:
    """Every bind source the services mount, with the YAML path of its first mount."""
    out: dict[str, list[str | int]] = {}
    for sname, svc in s.services.items():
        for i, m in enumerate(svc.volumes):
            if m.type == "bind" and m.source:
                out.setdefault(m.source, ["services", sname, "volumes", i])
    return list(out.items())


def _roots(s: Scenario) -> list[str]:
    keys = {k for k in s.sources if k not in s.volumes} | {src for src, _ in _mounted(s)}
    return sorted(k for k in keys if not any(_under(k, r) for r in keys if r != k))


def _resolve(s: Scenario, source: str, roots: list[str]) -> BindSource | str:
    """``source``'s place, or why it has none (a rule of the scenario it breaks)."""
    from storsim.scenario.trees import FILE, SYMLINK, content_kind

    root = next(r for r in roots if source == r or _under(source, r))
    spec = s.sources.get(root)
    name = root.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or "file"
    if spec is not None and spec.file is not None:
        if source != root:
            return f"source {source!r} is below {root!r}, a file under sources (not a directory)"
        return BindSource(root, "/" + name, True)
    inner = "/" if source == root else source[len(root.rstrip("/")) :]
    if spec is None or inner == "/":
        return BindSource(root, inner, False)
    parts = inner.split("/")[1:]
    for i in range(1, len(parts)):
        above = content_kind(spec, "/" + "/".join(parts[:i]))
        if above in (FILE, SYMLINK):
            return (
                f"source {source!r} is below {'/'.join(parts[:i])!r} of {root!r}, a "
                f"{above} under sources (not a directory)"
            )
    kind = content_kind(spec, inner)
    if kind == SYMLINK:
        return (
            f"source {source!r} is a symlink in {root!r} under sources (storsim does not follow it)"
        )
    return BindSource(root, inner, kind == FILE)


def bind_sources(s: Scenario) -> dict[str, BindSource]:
    """Every bind source the services mount -> where it is (a source that breaks a rule
    of :func:`bind_problems` is left out)."""
    roots = _roots(s)
    out: dict[str, BindSource] = {}
    for source, _ in _mounted(s):
        place = _resolve(s, source, roots)
        if isinstance(place, BindSource):
            out[source] = place
    return out


def bind_problems(s: Scenario) -> Iterator[tuple[list[str | int], str]]:
    """The rules of bind sources, as ``(yaml path, rule)``: ``file:`` only for a bind
    source, no ``sources:`` entry inside another's tree, nothing below a file."""
    for key, spec in s.sources.items():
        if spec.file is not None and key in s.volumes:
            yield (
                ["sources", key],
                "a volume is a directory: give its content as files (file: is a single "
                "host file, for a bind source)",
            )
    roots = _roots(s)
    for key in s.sources:
        if key in s.volumes:
            continue
        outer = next((r for r in roots if _under(key, r)), None)
        if outer is not None:
            yield (
                ["sources", key],
                f"is inside the bind source {outer!r}: give its content in {outer!r}'s "
                f"entry, at {key[len(outer.rstrip('/')) :]!r}",
            )
    for source, where in _mounted(s):
        place = _resolve(s, source, roots)
        if isinstance(place, str):
            yield where, place
