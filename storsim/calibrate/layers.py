"""Real image layers and real overlay mounts, made and unmade for one measurement.

Like a stage crew that builds the set before each performance and strikes it after,
:func:`overlay` mounts a fresh overlay (empty upper and work directories, so every
repetition starts as a new container does) and unmounts it when the block ends;
:class:`LoopFs` is a small ext4 file system on a loop device that can be remounted to
make everything on it cold.

Why a loop file system: the only host-wide way to drop the kernel's caches,
``/proc/sys/vm/drop_caches``, flushes every tenant's page cache and dentries (on a
shared host, everyone's), and is not writable in many containers. Unmounting one file
system drops *its* cached pages, dentries and inodes, and nobody else's. The loop
device reads its image through the backing file system with readahead off, and the
image's pages are dropped at each remount too, so a cold block is read from the
backing device, one block at a time (see :func:`~storsim.calibrate.system.attach_loop`
for why not direct I/O).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from storsim.calibrate import system
from storsim.calibrate.plan import Plan
from storsim.calibrate.workspace import Workspace

__all__ = ["META_OFF", "META_ON", "LoopFs", "build_stack", "overlay", "probe_overlay"]

# Docker's overlay2 mounts with index=off; metacopy=on needs redirect_dir=on
# (Documentation/filesystems/overlayfs.rst [K1]: the kernel refuses metacopy alone).
META_OFF = "index=off,metacopy=off"
META_ON = "index=off,redirect_dir=on,metacopy=on"


class LoopFs:
    """An ext4 file system on a loop device, inside the work directory.

    Attributes:
        mountpoint: where it is mounted.
        image: its image file (sparse, on the backing file system).
        direct_io: whether the loop device bypasses the backing page cache (off:
            :func:`~storsim.calibrate.system.attach_loop`).
        mkfs: the mkfs command line used.
        read_only: whether it is mounted read-only now (after a cold remount).
    """

    def __init__(self, ws: Workspace, image: Path, mountpoint: Path, mkfs: str) -> None:
        self._ws = ws
        self.image = image
        self.mountpoint = mountpoint
        self.mkfs = mkfs
        self._loop = ws.attach_loop(image)
        self.direct_io = self._loop.direct_io
        self.read_only = False
        mountpoint.mkdir(exist_ok=True)
        ws.mount(str(self._loop.path), mountpoint, "ext4")

    @classmethod
    def create(cls, ws: Workspace, plan: Plan) -> LoopFs:
        """Make the image, attach it and mount it at ``<work dir>/loop``.

        Raises:
            OSError, FileNotFoundError, subprocess.CalledProcessError: no loop device
            (not root), no mkfs.ext4, or mkfs failed.
        """
        if os.geteuid() != 0 and not os.access("/dev/loop-control", os.W_OK):
            raise PermissionError(1, "not permitted: /dev/loop-control needs root")
        image = ws.root / "loop.img"
        mkfs = system.make_ext4(image, plan.loop_image_bytes, plan.loop_inodes)
        return cls(ws, image, ws.root / "loop", mkfs)

    @property
    def device(self) -> str:
        """The loop device's path."""
        return str(self._loop.path)

    def sync(self) -> None:
        """Write everything built on it back to the image."""
        system.syncfs(self.mountpoint)

    def writable(self) -> None:
        """Mount it read-write again (to build layers) if a cold remount left it read-only."""
        if self.read_only:
            self._ws.umount(self.mountpoint)
            self._ws.mount(self.device, self.mountpoint, "ext4")
            self.read_only = False

    def remount_cold(self, *, read_only: bool = True) -> None:
        """Unmount and mount again: its page cache, dentries and inodes are gone.

        The unmount writes everything back; ``BLKFLSBUF`` drops the device's cached
        blocks (this process holds the device open, so they would survive the unmount);
        then the image's own pages in the backing file system are dropped.

        Args:
            read_only: mount it read-only (the default, for lower layers): a read-write
                ext4 writes its superblock and journal after mounting, and the loop
                device would serve a cold read only after that write and its cache
                flush (4 ms on this project's development VM, in every cold sample).
        """
        self._ws.umount(self.mountpoint)
        self._loop.flush_buffers()
        system.drop_file_cache(self.image)
        flags = system.MS_RDONLY if read_only else 0
        self._ws.mount(self.device, self.mountpoint, "ext4", flags=flags)
        self.read_only = read_only


def probe_overlay(ws: Workspace, home: Path, options: str) -> str | None:
    """Try one overlay mount with ``options`` in ``home``.

    Returns:
        None when it mounts, else the reason (the kernel's error).
    """
    lower = home / "probe-lower"
    lower.mkdir(parents=True, exist_ok=True)
    try:
        with overlay(ws, home, [lower], options=options):
            pass
    except OSError as error:
        return f"{error.strerror or error}"
    finally:
        shutil.rmtree(lower, ignore_errors=True)
    return None


@contextlib.contextmanager
def overlay(
    ws: Workspace, home: Path, lowers: Sequence[Path], *, options: str = META_OFF
) -> Iterator[Path]:
    """Mount a fresh overlay of ``lowers`` (top-most first) and yield its merged directory.

    The upper and work directories are new and empty on every call, like a new
    container's writable layer; they are removed after the unmount.

    Raises:
        OSError: the mount failed (not root, an unsupported option, a backing file
            system that cannot hold an upper directory).
    """
    base = home / "ovl"
    upper, work, merged = base / "upper", base / "work", base / "merged"
    for path in (upper, work):
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
    merged.mkdir(exist_ok=True)
    # Relative lower paths, from their common parent: 128 absolute paths of a deep
    # work directory would not fit in the one page (4096 bytes) that mount data may use.
    parent = Path(os.path.commonpath([str(p.parent) for p in lowers]))
    lowerdir = ":".join(os.path.relpath(p, parent) for p in lowers)
    data = f"lowerdir={lowerdir},upperdir={upper},workdir={work},{options}"
    ws.mount("overlay", merged, "overlay", data, cwd=parent)
    try:
        yield merged
    finally:
        ws.umount(merged)
        with os.scandir(upper) as entries:
            held = any(entries)
        shutil.rmtree(upper, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        if held:
            # Commit the deletion now, not in the next sample's copy-up fsync (with the
            # `discard` mount option that commit also trims the freed extents). Without
            # it, 256 MiB copy-ups from a cached lower file measured slower than from a
            # cold one on the development VM (median 1.27 s against 0.52 s; with it,
            # 0.40 s against 0.80 s).
            system.syncfs(home)


def build_stack(base: Path, layers: int) -> list[Path]:
    """Make ``layers`` empty layer directories ``base/0 .. base/N-1``.

    Returns:
        Their paths top-most first (``base/0`` is the top, the last is the base layer,
        as in overlay's ``lowerdir=top:...:bottom``).
    """
    paths = [base / str(i) for i in range(layers)]
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
    return paths
