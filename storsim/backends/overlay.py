"""The overlay root file system: shared read-only image layers under a private upper.

Like a stack of transparencies on an overhead projector: you see the top-most mark at
each spot; to change a mark printed on a lower sheet you must first trace it whole onto
the top sheet (copy-up), and only then edit it. Looking a spot up the first time means
peering through every sheet down to the one that has it (a cold lookup visits each
layer); the kernel then remembers the answer (dentry cache).

Costs, with their sources:

- a path is looked up one component at a time, each through the layers where its
  parent directory exists: the parent's upper directory, then its lower layers top-down
  until a hit stops the search (an opaque directory, a non-directory) or the bottom
  (``ovl_lookup`` in fs/overlayfs/namei.c): a missing name visits every layer. The first
  lookup of a component on this mount costs ``host.overlay.lookup_per_component`` of CPU
  (the overlay's own dentry and inode: ``d_alloc``, ``ovl_get_inode`` in inode.c) and
  ``host.overlay.lookup_per_layer`` per layer visited; the first lookup of the name in a
  lower layer on the host costs ``host.overlay.cold_lookup_per_layer`` more (that file
  system's own dentry and inode: ``d_alloc_parallel``, ``ext4_lookup``, ``ext4_iget``),
  plus one metadata read per lower directory consulted that the host has not read yet
  (the host's dcache then answers every container of the image, negative lookups
  included) and the inode of a name found in a lower layer, read from disk with the
  next ones of its layer unless its run was read already (ext4's inode table
  readahead: ``host.inode_readahead``; the image's inodes numbered as unpacking its
  layers numbers them, :func:`storsim.run.context.image_inodes`);
  later lookups are dentry-cache hits ([K1] "the combined result is cached in the
  dentry"; [P1] VT1). Every walk, cached or not, still costs each component
  ``host.overlay.walk_per_component`` and ``host.overlay.walk_per_layer`` per layer its
  lookup visited (the dcache hit, ``ovl_permission`` on the real inode,
  ``ovl_dentry_revalidate`` over the lower stack); a step on a file the application has
  open already (``OpCost.reopens`` False) walks nothing. A failed operation pays the
  lookups its walk made (``FsError.walk``).
- a container's upper directories are in memory: the upper layer was created on this
  host at the container's creation (and every directory in it since, by a copy-up or
  a mkdir), so no lookup or readdir reads one from disk.
- ``readdir`` of a merged directory reads that directory in every layer and merges the
  names, at every listing (the merged list lives only as long as the open directory:
  ``ovl_dir_read_merged``, ``ovl_cache_get`` in fs/overlayfs/readdir.c):
  ``host.overlay.readdir_per_layer`` per layer and ``host.readdir_per_entry`` per entry
  read (and ``host.readdir_open_close``, as any listing), and
  ``host.overlay.readdir_merge_per_entry`` per entry merged (its rb-tree
  lookup and insert, its allocation, its emission from the merged list:
  ``ovl_cache_entry_add_rb``, ``ovl_iterate``); a directory in one layer only is read
  straight from it (``ovl_dir_is_real``).
  Its first listing on the host reads each lower layer's copy of the directory whole,
  one block after another (:func:`storsim.run.context.dir_blocks`: a copy of 4096
  short names is about 23 blocks), less the block a lookup in it read already.
- a copy-up reads the whole lower file through the shared page cache (the disk for the
  chunks not cached), copies it in the kernel into the upper file's page cache in 1 MiB
  chunks (one memory copy, a page-cache hit per chunk: ``ovl_copy_up_file``,
  ``OVL_COPY_UP_CHUNK_SIZE``, fs/overlayfs/copy_up.c [K3]), each chunk spliced through
  a pipe of 16 pages, so written 64 KiB at a time: the upper file's pages are 64 KiB
  folios, each block's buffer head walked once (``host.buffer_head_walk``), and a later
  4 KiB overwrite of it walks 16 blocks (:mod:`storsim.backends.local`); it fsyncs the
  upper file (its
  write-back and the journal commit: ``host.overlay.copy_up_flush``, by default the
  disk's flush latency), then creates it in the work directory and renames it into
  place ([K1]): two metadata updates of CPU (the upper file system's directories are in
  memory, as above; its journal is written later). These are the parts a userspace copy
  of the same bytes pays (:mod:`storsim.backends.local`), but one memory copy where the
  userspace copy crosses user space twice. Its time is the triggering operation's time.
  Concurrent openers of the same file wait for the one copy-up (the kernel serialises
  copy-up per inode).
- after the copy-up the data path is the backing file system's ([K1], [P4] VT5), plus
  ``host.overlay.op_overhead`` of CPU per call on an open file (an open, a read, a
  write, an fsync, a listing: ``OpCost.opens``): overlayfs passes each on to the real
  file (``ovl_open`` opens it, ``ovl_real_fdget`` finds it, with the mounter's
  credentials; ``backing_file_read_iter``/``write_iter`` in fs/backing-file.c). A call
  on a path (a ``stat``, a ``chmod``, an ``unlink``...) opens no file: its overlay work
  is its walk, its attributes and its update, costed above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storsim.backends.base import Attachment, Cost, OpCost, ProcessGen, spend
from storsim.backends.copyup import CopyUps
from storsim.backends.local import (
    LocalBackend,
    folio_bytes,
    folios_touched,
    pages,
    read_folios,
)
from storsim.fs import FsError, Listing, Lookup, Read, Walk, Wrote
from storsim.run.context import blocks_of, entry_bytes, image_inode_reads, image_inodes

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["COPY_UP_CHUNK_BYTES", "COPY_UP_SPLICE_BYTES", "OverlayBackend"]

# The copy-up copies a file's data in chunks of 1 MiB (OVL_COPY_UP_CHUNK_SIZE in
# fs/overlayfs/copy_up.c), each a page-cache access of the lower file [K3].
COPY_UP_CHUNK_BYTES = 1 << 20
# Each chunk goes through a pipe of 16 pages (do_splice_direct, PIPE_DEF_BUFFERS in
# fs/splice.c): the upper file is written, and its folios made, 64 KiB at a time (a
# copied-up file is cached in 64 KiB folios, /proc/kpageflags on Linux 6.18 ext4).
COPY_UP_SPLICE_BYTES = 64 * 1024
_NO_READS = (0, 0)  # a walk that reads nothing from disk


class OverlayBackend(LocalBackend):
    """One container's overlay mount: its upper layer on the host disk."""

    __slots__ = ("_copyups", "_dentries", "lower_key")

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        super().__init__(ctx, at)
        self.lower_key = at.image  # the image's layer stack, shared by its containers
        # This overlay mount's own dentry cache: each path looked up, with the CPU time
        # a walk to it costs once cached (its components' walk_per_component and layers).
        self._dentries: dict[str, float] = {}
        self._copyups = CopyUps(ctx.env)

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        if result is None:  # failed, with nothing known of its lookups
            return self._host.syscall_s + (self._host.overlay_op_s if op.opens else 0.0)
        # The common case first: a path this mount has looked up before, no copy-up
        # (neither this operation's nor another's in progress): no generator needed.
        kind = type(result)
        if kind is Read or kind is Lookup:  # no copy-up: the commonest
            copies = False
        elif kind is Wrote:
            copies = result.copied_up
        else:
            copies = bool(
                getattr(result, "copy_up_bytes", 0) or getattr(result, "copied_up", False)
            )
        walk_s = self._dentries.get(path)  # the CPU time of its walk, once cached
        if walk_s is None or copies or (self._copyups.by_path and path in self._copyups.by_path):
            cold = walk_s is None
            if walk_s is None:
                walk = result.walk
                reads, lookup_s, walk_s = self._walk_cost(
                    self._fs.walk(path) if walk is None else walk
                )
                self._dentries[path] = walk_s
            else:
                reads, lookup_s = _NO_READS, walk_s if op.reopens or not op.opens else 0.0
            if cold or copies or self._copyups.pending(path) is not None:
                return self._charge_slow(op, path, result, nbytes, offset, reads, lookup_s)
        # A read or write of a file the application keeps open walks no path.
        walked = walk_s if op.reopens or not op.opens else 0.0
        return self._after_lookup(walked, op, path, result, nbytes, offset)

    def failed(self, op: OpCost, path: str, error: FsError) -> Cost:
        """A failed operation: the lookups its walk made (a missing name in a merged
        directory visits every layer), any copy-up it did before failing (a refused
        ``setxattr``), then the syscall."""
        reads, lookup_s, _ = self._walk_cost(error.walk or ())
        if reads != _NO_READS or error.copy_up_bytes or error.copied_up:
            return self._charge_slow(op, path, error, 0, 0, reads, lookup_s)
        host = self._host
        return lookup_s + host.syscall_s + (host.overlay_op_s if op.opens else 0.0)

    def _walk_cost(self, walk: Walk) -> tuple[tuple[int, int], float, float]:
        """What a walk of ``walk``'s components costs: the reads from disk (directory
        blocks, inode-table reads) and the CPU seconds of the first lookups on this
        mount of the components not looked up yet, plus every component's cached walk;
        and that cached walk's
        CPU seconds alone (what the walk costs next time). Noted as done now (this
        mount's dentries, the host's directory and inode caches).

        Returns:
            ((blocks, inode-table reads), CPU seconds of this walk, CPU seconds of a
            cached walk).
        """
        host = self._host
        dentries = self._dentries
        lower = self.lower_key
        done = host.lower_dirs_read
        seen = host.metadata_seen
        looked = host.lower_lookups
        reads = tables = layers = fresh = host_first = 0
        walked = 0.0  # the cached walk to each component: cumulative
        per_component, per_layer = host.walk_component_s, host.walk_layer_s
        for c in walk:
            p = c.path
            visited = c.layers_visited
            walked += per_component + visited * per_layer
            if p in dentries:
                continue
            dentries[p] = walked
            fresh += 1
            layers += visited
            # the parent's upper directory is in memory: only its lower ones are read
            low = visited - 1 if c.upper else visited
            if low > 0:
                # The lower layers a lookup of this name consults for the first time on the
                # host: their file system allocates its own dentry (and inode) for it.
                # Top-down, as below: a count of the top-most ones.
                first = looked.get((lower, p), 0)
                if low > first:
                    host_first += low - first
                    looked[(lower, p)] = low
                # A lookup consults the lower layers top-down, so the lower directories of
                # the parent read so far are always its top-most ones: a count, not a set.
                depth = (lower, p.rpartition("/")[0] or "/")
                read = done.get(depth, 0)
                if low > read:
                    reads += low - read
                    done[depth] = low
                if c.found and (lower, p) not in seen:  # found in a lower: its inode,
                    seen.add((lower, p))  # read with the image's next ones (readahead)
                    tables += image_inode_reads(host, lower, self._inode_number(p))
        lookup_s = (
            fresh * host.lookup_component_s
            + layers * host.lookup_per_layer_s
            + host_first * host.cold_lookup_layer_s
        )
        return (reads, tables), lookup_s + walked, walked

    def _inode_number(self, path: str) -> int:
        """The inode number of ``path``'s top-most lower copy (:func:`image_inodes`,
        made once per image on the host); a path no layer holds (an upper-only one
        found below a redirect) counts as the image's first."""
        host = self._host
        numbers = host.image_inode_numbers.get(self.lower_key)
        if numbers is None:
            layers = self._fs.lower.layers
            numbers = image_inodes([layer.entries for layer in layers], host.inodes_per_read)
            host.image_inode_numbers[self.lower_key] = numbers
        return numbers.get(path, 0)

    def _after_lookup(
        self, owed_s: float, op: OpCost, path: str, result: Any, nbytes: int, offset: int
    ) -> Cost:
        """The cost once the path is looked up and any copy-up is done, ``owed_s``
        seconds of CPU time not spent yet included (only for an operation that consults
        no device or cache: the caller spends them before a read or fsync)."""
        host = self._host
        if op.opens:  # a call on the open file: the indirection to the real one
            owed_s += host.overlay_op_s
        if op.reads:
            layer = result.layer
            if layer >= 1:
                # Data still comes from a lower layer: shared page cache across containers.
                missing = self.missing_chunks((self.lower_key, layer), path, offset, nbytes)
                delay = owed_s + host.syscall_s + host.cache_hit_s + nbytes / host.copy_bytes_per_s
                if host.folio_read_s:  # its folios: as a random reader's reads make them
                    delay += host.folio_read_s * read_folios(offset, nbytes, host.max_folio_bytes)
                return self._then(self._disk.submit_read(missing), delay) if missing else delay
        elif op.lists:
            return self._listing_merged(owed_s, path, result)
        # The upper layer: an ordinary local file system. Its lookups were charged above
        # (this mount's dentries), so no cold lookup of the local kind: straight to warm.
        return self.warm(owed_s, op, path, result, nbytes, offset)

    def _listing_merged(self, owed_s: float, path: str, listing: Listing) -> Cost:
        """readdir: every layer's copy of a merged directory read and merged (a
        directory in one layer only is read straight from it); the lower copies' blocks
        read from disk the first time it is listed on the host (the upper's are in
        memory)."""
        host = self._host
        visited = listing.layers_visited
        entries = sum(listing.layer_entries)
        delay = owed_s + host.syscall_s + host.readdir_open_s + host.readdir_entry_s * entries
        if visited > 1:  # merged: each layer's copy read, each entry merged
            delay += visited * host.readdir_layer_s + entries * host.readdir_merge_s
        depth = (self.lower_key, path)
        listed = host.lower_dirs_listed.get(depth, 0)
        if visited > listed:  # perhaps lower copies not listed yet: has it an upper one?
            upper = self._fs.stat(path).layer == 0
            lower = visited - 1 if upper else visited
            if lower > listed:
                # Each lower copy not listed yet is read whole, top-down, less the block a
                # lookup in it read already (the top-most ``read`` copies).
                read = host.lower_dirs_read.get(depth, 0)
                copies = listing.layer_entries[1:] if upper else listing.layer_entries
                per_entry = entry_bytes(listing.names)  # once, for every copy
                reads = sum(
                    blocks_of(copies[i], per_entry) - (1 if i < read else 0)
                    for i in range(listed, lower)
                )
                host.lower_dirs_listed[depth] = lower
                if lower > read:
                    host.lower_dirs_read[depth] = lower
                return self._reads_then(reads, delay) if reads else delay
        return delay

    def _charge_slow(
        self,
        op: OpCost,
        path: str,
        result: Any,
        nbytes: int,
        offset: int,
        reads: tuple[int, int],
        lookup_s: float,
    ) -> ProcessGen:
        """A first lookup through the layers (``reads``: directory blocks and inode-table
        reads; ``lookup_s`` of CPU), a copy-up, or a wait for another's; ``result`` is
        an :class:`~storsim.fs.FsError` for a failed operation."""
        host = self._host
        env = self._env
        cpu = self._cpu
        disk = self._disk
        copyups = self._copyups
        failed = type(result) is FsError
        copy_bytes = getattr(result, "copy_up_bytes", 0) or 0
        mine = bool(copy_bytes or getattr(result, "copied_up", False))
        # This operation copies the file up: from now on (its own cold lookup included)
        # later openers of the file wait for it, as the kernel's copy-up lock makes them.
        copy = copyups.begin(path) if mine else None
        if reads != _NO_READS:  # the kernel consults the layers one after another
            yield from self.metadata_reads(*reads)
        owed = lookup_s  # CPU time not spent yet: spent at the next device access or the end
        if copy is None:
            other = copyups.pending(path) if copyups.by_path and not failed else None
            if other is not None:  # someone is copying this file up: wait for it
                if owed:
                    yield cpu.compute(owed)
                    owed = 0.0
                yield from copyups.wait(path, other)
        else:
            if owed:
                yield cpu.compute(owed)
            try:  # the copy-up's data and its device parts
                if copy_bytes:
                    source = (self.lower_key, getattr(result, "source_layer", 1) or 1)
                    missing = self.missing_chunks(source, path, 0, copy_bytes)
                    if missing:
                        yield disk.submit_read(missing)
                    # One memory copy in the kernel, from the lower file's pages into the
                    # upper file's page cache, 1 MiB at a time [K3]: a page-cache hit per
                    # chunk and the copy (a userspace copy makes two: to and from user).
                    # Its writes go through each folio (64 KiB ones, each written whole;
                    # 4 KiB on a disk that is memory) and walk each block's buffer head
                    # once, but on a disk that is memory.
                    chunks = -(-copy_bytes // COPY_UP_CHUNK_BYTES)
                    if disk.volatile:
                        walk_s = host.folio_write_s * pages(copy_bytes)
                    else:
                        folios = folios_touched(0, copy_bytes, COPY_UP_SPLICE_BYTES)
                        walk_s = (
                            host.buffer_head_s * pages(copy_bytes) + host.folio_write_s * folios
                        )
                    yield cpu.compute(
                        chunks * host.cache_hit_s + copy_bytes / host.copy_bytes_per_s + walk_s
                    )
                    self.missing_chunks(self.fs_key, path, 0, copy_bytes)  # now cached
                    self._folios[path] = folio_bytes(  # the splice's folios
                        0, min(copy_bytes, COPY_UP_SPLICE_BYTES), host.max_folio_bytes
                    )
                    if not disk.volatile:  # on a RAM disk the pages are the storage
                        yield disk.submit_write(copy_bytes)  # the upper file's fsync [K3]
                        # and its journal commit (host.overlay.copy_up_flush, if given)
                        commit = host.copy_up_flush_s
                        yield disk.submit_flush() if commit is None else disk.submit(commit)
                # Then create in the workdir, set xattrs, rename [K1]: CPU only, below (the
                # upper file system's directories are in memory, its journal written later).
            finally:
                # Complete at the end of its CPU part, spent below with the operation's
                # own: openers that come until then wait for that instant.
                copyups.finish(copy, env.now + 2 * host.metadata_s)
            owed = 2 * host.metadata_s  # creating it in the workdir and renaming it [K1]
        if failed:
            yield cpu.compute(owed + host.syscall_s + (host.overlay_op_s if op.opens else 0.0))
            return
        if owed and (op.reads or op.flushes or op.lists):  # they consult the cache or disk
            yield cpu.compute(owed)
            owed = 0.0
        yield from spend(cpu, self._after_lookup(owed, op, path, result, nbytes, offset))
