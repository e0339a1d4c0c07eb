"""The overlay root file system: shared read-only image layers under a private upper.

Like a stack of transparencies on an overhead projector: you see the top-most mark at
each spot; to change a mark printed on a lower sheet you must first trace it whole onto
the top sheet (copy-up), and only then edit it. Looking a spot up the first time means
peering through every sheet down to the one that has it (a cold lookup visits each
layer); the kernel then remembers the answer (dentry cache).

Costs, with their sources:

- a cold lookup costs one metadata read from the backing disk per layer directory
  visited, the first time the host looks there, plus a little CPU per layer each time a
  container's overlay looks it up first; cached afterwards ([K1] "the combined result is
  cached in the dentry"; [P1] per-layer cost paid only on first access, VT1).
- a copy-up reads the whole lower file (through the shared page cache) and writes it to
  the upper layer, then fsyncs it ([K3] ``ovl_copy_up_file`` copies in 1 MiB chunks and
  syncs the upper file), plus creating it in the work directory and renaming it into
  place ([K1]); its time is the triggering operation's time. Concurrent openers of the
  same file wait for the one copy-up (the kernel serialises copy-up per inode).
- after the copy-up the data path is the backing file system's ([K1], [P4] VT5).
"""

from __future__ import annotations

from typing import Any, ClassVar

import simpy

from storsim.backends import ProcessGen
from storsim.backends.local import LocalBackend
from storsim.context import Host

__all__ = ["OverlayBackend"]


class OverlayBackend(LocalBackend):
    """One container's overlay mount: its upper layer on the host disk."""

    storage: ClassVar[str] = "writable_layer"
    __slots__ = ("_copying", "_dentries", "lower_key")

    def __init__(self, env: Any, host: Host, fs_key: object, lower_key: object) -> None:
        super().__init__(env, host, fs_key)
        self.lower_key = lower_key  # the image's layer stack, shared by its containers
        self._dentries: set[str] = set()  # this overlay mount's own dentry cache
        self._copying: dict[str, simpy.Event] = {}

    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> ProcessGen:
        host = self._host
        layer = getattr(result, "layer", 0) or 0
        visited = getattr(result, "layers_visited", 1) or 1
        if path not in self._dentries:
            self._dentries.add(path)
            reads = self._cold_reads(path, visited, found=result is not None)
            for _ in range(reads):  # the kernel consults the layers one after another
                yield from self._disk.meta()
            yield self._env.timeout(visited * host.lookup_per_layer_s)
        if result is None:
            yield self._env.timeout(host.syscall_s)
            return
        pending = self._copying.get(path)
        if pending is not None:  # someone is copying this file up: wait for it
            yield pending
        copy_bytes = getattr(result, "copy_up_bytes", 0) or 0
        if getattr(result, "copied_up", False) or copy_bytes:
            yield from self._copy_up(path, copy_bytes, getattr(result, "source_layer", 1))
        if op == "read" and layer >= 1:
            # Data still comes from a lower layer: shared page cache across containers.
            yield from self.read_data((self.lower_key, layer), path, offset, nbytes)
            yield self._env.timeout(
                host.syscall_s + host.cache_hit_s + nbytes / host.copy_bytes_per_s
            )
            return
        # The upper layer: an ordinary local file system. Its lookups were charged above.
        self._host.metadata_seen.add((self.fs_key, path))
        yield from super().charge(op, path, result, nbytes, offset)

    def _cold_reads(self, path: str, visited: int, *, found: bool) -> int:
        """Metadata blocks a first lookup of ``path`` must read from disk.

        The parent's directory in each layer consulted is read once per host (the host's
        dcache then answers later lookups in it, negative ones included), and the inode
        found is read once. Directory 0 is this container's upper, the rest the image's.
        """
        seen = self._host.metadata_seen
        parent = path.rpartition("/")[0] or "/"
        reads = 0
        for j in range(visited):
            key = (self.fs_key, parent) if j == 0 else (self.lower_key, f"{parent}#{j}")
            if key not in seen:
                seen.add(key)
                reads += 1
        if found and (self.lower_key, path) not in seen:
            seen.add((self.lower_key, path))
            reads += 1
        return reads

    def _copy_up(self, path: str, nbytes: int, source_layer: int) -> ProcessGen:
        done = self._env.event()
        self._copying[path] = done
        try:
            if nbytes:
                yield from self.read_data((self.lower_key, source_layer), path, 0, nbytes)
                yield from self._disk.write(nbytes)  # data written, then fsync'ed [K3]
            yield from self._disk.meta()  # create in workdir, set xattrs, rename [K1]
            yield self._env.timeout(2 * self._host.metadata_s)
        finally:
            del self._copying[path]
            done.succeed()
