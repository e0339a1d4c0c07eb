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

from typing import TYPE_CHECKING, Any

from storsim.backends.base import Attachment, Cost, OpCost, ProcessGen, spend
from storsim.backends.copyup import CopyUps
from storsim.backends.local import LocalBackend
from storsim.fs import Lookup, Read, Wrote

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["OverlayBackend"]


class OverlayBackend(LocalBackend):
    """One container's overlay mount: its upper layer on the host disk."""

    __slots__ = ("_copyups", "_dentries", "lower_key")

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        super().__init__(ctx, at)
        self.lower_key = at.image  # the image's layer stack, shared by its containers
        self._dentries: set[str] = set()  # this overlay mount's own dentry cache
        self._copyups = CopyUps(ctx.env)

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        # The common case first: a path this mount has looked up before, no copy-up
        # (neither this operation's nor another's in progress): no generator needed.
        kind = type(result)
        if kind is Read or kind is Lookup or result is None:  # no copy-up: the commonest
            copies = False
        elif kind is Wrote:
            copies = result.copied_up
        else:
            copies = bool(
                getattr(result, "copy_up_bytes", 0) or getattr(result, "copied_up", False)
            )
        copying = self._copyups.by_path
        if copying and not copies and path in copying and self._copyups.pending(path) is not None:
            return self._charge_slow(op, path, result, nbytes, offset)
        if copies or path not in self._dentries:
            return self._charge_slow(op, path, result, nbytes, offset)
        return self._after_lookup(0.0, op, path, result, nbytes, offset)

    def _after_lookup(
        self, owed_s: float, op: OpCost, path: str, result: Any, nbytes: int, offset: int
    ) -> Cost:
        """The cost once the path is looked up and any copy-up is done, ``owed_s``
        seconds of CPU time not spent yet included (only for an operation that consults
        no device or cache: the caller spends them before a read or fsync)."""
        host = self._host
        if result is None:
            return owed_s + host.syscall_s
        if op.reads:
            layer = result.layer
            if layer >= 1:
                # Data still comes from a lower layer: shared page cache across containers.
                missing = self.missing_chunks((self.lower_key, layer), path, offset, nbytes)
                delay = host.syscall_s + host.cache_hit_s + nbytes / host.copy_bytes_per_s
                return self._then(self._disk.submit_read(missing), delay) if missing else delay
        # The upper layer: an ordinary local file system. Its lookups were charged above
        # (this mount's dentries), so no cold lookup of the local kind: straight to warm.
        return self.warm(owed_s, op, path, nbytes, offset)

    def _charge_slow(
        self, op: OpCost, path: str, result: Any, nbytes: int, offset: int
    ) -> ProcessGen:
        """A first lookup through the layers, a copy-up, or a wait for another's."""
        host = self._host
        env = self._env
        cpu = self._cpu
        copyups = self._copyups
        owed = 0.0  # CPU time not spent yet: spent at the next device access or the end
        copy_bytes = getattr(result, "copy_up_bytes", 0) or 0
        mine = result is not None and bool(copy_bytes or getattr(result, "copied_up", False))
        # This operation copies the file up: from now on (its own cold lookup included)
        # later openers of the file wait for it, as the kernel's copy-up lock makes them.
        copy = copyups.begin(path) if mine else None
        if path not in self._dentries:
            self._dentries.add(path)
            visited = getattr(result, "layers_visited", 1) or 1
            reads = self._cold_reads(path, visited, found=result is not None)
            for _ in range(reads):  # the kernel consults the layers one after another
                yield self._disk.submit_meta()
            owed = visited * host.lookup_per_layer_s
        if result is None:
            yield cpu.compute(owed + host.syscall_s)
            return
        if copy is None:
            other = copyups.pending(path) if copyups.by_path else None
            if other is not None:  # someone is copying this file up: wait for it
                if owed:
                    yield cpu.compute(owed)
                    owed = 0.0
                yield from copyups.wait(path, other)
        else:
            if owed:
                yield cpu.compute(owed)
            disk = self._disk
            try:  # the device part of the copy-up
                if copy_bytes:
                    source = (self.lower_key, getattr(result, "source_layer", 1) or 1)
                    missing = self.missing_chunks(source, path, 0, copy_bytes)
                    if missing:
                        yield disk.submit_read(missing)
                    yield disk.submit_write(copy_bytes)  # data written, then fsync'ed [K3]
                yield disk.submit_meta()  # create in workdir, set xattrs, rename [K1]
            finally:
                # Complete at the end of its CPU part, spent below with the operation's
                # own: openers that come until then wait for that instant.
                copyups.finish(copy, env.now + 2 * host.metadata_s)
            owed = 2 * host.metadata_s  # creating it in the workdir and renaming it [K1]
        if owed and (op.reads or op.flushes):  # they consult the cache or the disk first
            yield cpu.compute(owed)
            owed = 0.0
        yield from spend(cpu, self._after_lookup(owed, op, path, result, nbytes, offset))

    def _cold_reads(self, path: str, visited: int, *, found: bool) -> int:
        """Metadata blocks a first lookup of ``path`` must read from disk.

        The parent's directory in each layer consulted is read once per host (the host's
        dcache then answers later lookups in it, negative ones included), and the inode
        found is read once. Directory 0 is this container's upper, the rest the image's.
        """
        host = self._host
        seen = host.metadata_seen
        parent = path.rpartition("/")[0] or "/"
        reads = 0
        if visited and (self.fs_key, parent) not in seen:  # the upper's directory
            seen.add((self.fs_key, parent))
            reads += 1
        # A lookup consults the lower layers top-down, so the lower directories of
        # ``parent`` read so far are always the top-most ``read`` ones: a count, not a set.
        depth = (self.lower_key, parent)
        read = host.lower_dirs_read.get(depth, 0)
        if visited - 1 > read:
            reads += visited - 1 - read
            host.lower_dirs_read[depth] = visited - 1
        if found and (self.lower_key, path) not in seen:
            seen.add((self.lower_key, path))
            reads += 1
        return reads
