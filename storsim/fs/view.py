"""What one container sees: every file operation through its mount table.

Like a receptionist who forwards each request to the right wing of a building but first
checks the wing's house rules, ``ContainerView`` routes an operation to the file system
that serves the path (``storsim.fs.mounts.MountTable``), turns that file system's errors
into errors on the container's path, and imposes what each mount says:

- a read-only mount (or a ``docker run --read-only`` root) refuses every mutating
  operation with EROFS, but only after the errors the kernel reports first for that call
  (``open``: ENOENT, EEXIST, EISDIR, ELOOP; ``unlink`` and ``rmdir``: the parent's;
  ``mkdir``, ``symlink`` and ``link``: EEXIST);
- an operation the mount lists as unsupported (an S3 FUSE mount's hard links) gives the
  mount's errno; ``open`` also checks ``"create"`` when it would create;
- ``rename`` or ``link`` across two mounts gives EXDEV (for ``rename``, judged by the
  parents' mounts, as the kernel does);
- removing or renaming a mount point, or renaming a directory that contains one, gives
  EBUSY (the table is keyed by path, so it cannot follow a renamed ancestor), after
  every error the kernel finds first on the entries beneath (ENOENT, EINVAL, ENOTDIR,
  EISDIR; EROFS when the parent's mount is read-only) and except for a rename onto
  itself, which does nothing.

A single-file bind mount (a ``Mount`` whose ``source_root`` is a file: ``-v
./nginx.conf:/etc/nginx/nginx.conf``, a secret at ``/run/secrets/NAME``) serves exactly
its target: reads, writes, ``O_TRUNC`` opens, chmod, fsync and attributes reach the host
file (shared with every other mount of it), the target's siblings stay the image's, a
path below it is ENOTDIR, and the target cannot be replaced: ``rename`` over it, of it
and ``unlink`` of it fail EBUSY, which is what ``sed -i``, editors and atomic config
writers (a temporary file renamed over the target) meet in a container [B12]. Every rule
is checked against real bind mounts (``tests/fs/test_kernel_binds.py``). One the model
does not have: the kernel's file bind pins the source's inode, so a host that renames
a new file over the source (or unlinks it) leaves the target showing the old one; here
the target follows the source's path.

Every error carries the walk of the lookups made before it (``FsError.walk``), each
component named in the file system that serves it: a mounted file system's, or, for the
checks the view makes itself, the walk of the path in the file system that serves it
(EROFS and an unsupported operation come after the lookup); what the mount table decides
alone (EXDEV across mounts for ``rename``, EBUSY) is charged the parents' walks or none.
"""

from __future__ import annotations

from collections.abc import Callable

from storsim.fs.mounts import Mount, MountTable
from storsim.fs.nodes import (
    BLOCKDEV,
    CHARDEV,
    DIR,
    FIFO,
    SYMLINK,
    Changed,
    FileSystem,
    FsError,
    Listing,
    Lookup,
    Opened,
    Read,
    Walk,
    Written,
    Wrote,
    Xattr,
    _norm,
    _split,
    _xattr_args_errno,
)
from storsim.fs.overlay import _mknod_kind

__all__ = ["ContainerView"]

_SPECIAL = frozenset({FIFO, CHARDEV, BLOCKDEV})


class _OnPath:
    """Reports a mounted file system's errors on the container's path (the view's calls
    run ``with _OnPath(path): ...``)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if isinstance(error, FsError):
            raise error.on(self.path) from None


class ContainerView(MountTable):
    """What one container sees: its root overlay with mounts grafted on, and every
    operation of the ``FileSystem`` protocol through them.

    Args:
        root: the container's root file system.
        mounts: the mount table (see ``MountTable``).
        read_only: ``docker run --read-only``: the root refuses mutating operations.

    Raises:
        ValueError: for two mounts on one target.
        FsError: when a mount point cannot be made (see ``MountTable``).
    """

    __slots__ = ()

    # ------------------------------------------------------------------ checks

    def _ro(self, m: Mount | None) -> bool:
        return self.read_only if m is None else m.read_only

    def _direct(self, m: Mount | None) -> bool:
        """Whether ``m`` (None: the root) checks nothing: writable, refusing no operation."""
        return not self._ro(m) and (m is None or not m.unsupported)

    @staticmethod
    def _unsupported(m: Mount | None, op: str, path: str, fs: FileSystem, inner: str) -> None:
        if m is not None and op in m.unsupported:
            raise _fail(m.unsupported_errnos.get(op, m.unsupported_errno), path, fs, inner)

    def _serve(self, op: str, p: str) -> tuple[Mount | None, FileSystem, str]:
        """Route ``p``; the mount's errno if it does not support ``op``."""
        m, fs, inner = self._route(p)
        self._unsupported(m, op, p, fs, inner)
        return m, fs, inner

    def _writable(self, op: str, p: str) -> tuple[FileSystem, str]:
        """Route ``p`` for ``op`` to write it: on a read-only mount, the lookup's errors
        and EROFS."""
        m, fs, inner = self._serve(op, p)
        if self._ro(m):
            self._refuse_write(fs, inner, p)
        return fs, inner

    def _creatable(self, op: str, p: str) -> tuple[FileSystem, str]:
        """Route ``p`` for ``op`` to create it: EEXIST, then EROFS on a read-only mount."""
        m, fs, inner = self._serve(op, p)
        if self._ro(m):
            if self._exists(fs, inner, p):
                raise _fail("EEXIST", p, fs, inner)
            raise _fail("EROFS", p, fs, inner)
        return fs, inner

    def _removable(self, op: str, p: str, *, is_dir: bool) -> tuple[FileSystem, str]:
        """Route ``p`` for ``op`` to remove it: on a read-only mount, the parent's errors
        and EROFS; then EBUSY for a mount point (after ENOTDIR or EISDIR).

        A mount point is an entry of its parent's mount, which ``do_unlinkat`` and
        ``do_rmdir`` check for writing (``mnt_want_write``: EROFS) before ``vfs_unlink``
        and ``vfs_rmdir`` find it busy (``is_local_mountpoint``: EBUSY); so on a
        ``--read-only`` root, removing a file bind's target is EROFS."""
        if self._is_target(p):
            pm, pfs, pinner = self._route(_split(p)[0])
            self._unsupported(pm, op, p, pfs, pinner)
            if self._ro(pm):
                inner = _join(pinner, _split(p)[1])
                self._check_parent(pfs, inner, p)
                raise _fail("EROFS", p, pfs, inner)
            if (self._stat(*self._route(p)[1:], p).kind == DIR) != is_dir:
                raise FsError("ENOTDIR" if is_dir else "EISDIR", p, walk=())
            raise FsError("EBUSY", p, walk=())
        m, fs, inner = self._serve(op, p)
        if self._ro(m):
            self._check_parent(fs, inner, p)
            raise _fail("EROFS", p, fs, inner)
        return fs, inner

    def _is_target(self, path: str) -> bool:
        return any(path == t for t, _, _ in self._table)

    @staticmethod
    def _check_parent(fs: FileSystem, inner: str, path: str) -> None:
        parent = _split(inner)[0]
        with _OnPath(path):
            kind = fs.stat(parent).kind
        if kind != DIR:
            raise _fail("ELOOP" if kind == SYMLINK else "ENOTDIR", path, fs, inner)

    @staticmethod
    def _stat(fs: FileSystem, inner: str, path: str) -> Lookup:
        with _OnPath(path):
            return fs.stat(inner)

    @staticmethod
    def _refuse_write(fs: FileSystem, inner: str, path: str) -> None:
        """Why a read-only mount refuses to write ``path``: what the lookup finds wrong
        first (ENOENT, EISDIR, ELOOP...), else EROFS. A FIFO or a device node is no data
        of the mount's: the kernel opens it for writing on a read-only mount (``may_open``
        asks the mount only for regular files and directories), so this returns and the
        file system answers (a FIFO without a reader: ENXIO)."""
        kind = ContainerView._stat(fs, inner, path).kind
        if kind == DIR:
            raise _fail("EISDIR", path, fs, inner)
        if kind == SYMLINK:
            raise _fail("ELOOP", path, fs, inner)
        if kind not in _SPECIAL:
            raise _fail("EROFS", path, fs, inner)

    @staticmethod
    def _exists(fs: FileSystem, inner: str, path: str) -> bool:
        """Whether ``inner`` exists; raises for a bad parent."""
        try:
            fs.stat(inner)
        except FsError as e:
            if e.errno != "ENOENT":
                raise e.on(path) from None
            ContainerView._check_parent(fs, inner, path)
            return False
        return True

    # ------------------------------------------------------------------ operations

    def stat(self, path: str) -> Lookup:
        """``stat`` through the mount table (see ``OverlayFS.stat``)."""
        p = _norm(path)
        _, fs, inner = self._serve("stat", p)
        return self._stat(fs, inner, p)

    def open(
        self,
        path: str,
        *,
        write: bool = False,
        create: bool = False,
        excl: bool = False,
        trunc: bool = False,
        mode: int = 0o644,
    ) -> Opened:
        """``open`` through the mount table; EROFS for writing or creating on a read-only
        mount (after ENOENT, EEXIST and EISDIR, as the kernel orders them).

        The op names checked against ``Mount.unsupported`` are ``open``, and ``create``
        when the call would create the file.
        """
        p = _norm(path)
        m, fs, inner = self._serve("open", p)
        ro = self._ro(m)
        if (ro and (write or trunc or create)) or (
            create and m is not None and "create" in m.unsupported
        ):
            if self._exists(fs, inner, p):
                if ro and (write or trunc):
                    if create and excl:
                        raise _fail("EEXIST", p, fs, inner)
                    self._refuse_write(fs, inner, p)
            elif create:
                self._unsupported(m, "create", p, fs, inner)
                if ro:
                    raise _fail("EROFS", p, fs, inner)
        with _OnPath(p):
            return fs.open(inner, write=write, create=create, excl=excl, trunc=trunc, mode=mode)

    def read(self, path: str, offset: int, nbytes: int) -> Read:
        """``read`` through the mount table."""
        p = _norm(path)
        _, fs, inner = self._serve("read", p)
        with _OnPath(p):
            return fs.read(inner, offset, nbytes)

    def write(self, path: str, offset: int, nbytes: int) -> Written:
        """``write`` through the mount table."""
        p = _norm(path)
        fs, inner = self._writable("write", p)
        with _OnPath(p):
            return fs.write(inner, offset, nbytes)

    def append(self, path: str, nbytes: int) -> Written:
        """``append`` through the mount table."""
        p = _norm(path)
        fs, inner = self._writable("append", p)
        with _OnPath(p):
            return fs.append(inner, nbytes)

    def open_write(
        self,
        path: str,
        offset: int,
        nbytes: int,
        *,
        append: bool = False,
        at: Callable[[int, int], int] | None = None,
    ) -> Wrote:
        """``open_write`` through the mount table (see ``OverlayFS.open_write``):
        the same outcome, errors and order of checks as :meth:`open` with ``write`` and
        ``create``, then :meth:`write` (or :meth:`append`)."""
        p = _norm(path)
        m, fs, inner = self._route(p)
        if self._direct(m):  # nothing to check
            with _OnPath(p):
                return fs.open_write(inner, offset, nbytes, append=append, at=at)
        # A mount that refuses something: the two calls, each with its own checks.
        try:
            source = fs.read(inner, 0, 0).layer  # where its data is (a metacopy's: below)
        except FsError:
            source = 0
        opened = self.open(p, write=True, create=True)
        if append:
            offset = opened.size_bytes
            written = self.append(p, nbytes)
        else:
            if at is not None:
                offset = at(opened.size_bytes, nbytes)
            written = self.write(p, offset, nbytes)
        copy = opened.copy_up_bytes + written.copy_up_bytes
        return Wrote(
            written.size_bytes,
            opened.layers_visited,
            copy,
            opened.copied_up or bool(copy),
            source if opened.copied_up or copy else 0,
            offset,
            walk=opened.walk,  # the open made the lookups
            grown=max(written.size_bytes - opened.size_bytes, 0),
        )

    def route(self, path: str) -> tuple[Mount | None, FileSystem, str, bool]:
        """Which mount serves ``path`` (None: the root), its file system, the path inside
        it, and whether calling that file system directly is the same as calling this
        view (a writable mount, or root, that refuses no operation: nothing to check)."""
        m, fs, inner = self._route(_norm(path))
        return m, fs, inner, self._direct(m)

    def truncate(self, path: str, size: int) -> Changed:
        """``truncate`` through the mount table."""
        p = _norm(path)
        fs, inner = self._writable("truncate", p)
        with _OnPath(p):
            return fs.truncate(inner, size)

    def fsync(self, path: str) -> Changed:
        """``fsync`` through the mount table."""
        p = _norm(path)
        _, fs, inner = self._serve("fsync", p)
        with _OnPath(p):
            return fs.fsync(inner)

    def chmod(self, path: str, mode: int) -> Changed:
        """``chmod`` through the mount table."""
        p = _norm(path)
        m, fs, inner = self._serve("chmod", p)
        if self._ro(m):
            # chmod_common asks the mount for writing before the inode is asked to
            # change, so a symlink on a read-only mount is EROFS too (this kernel, 6.x,
            # fchmodat2 with AT_SYMLINK_NOFOLLOW), not the EOPNOTSUPP of a writable one
            self._stat(fs, inner, p)
            raise _fail("EROFS", p, fs, inner)
        with _OnPath(p):
            return fs.chmod(inner, mode)

    def setxattr(
        self, path: str, name: str, value: bytes = b"", *, create: bool = False,
        replace: bool = False,
    ) -> Changed:  # fmt: skip
        """``setxattr`` through the mount table: ERANGE and E2BIG first, then a mount's
        refusal, then on a read-only mount the lookup's errors and EROFS."""
        p = _norm(path)
        bad = _xattr_args_errno(name, value)
        if bad is not None:
            raise FsError(bad, p, walk=())
        m, fs, inner = self._serve("setxattr", p)
        if self._ro(m):
            self._stat(fs, inner, p)
            raise _fail("EROFS", p, fs, inner)
        with _OnPath(p):
            return fs.setxattr(inner, name, value, create=create, replace=replace)

    def getxattr(self, path: str, name: str) -> Xattr:
        """``getxattr`` through the mount table (ERANGE before a mount's refusal)."""
        p = _norm(path)
        bad = _xattr_args_errno(name, None)
        if bad is not None:
            raise FsError(bad, p, walk=())
        _, fs, inner = self._serve("getxattr", p)
        with _OnPath(p):
            return fs.getxattr(inner, name)

    def mknod(
        self, path: str, kind: str = FIFO, mode: int = 0o644, rdev: tuple[int, int] = (0, 0)
    ) -> Changed:
        """``mknod`` through the mount table (EPERM for a directory before anything)."""
        p = _norm(path)
        _mknod_kind(kind, p)
        fs, inner = self._creatable("mknod", p)
        with _OnPath(p):
            return fs.mknod(inner, kind, mode, rdev)

    def walk(self, path: str) -> Walk:
        """The walk of ``path`` in the file system that serves it (see ``OverlayFS.walk``);
        its components are that file system's paths."""
        _, fs, inner = self._route(_norm(path))
        return fs.walk(inner)

    def unlink(self, path: str) -> Changed:
        """``unlink`` through the mount table; EBUSY for a file mount point."""
        p = _norm(path)
        fs, inner = self._removable("unlink", p, is_dir=False)
        with _OnPath(p):
            return fs.unlink(inner)

    def rmdir(self, path: str) -> Changed:
        """``rmdir`` through the mount table; EBUSY for a directory mount point."""
        p = _norm(path)
        fs, inner = self._removable("rmdir", p, is_dir=True)
        with _OnPath(p):
            return fs.rmdir(inner)

    def mkdir(self, path: str, mode: int = 0o755) -> Changed:
        """``mkdir`` through the mount table."""
        p = _norm(path)
        fs, inner = self._creatable("mkdir", p)
        with _OnPath(p):
            return fs.mkdir(inner, mode)

    def symlink(self, target: str, path: str) -> Changed:
        """``symlink`` through the mount table."""
        p = _norm(path)
        fs, inner = self._creatable("symlink", p)
        with _OnPath(p):
            return fs.symlink(target, inner)

    def link(self, src: str, dst: str) -> Changed:
        """``link`` through the mount table: EEXIST, EROFS (the new name's mount), then
        EXDEV across mounts."""
        s, t = _norm(src), _norm(dst)
        sm, sfs, sinner = self._route(s)
        tm, tfs, tinner = self._route(t)
        self._unsupported(sm, "link", s, sfs, sinner)
        self._stat(sfs, sinner, s)
        walk = sfs.walk(sinner) + tfs.walk(tinner)  # do_linkat: the source, then the target
        if self._exists(tfs, tinner, t):
            raise FsError("EEXIST", t, walk=walk)
        # do_linkat: filename_create asks the new name's mount for writing (EROFS, after
        # EEXIST), then the two mounts are compared (EXDEV)
        if self._ro(tm):
            raise FsError("EROFS", t, walk=walk)
        if sm is not tm:
            raise FsError("EXDEV", s, walk=walk)
        with _OnPath(s):
            return sfs.link(sinner, tinner)

    def rename(self, src: str, dst: str) -> Changed:
        """``rename`` through the mount table.

        EXDEV across mounts (judged by the parents' mounts, as the kernel does); EBUSY when
        ``src`` or ``dst`` is a mount point, or ``src`` contains one (the mount table is
        keyed by path, so it cannot follow a renamed ancestor).
        """
        s, t = _norm(src), _norm(dst)
        (sparent, sname), (tparent, tname) = _split(s), _split(t)
        sm, sfs, sinner = self._route(sparent)
        tm, tfs, tinner = self._route(tparent)
        self._unsupported(sm, "rename", s, sfs, sinner)
        if sm is not tm or self._ro(sm):
            # do_renameat2 resolves both parents (filename_parentat: ENOENT, ENOTDIR),
            # then compares their mounts (EXDEV) and asks the mount for writing (EROFS)
            if s != "/":
                self._check_parent(sfs, _join(sinner, sname), s)
            if t != "/":
                self._check_parent(tfs, _join(tinner, tname), t)
            walk = sfs.walk(sinner) + tfs.walk(tinner)
            raise FsError("EXDEV" if sm is not tm else "EROFS", s, walk=walk)
        prefix = s + "/"
        if (
            self._is_target(s)
            or self._is_target(t)
            or any(target.startswith(prefix) for target, _, _ in self._table)
        ):
            # The entries beneath the mounts, in the parents' file system: the kernel
            # makes every check of the rename on them (ENOENT, EINVAL, ENOTDIR, EISDIR;
            # a rename onto itself is a no-op) before vfs_rename's is_local_mountpoint
            # refuses a mount point (EBUSY) [K1]: `mv x target` of a missing x is ENOENT.
            under_s, under_t = _join(sinner, sname), _join(tinner, tname)
            with _OnPath(s):
                if sfs.rename_checks(under_s, under_t):
                    return sfs.rename(under_s, under_t)
            raise FsError("EBUSY", s, walk=())
        _, fs, sinner = self._route(s)
        tinner = self._route(t)[2]
        with _OnPath(s):
            return fs.rename(sinner, tinner)

    def readdir(self, path: str) -> Listing:
        """``readdir`` through the mount table."""
        p = _norm(path)
        _, fs, inner = self._serve("readdir", p)
        with _OnPath(p):
            return fs.readdir(inner)

    def __repr__(self) -> str:
        return f"ContainerView({self.root!r}, {len(self.mounts)} mounts)"


def _join(parent: str, name: str) -> str:
    """The path of ``name`` in the directory ``parent`` (both inside one file system)."""
    return parent + name if parent == "/" else parent + "/" + name


def _fail(errno: str, path: str, fs: FileSystem, inner: str) -> FsError:
    """A view's own refusal of ``path``, after the lookups of ``inner`` in ``fs``."""
    return FsError(errno, path, walk=fs.walk(inner))
