"""Distributed bind mounts: a directory on a network file server (NFS, SMB, S3 or SFTP
through FUSE).

Like ordering from a warehouse across town instead of the shop's back room: every
request is a trip (a network round trip) and a wait at the warehouse counter (the
server's queue), and the forms to fill in depend on the warehouse (the protocol): one
asks for the item's shelf first, then the item, then a signed receipt; another takes
one combined form. The client keeps notes to avoid trips: which names a directory
holds, a file's size and date, its data, each trusted for a while.

What one operation sends, in order, each request a round trip to the server
(:meth:`~storsim.devices.RemoteServer.request`, by its class of work: its latency is the
profile's ``server_latency_s`` for that class):

1. **path lookups**: a LOOKUP (``meta``) for each component of the path the client has
   not cached; a cached name is trusted while its directory's attributes are fresh
   (``dir_cache_min_s``..``dir_cache_max_s``, NFS ``acdirmin``/``acdirmax`` [K9]), and
   after that one GETATTR of the directory revalidates every name in it, unless the
   directory changed. A new name is not looked up unless the profile says so
   (``lookup_before_create``: FUSE does; the Linux NFS client skips the lookup of an
   exclusive create [X17], the SMB client creates by path [X19]); an open that names
   its file (``open_by_name``: NFSv4 OPEN [X18], SMB2 CREATE) does not look the last
   component up either. Failed lookups (ENOENT) are cached the same way.
2. **the open**, when the step opens the file (``OpCost.opens`` and ``reopens``: the
   iteration's first step on it): ``round_trips["open"]`` (NFSv3: the close-to-open
   GETATTR, left out right after a LOOKUP that fetched the attributes; NFSv4: the OPEN
   compound; SMB: CREATE; sshfs: OPEN). With ``close_to_open`` it revalidates the
   file's attributes, and so its cached data [K9]. A listing revalidates its directory
   the same way (a GETATTR). A create's own request is its open.
3. **its own requests**, ``round_trips[op]``: ``read`` only for data not cached (with
   those bytes), ``write`` only with bytes to send, ``readdir`` once per page of the
   listing (``readdir_entries`` per reply; none at all while the listing is cached:
   ``listing_cache``), ``commit`` with ``unstable_writes`` only after writes not yet
   committed; every other request always. NFSv3's create is CREATE + SETATTR [X17],
   NFSv4's one OPEN [X18], s3fs's a PUT [X22]...
4. **the close**, when the step closes the file (``OpCost.closes``: the iteration's last
   step on it): a COMMIT of its unstable writes (the Linux NFS client flushes at close
   [X17]), then ``round_trips["close"]`` (NFSv4 CLOSE, SMB2 CLOSE; NFSv3 has none).
   These go after the operation is accounted (:meth:`RemoteBackend.close`): the server
   applied a write when its WRITE was answered, and other clients see it from then on.

Before the close, the syscall (and a read's memory copy) costs the client's CPU, with the
client kernel's own parts of the call that every file system pays: a ``stat`` that finds
its file copies its attributes out (``host.getattr_latency``), a listing opens and closes
its directory (``host.readdir_open_close``). A ``stat`` costs a
GETATTR only when the attributes are stale (``attr_cache_min_s``..``attr_cache_max_s``);
a read of a file kept open likewise revalidates it only when they are stale.

On a FUSE mount (``fuse``: s3fs, sshfs) the kernel's own caches come first: a name for
``entry_timeout_s``, attributes for ``attr_timeout_s`` (1 s each in libfuse [X16]); every
miss, and each open, operation and close, is a request to the daemon (``request_s``:
the trip through ``/dev/fuse``), which answers from its own caches (the attribute and
directory caches above: sshfs 20 s, s3fs 900 s) or asks the server. Without
``keep_cache`` each open drops the file's cached pages [X16].

Each container is its own client (as replicas spread over nodes are): its caches are
its own, so it can read a version older than another container's latest write (a
stale read) when it keeps a file open and its attribute cache is still fresh.
Operations the server's protocol does not support fail before any trip but their
lookups (decided by the semantic model, from the profile).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import simpy

from storsim.backends.base import Attachment, Cost, OpCost, ProcessGen, Served, Version
from storsim.backends.local import CHUNK_BYTES
from storsim.devices import AttrCache
from storsim.fs import Changed, FsError, Listing

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["RemoteBackend"]

# How a lookup was answered (_lookup's result).
_CACHED, _DAEMON, _SERVER = 0, 1, 2

Counted = Generator[simpy.Event, Any, int]
"""A step that sends requests: run it with ``yield from``; it returns the number of
requests the kernel sent the FUSE daemon on the way (0 on a kernel client)."""


def _components(path: str) -> list[tuple[str, str, str]]:
    """``(parent, name, child)`` for each component of an absolute path, root first."""
    out = []
    parent = "/"
    for name in path.split("/"):
        if not name:
            continue
        child = f"{parent}{name}" if parent == "/" else f"{parent}/{name}"
        out.append((parent, name, child))
        parent = child
    return out


class RemoteBackend:
    """One container's client of a remote export."""

    __slots__ = (
        "_attr",
        "_cached",
        "_dirs",
        "_env",
        "_epoch",
        "_fs",
        "_fuse",
        "_host",
        "_kernel_attr",
        "_kernel_entry",
        "_listed",
        "_names",
        "_params",
        "_rows",
        "_server",
        "_tracker",
        "_uncommitted",
        "fs_id",
        "fs_key",
    )

    separate_clients = True  # each container is a client of its own

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        if at.server is None or at.server not in ctx.host.remotes:
            raise ValueError(
                f"server must name a remote of the host: {', '.join(ctx.host.remotes)} "
                f"(got {at.server!r})"
            )
        self._env = ctx.env
        self._host = ctx.host
        self._server = server = ctx.host.remotes[at.server]
        self._params = params = server.params
        self._rows = params.round_trips
        self._fuse = params.fuse
        self.fs_key = at.key  # identifies the export in the host's page cache
        self.fs_id = id(at.fs)  # identifies the export's files in the conflict tracker
        self._fs = at.fs
        self._tracker = ctx.tracker
        self._attr = AttrCache(params.attr_cache_min_s, params.attr_cache_max_s)
        self._dirs = AttrCache(params.dir_cache_min_s, params.dir_cache_max_s)
        # directory -> (its version when filled, the names looked up in it, found or not)
        self._names: dict[str, tuple[int, set[str]]] = {}
        self._listed: dict[str, int] = {}  # directory -> its version when listed
        self._cached: dict[str, int] = {}  # path -> file version of this client's cached data
        self._epoch: dict[str, int] = {}  # path -> opens that dropped its pages (FUSE)
        self._uncommitted: set[str] = set()  # paths with unstable writes not committed
        # the FUSE kernel's caches: path -> when its name, its attributes expire
        self._kernel_entry: dict[str, float] = {}
        self._kernel_attr: dict[str, float] = {}
        self._dir_filled("/")  # mounting fetched the root's attributes

    @property
    def lock_semantics(self) -> str:
        """What a lock does here: "nlm"/"brl" (server-wide), "local" or "none"."""
        return str(self._params.locks)

    @property
    def unsupported(self) -> frozenset[str]:
        """What the server's protocol refuses (its profile's ``unsupported_ops``)."""
        return self._params.unsupported_ops

    @property
    def unsupported_errno(self) -> str:
        """The errno a refused operation gives (its profile's ``unsupported_errno``)."""
        return self._params.unsupported_errno

    @property
    def unsupported_errnos(self) -> Mapping[str, str]:
        """The errno of each refused operation that fails otherwise (``EPERM``)."""
        return self._params.unsupported_errnos

    def lock_cost(self) -> Cost:
        """Time of one lock or unlock call: the lock manager's requests (``round_trips
        ["lock"]``), or the syscall for a lock the client only emulates."""
        row = self._rows["lock"]
        if self.lock_semantics in ("nlm", "brl") and row:
            return self._send(row)
        return self._host.syscall_s

    def locked(self, path: str) -> None:
        """A lock from the server's lock manager makes the NFS client revalidate the
        file's attributes [K9] (a lock only emulated locally does not)."""
        if self.lock_semantics in ("nlm", "brl"):
            self._attr.invalidate(path)

    def committed(self, path: str, version: Version) -> None:
        """This client's own write is in its cache: its cached version is the new one."""
        self._cached[path] = version

    # --- one operation --------------------------------------------------------------------

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Served:
        """Spend the time of ``op``; for a read, return the file version it was served at.

        The requests it sends are described in the module docstring.
        """
        env, host, params, fuse = self._env, self._host, self._params, self._fuse
        calls = 0  # requests to the FUSE daemon
        listing = type(result) is Listing
        opening = op.opens and op.reopens
        parts = _components(path)
        if result is None:  # refused (unsupported) or failed in the semantic model
            reached = self._existing(parts)
            for i, (parent, name, child) in enumerate(parts[: reached + 1]):
                answer = yield from self._lookup(parent, name, child, exists=i < reached)
                calls += answer != _CACHED and fuse is not None
            if fuse is not None and op.name in params.unsupported_ops:
                calls += 1  # the daemon is asked, and refuses
            yield host.cpu.compute(host.syscall_s + calls * (fuse.request_s if fuse else 0.0))
            return None
        # 1. the lookups of the path's components
        skip_last = (op.creates and not params.lookup_before_create) or (
            opening and params.open_by_name and not listing
        )
        fetched = False  # this operation's LOOKUP of the last component fetched its attributes
        for parent, name, child in parts[:-1] if skip_last else parts:
            exists = not (op.creates and child == path)
            answer = yield from self._lookup(parent, name, child, exists=exists)
            calls += answer != _CACHED and fuse is not None
            fetched = child == path and answer == _SERVER
        # 2. the attributes, the open (and its revalidation)
        revalidated = False
        if op.attributes and not fetched:
            calls += yield from self._getattr(path)
        elif opening and listing:
            # the LOOKUP just made brought the directory's attributes; else close-to-open
            # (or stale attributes) asks for them
            if not fetched and (params.close_to_open or not self._dirs.fresh(path, env.now)):
                yield from self._server.request("meta")  # GETATTR of the directory
                fetched = True
            if fetched:
                self._dir_filled(path)
        elif opening and not op.creates:
            row = self._rows["open"]
            if fetched and row[:1] == ("meta",):  # the LOOKUP just fetched the attributes
                row = row[1:]
            yield from self._send(row)
            calls += fuse is not None  # FUSE_OPEN
            if params.open_by_name and parts:  # the reply holds the entry and its directory
                parent, name, _ = parts[-1]
                self._dir_filled(parent)
                self._names[parent][1].add(name)
            if params.close_to_open:
                self._revalidate(path)
                revalidated = True
            if fuse is not None and not fuse.keep_cache:  # the kernel drops its pages
                self._epoch[path] = self._epoch.get(path, 0) + 1
        # 3. the operation's own requests
        served = None
        row = () if op.name == "open" else self._rows[op.name]
        if listing and params.listing_cache and self._listed.get(path) == self._known(path):
            row = ()  # the listing the client cached is still good
        sent = False
        for op_class in row:
            if op_class == "read":
                served, missing = yield from self._read(path, offset, nbytes, revalidated)
                sent = sent or missing > 0
            elif op_class == "write":
                if nbytes > 0:
                    yield from self._server.request("write", nbytes)
                    sent = True
                    if params.unstable_writes:
                        self._uncommitted.add(path)
            elif op_class == "readdir":
                yield from self._list(len(result.names) if listing else 0)
                sent = True
            elif op_class == "commit" and params.unstable_writes:
                if path in self._uncommitted:
                    self._uncommitted.discard(path)
                    yield from self._server.request("commit")
                    sent = True
            else:
                yield from self._server.request(op_class)
                sent = True
        if listing and row:
            self._listed_now(path, result.names)
        # on FUSE, the operation's own request to the daemon (stat and open were counted
        # above; a read all in the kernel's page cache never reaches the daemon)
        calls += (
            fuse is not None and not op.attributes and op.name != "open" and (sent or not op.reads)
        )
        self._changed(op, path, parts, result)
        # 4. the close's own requests are sent by close(), after the operation is accounted
        if op.opens and op.closes and not listing:
            calls += fuse is not None  # FUSE_FLUSH, FUSE_RELEASE
        delay = host.syscall_s + calls * (fuse.request_s if fuse else 0.0)
        if op.reads:
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
        elif op.attributes:  # the attributes copied out (nfs_getattr, cp_new_stat)
            delay += host.getattr_s
        elif listing:  # the directory's open, last getdents and close (nfs_opendir...)
            delay += host.readdir_open_s
        yield host.cpu.compute(delay)  # the syscall (and a cached read's copy) on a core
        return served

    def close(self, op: OpCost, path: str, result: Any) -> ProcessGen | None:
        """The requests of the close that ends ``op`` on ``path`` (step 4 of the module
        docstring), or None when it sends none.

        They are apart from :meth:`charge` because the server applied the operation's
        WRITE when its reply came, before the close flushes it: an NFS server serves
        unstable writes from its page cache to every client at once, and COMMIT only
        makes them durable (RFC 1813, sections 3.3.7 WRITE and 3.3.21 COMMIT).
        Accounting a write after its COMMIT would order it after other clients' writes
        that the server applied later (and a COMMIT can wait milliseconds for the
        server's disk).
        """
        if not (op.opens and op.closes) or type(result) is Listing:
            return None
        commit = self._params.unstable_writes and path in self._uncommitted
        row = self._rows["close"]
        if not commit and not row:
            return None
        if commit:
            self._uncommitted.discard(path)
        return self._close(commit, row)

    def _close(self, commit: bool, row: Sequence[str]) -> ProcessGen:
        if commit:
            yield from self._server.request("commit")  # flushed at close [X17]
        yield from self._send(row)

    # --- requests ------------------------------------------------------------------------

    def _send(self, row: Sequence[str], nbytes: int = 0) -> ProcessGen:
        """Each request of ``row``, one after another (``nbytes`` with the first)."""
        request = self._server.request
        for op_class in row:
            yield from request(op_class, nbytes)
            nbytes = 0

    def _list(self, entries: int) -> ProcessGen:
        """A listing of ``entries`` names: one ``readdir`` request per page, each bringing
        its entries' bytes (at least one page: an empty directory is one reply)."""
        params = self._params
        per = params.readdir_entries
        for page in range(max(1, math.ceil(entries / per))):
            here = min(per, entries - page * per)
            yield from self._server.request("readdir", max(here, 0) * params.readdir_entry_bytes)

    # --- names, directories and attributes ------------------------------------------------

    def _existing(self, parts: list[tuple[str, str, str]]) -> int:
        """How many of the path's components exist (the lookups a failure made)."""
        for i, (_, _, child) in enumerate(parts):
            try:
                self._fs.stat(child)  # type: ignore[attr-defined]
            except FsError:
                return i
        return len(parts)

    def _known(self, directory: str) -> int:
        """The directory's version on the server (its entries' changes by every client)."""
        return self._tracker.version((self.fs_id, directory))

    def _dir_filled(self, directory: str) -> None:
        """The directory's attributes came from the server now: its cached names and
        listing stay good only if it has not changed since they were cached."""
        version = self._known(directory)
        self._dirs.fill(directory, self._env.now, version)
        names = self._names.get(directory)
        if names is None or names[0] != version:
            self._names[directory] = (version, set())
        if self._listed.get(directory, version) != version:
            del self._listed[directory]

    def _lookup(self, parent: str, name: str, child: str, *, exists: bool) -> Counted:
        """Resolve one component: from the FUSE kernel's cache, the client's (or the
        daemon's) name cache, a GETATTR of its stale directory, or a LOOKUP.

        Returns:
            ``_CACHED`` (the kernel answered), ``_DAEMON`` (the client or daemon answered,
            perhaps after a GETATTR of the directory) or ``_SERVER`` (a LOOKUP was sent).
        """
        env, fuse = self._env, self._fuse
        if fuse is not None and self._kernel_entry.get(child, -math.inf) > env.now:
            return _CACHED
        answer = _SERVER
        names = self._names.get(parent)
        if names is not None and name in names[1]:
            if self._dirs.fresh(parent, env.now):
                answer = _DAEMON
            elif self._dirs.timeout_s(parent) is not None:
                yield from self._server.request("meta")  # GETATTR of the directory
                self._dir_filled(parent)
                if name in self._names[parent][1]:  # unchanged: its names still hold
                    answer = _DAEMON
        if answer == _SERVER:
            yield from self._server.request("meta")  # LOOKUP: the entry and its directory
            self._dir_filled(parent)
            self._names[parent][1].add(name)
            if exists:
                self._attr.fill(child, env.now, self._tracker.version((self.fs_id, child)))
        if fuse is not None:
            now = env.now
            keep = fuse.entry_timeout_s if exists else fuse.negative_timeout_s
            if keep > 0:
                self._kernel_entry[child] = now + keep
            if exists:
                self._kernel_attr[child] = now + fuse.attr_timeout_s
        if fuse is None and answer == _DAEMON:
            return _CACHED  # a kernel client's own cache
        return answer

    def _getattr(self, path: str) -> Counted:
        """The file's attributes: from the FUSE kernel's cache, the client's (or the
        daemon's) attribute cache, or a GETATTR."""
        env, fuse = self._env, self._fuse
        if fuse is not None and self._kernel_attr.get(path, -math.inf) > env.now:
            return 0
        if not self._attr.fresh(path, env.now):
            yield from self._server.request("meta")
            self._attr.fill(path, env.now, self._tracker.version((self.fs_id, path)))
        if fuse is not None:
            self._kernel_attr[path] = env.now + fuse.attr_timeout_s
            return 1  # FUSE_GETATTR
        return 0

    def _revalidate(self, path: str) -> None:
        """The open's GETATTR answered: the attributes are fresh, and cached data of an
        older version will not be served (close-to-open [K9])."""
        current = self._tracker.version((self.fs_id, path))
        self._attr.fill(path, self._env.now, current)
        self._cached[path] = current
        if self._fuse is not None:
            self._kernel_attr[path] = self._env.now + self._fuse.attr_timeout_s

    def _listed_now(self, directory: str, names: Sequence[str]) -> None:
        """A listing came from the server: it is cached, and its names (READDIRPLUS and
        the SMB client prime the name cache with them)."""
        self._dir_filled(directory)
        self._listed[directory] = self._known(directory)
        self._names[directory][1].update(names)

    def _changed(
        self, op: OpCost, path: str, parts: list[tuple[str, str, str]], result: Any
    ) -> None:
        """What this client's successful operation changed in its own caches, and in the
        directory's version on the server (other clients see it when they revalidate).
        A rename moves the name: the client's dentry takes the target's name (``d_move``),
        so the target is known without a lookup; its walk's last component names it."""
        if op.creates or op.removes:
            self._entry(parts[-1] if parts else ("/", "", "/"), added=op.creates)
        if op.moves and type(result) is Changed and result.walk:
            target = result.walk[-1].path
            self._entry(_components(target)[-1], added=True)
            self._attr.invalidate(path)
            self._kernel_attr.pop(path, None)
            return
        if op.creates:
            self._attr.fill(path, self._env.now, self._tracker.version((self.fs_id, path)))
            fuse = self._fuse
            if fuse is not None:
                self._kernel_entry[path] = self._env.now + fuse.entry_timeout_s
                self._kernel_attr[path] = self._env.now + fuse.attr_timeout_s
        elif op.writes or op.metadata or op.discards:
            self._attr.invalidate(path)
            self._kernel_attr.pop(path, None)

    def _entry(self, part: tuple[str, str, str], *, added: bool) -> None:
        """This client made (``added``) or removed the name ``part`` in its directory: the
        directory's version goes up on the server, and the reply's directory attributes
        keep this client's cached names good if nothing else changed."""
        parent, name, child = part
        known = self._names.get(parent)
        before = self._known(parent)
        version = self._tracker.changed((self.fs_id, parent))
        self._dirs.fill(parent, self._env.now, version)
        names = known[1] if known is not None and known[0] == before else set()
        if added:
            names.add(name)
            fuse = self._fuse
            if fuse is not None:
                self._kernel_entry[child] = self._env.now + fuse.entry_timeout_s
        else:
            names.discard(name)
            self._kernel_entry.pop(child, None)
        self._names[parent] = (version, names)
        self._listed.pop(parent, None)

    # --- data ------------------------------------------------------------------------------

    def _read(
        self, path: str, offset: int, nbytes: int, revalidated: bool
    ) -> Generator[simpy.Event, Any, tuple[Version, int]]:
        """Serve a read: revalidate a file whose attributes are stale (unless the open just
        did), then fetch the data not cached. Returns the file version served and the
        bytes fetched."""
        env, server, params = self._env, self._server, self._params
        current = self._tracker.version((self.fs_id, path))
        if not revalidated:
            fuse = self._fuse
            kernel = fuse is not None and self._kernel_attr.get(path, -math.inf) > env.now
            if not kernel and not self._attr.fresh(path, env.now):
                yield from server.request("meta")  # GETATTR: is my cached copy still good?
                self._revalidate(path)
        version = self._cached.get(path, current)
        missing = self._missing(path, offset, nbytes, version) if params.data_cache else nbytes
        if missing:
            yield from server.request("read", missing)
            self._cached[path] = version = current
            if params.data_cache:
                self._fill(path, offset, nbytes, current)
        return version, missing

    def _chunks(self, offset: int, nbytes: int) -> range:
        return range(offset // CHUNK_BYTES, (offset + max(nbytes, 1) - 1) // CHUNK_BYTES + 1)

    def _key(self, path: str, chunk: int, version: int) -> tuple[Any, ...]:
        epoch = self._epoch.get(path, 0)
        if epoch:  # pages this client's FUSE kernel dropped at an open: its own from now
            return (self.fs_key, path, chunk, version, id(self), epoch)
        return (self.fs_key, path, chunk, version)

    def _missing(self, path: str, offset: int, nbytes: int, version: int) -> int:
        cache = self._host.page_cache
        missing = 0
        for chunk in self._chunks(offset, nbytes):
            if not cache.lookup(self._key(path, chunk, version)):
                missing += CHUNK_BYTES
        return missing

    def _fill(self, path: str, offset: int, nbytes: int, version: int) -> None:
        cache = self._host.page_cache
        for chunk in self._chunks(offset, nbytes):
            cache.insert(self._key(path, chunk, version), CHUNK_BYTES)
