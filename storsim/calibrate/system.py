"""The host's kernel interfaces that calibration needs, one thin wrapper each.

Like a workshop's wall of hand tools, each function does one thing to the kernel
(mount, unmount, attach a loop device, drop a file's cached pages, read the mount
table) and nothing else; the decisions about *when* to use them live in
:mod:`storsim.calibrate.workspace` and the experiments.

System calls go through ``ctypes`` to the C library (``mount(2)``, ``umount2(2)``,
``syncfs(2)``, ``prctl(2)``, ``getdents64(2)``) and through ``fcntl.ioctl`` to the
loop driver (``LOOP_CONFIGURE``, Linux >= 5.8, with the older ``LOOP_SET_FD`` path as a
fallback), so that no external ``mount`` or ``losetup`` binary is needed; ``mkfs.ext4``
(e2fsprogs) is the one external tool, for the loop file system.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import platform
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LoopDevice",
    "MountEntry",
    "attach_loop",
    "detach_loop",
    "drop_file_cache",
    "getdents_all",
    "kill_with_parent",
    "loop_backing_file",
    "loop_devices",
    "make_ext4",
    "mount",
    "mount_of",
    "mount_table",
    "mounted_below",
    "syncfs",
    "umount",
]

_LIBC = ctypes.CDLL(None, use_errno=True)

MNT_DETACH = 2  # umount2: lazy unmount, the last resort for a busy mount
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
_PR_SET_PDEATHSIG = 1

# Loop driver ioctls and flags (include/uapi/linux/loop.h).
_LOOP_SET_FD = 0x4C00
_LOOP_CLR_FD = 0x4C01
_LOOP_SET_STATUS64 = 0x4C04
_LOOP_SET_DIRECT_IO = 0x4C08
_LOOP_CONFIGURE = 0x4C0A
_LOOP_CTL_GET_FREE = 0x4C82
_LO_FLAGS_AUTOCLEAR = 4
_LO_FLAGS_DIRECT_IO = 16
_BLKFLSBUF = 0x1261  # include/uapi/linux/fs.h: write back and drop a block device's buffers
# struct loop_info64: 5 x u64, 4 x u32, name[64], crypt_name[64], key[32], init[2] x u64
_LOOP_INFO64 = struct.Struct("=QQQQQIIII64s64s32sQQ")

# getdents64 is one of the few syscalls whose number differs between architectures.
_SYS_GETDENTS64 = {"x86_64": 217, "aarch64": 61, "riscv64": 61, "ppc64le": 202, "s390x": 220}


def _check(ret: int, what: str) -> int:
    if ret < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return ret


def mount(
    source: str,
    target: Path,
    fstype: str,
    data: str = "",
    *,
    flags: int = 0,
    cwd: Path | None = None,
) -> None:
    """Mount a file system with ``mount(2)``.

    Args:
        source: the device or pseudo source (``"overlay"``, ``"tmpfs"``, ``/dev/loop0``).
        target: an existing directory.
        fstype: the file system type.
        data: the comma-separated options string.
        flags: ``MS_*`` flags.
        cwd: resolve relative paths in ``data`` from here (overlay's ``lowerdir``
            must fit in one page, 4096 bytes: 128 absolute layer paths would not).

    Raises:
        OSError: the kernel refused (EPERM without CAP_SYS_ADMIN, EINVAL for an
            unsupported option...).
    """
    old = os.getcwd() if cwd is not None else None
    try:
        if cwd is not None:
            os.chdir(cwd)
        ret = _LIBC.mount(
            source.encode(), os.fsencode(target), fstype.encode(), flags, data.encode()
        )
        _check(int(ret), f"mount -t {fstype} {source} {target} -o {data}")
    finally:
        if old is not None:
            os.chdir(old)


def umount(target: Path, *, attempts: int = 5) -> None:
    """Unmount ``target``; a mount still busy after a few tries is detached lazily.

    A lazy unmount (``MNT_DETACH``) removes the mount from the tree at once and frees it
    when its last user goes away: an earlier run's orphaned child may still hold a file.

    Raises:
        OSError: neither unmount worked (EINVAL: not a mount point).
    """
    path = os.fsencode(target)
    for attempt in range(attempts):
        if _LIBC.umount2(path, 0) == 0:
            return
        code = ctypes.get_errno()
        if code != errno.EBUSY:
            raise OSError(code, f"umount {target}: {os.strerror(code)}")
        time.sleep(0.05 * (attempt + 1))
    _check(int(_LIBC.umount2(path, MNT_DETACH)), f"umount -l {target}")


def syncfs(path: Path) -> None:
    """Write back the dirty data of the one file system that holds ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _check(int(_LIBC.syncfs(fd)), f"syncfs {path}")
    finally:
        os.close(fd)


def drop_file_cache(path: Path) -> None:
    """Drop one file's pages from the page cache (``posix_fadvise(DONTNEED)``).

    Dirty pages cannot be dropped, so the file is written back first. Its inode and
    dentry stay cached: this makes the file's *data* cold, nothing else.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def kill_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (``PR_SET_PDEATHSIG``).

    Called first in every child a calibration forks, so that a killed run leaves no
    writer behind holding a file open under a mount the next run must unmount.
    """
    import signal

    _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def getdents_all(path: Path, buffer: ctypes.Array[ctypes.c_char]) -> int:
    """Read a whole directory with ``getdents64(2)``: open, read to the end, close.

    No Python object is made per name (``os.listdir`` costs about 50 ns per name on
    top of the kernel's work, 0.2 ms for 4096 names), so the time is the kernel's.

    Returns:
        The bytes of directory entries read.

    Raises:
        OSError: the path is not a readable directory; NotImplementedError on an
            architecture whose syscall number is not in the table.
    """
    number = _SYS_GETDENTS64.get(platform.machine())
    if number is None:
        raise NotImplementedError(f"getdents64 number unknown on {platform.machine()}")
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    total = 0
    try:
        while True:
            got = int(_LIBC.syscall(number, fd, buffer, len(buffer)))
            if got <= 0:
                _check(got, f"getdents64 {path}")
                return total
            total += got
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- mount table


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of ``/proc/self/mountinfo``."""

    mount_id: int
    device: str  # "major:minor"
    mountpoint: Path
    fstype: str
    source: str
    options: str


_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def mount_table() -> list[MountEntry]:
    """The mounts of this process's namespace, in mount order (parents first)."""
    entries = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            entries.append(
                MountEntry(
                    mount_id=int(fields[0]),
                    device=fields[2],
                    mountpoint=Path(_unescape(fields[4])),
                    fstype=tail[0],
                    source=_unescape(tail[1]) if len(tail) > 1 else "",
                    options=fields[5] + ("," + tail[2] if len(tail) > 2 else ""),
                )
            )
    return entries


def mounted_below(root: Path, *, include_root: bool = False) -> list[MountEntry]:
    """The mounts at or under ``root`` (a resolved path), in mount order."""
    found = []
    for entry in mount_table():
        if entry.mountpoint == root:
            if include_root:
                found.append(entry)
        elif entry.mountpoint.is_relative_to(root):
            found.append(entry)
    return found


def mount_of(path: Path) -> MountEntry | None:
    """The mount that holds ``path``: the last mount whose device matches its ``st_dev``."""
    st = os.stat(path)
    device = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    real = Path(os.path.realpath(path))
    best: MountEntry | None = None
    for entry in mount_table():
        deeper = best is None or len(entry.mountpoint.parts) >= len(best.mountpoint.parts)
        if entry.device == device and real.is_relative_to(entry.mountpoint) and deeper:
            best = entry
    return best


# --------------------------------------------------------------------------- loop devices


@dataclass(slots=True)
class LoopDevice:
    """A loop device attached to an image file, held open by this process.

    It is attached with ``LO_FLAGS_AUTOCLEAR``: when this process's descriptor is closed
    (also when the process is killed) and nothing mounts it any more, the kernel detaches
    it by itself, so a crashed run leaves at most a mount, never an orphaned device.
    """

    path: Path
    fd: int
    direct_io: bool

    def flush_buffers(self) -> None:
        """Drop the device's cached blocks (``BLKFLSBUF``): metadata read next is cold."""
        fcntl.ioctl(self.fd, _BLKFLSBUF)

    def close(self) -> None:
        """Release this process's hold; the device detaches once it is unmounted too."""
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def attach_loop(image: Path, *, direct_io: bool = False) -> LoopDevice:
    """Attach ``image`` to a free loop device.

    Without direct I/O the loop device reads its image through the backing file
    system's page cache; readahead is switched off on the image (``POSIX_FADV_RANDOM``
    on the very file the loop driver uses), so that once the image's pages are dropped
    each block the file system on it reads comes from the backing device, one block at
    a time, not 128 KiB of neighbours with it. Direct I/O would bypass that cache too,
    but on some kernels (6.18 here) every direct read through a loop device takes a
    scheduler tick (4 ms) however fast the device, so it is off by default.

    Args:
        image: the image file.
        direct_io: ask the loop driver for direct I/O on the image.

    Raises:
        OSError: no loop device (EPERM without CAP_SYS_ADMIN, ENOENT without
            ``/dev/loop-control``).
    """
    image_fd = os.open(image, os.O_RDWR | os.O_CLOEXEC)
    try:
        os.posix_fadvise(image_fd, 0, 0, os.POSIX_FADV_RANDOM)
        ctl = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            for _ in range(8):  # another process may take the free device first: EBUSY
                number = fcntl.ioctl(ctl, _LOOP_CTL_GET_FREE)
                path = Path(f"/dev/loop{number}")
                dev = os.open(path, os.O_RDWR | os.O_CLOEXEC)
                try:
                    _configure(dev, image_fd, image, direct_io)
                except OSError as error:
                    os.close(dev)
                    if error.errno == errno.EBUSY:
                        continue
                    raise
                return LoopDevice(path=path, fd=dev, direct_io=_sys_flag(path, "dio"))
            raise OSError(errno.EBUSY, "no free loop device after 8 tries")
        finally:
            os.close(ctl)
    finally:
        os.close(image_fd)


def _configure(dev: int, image_fd: int, image: Path, direct_io: bool) -> None:
    name = os.fsencode(image)[:63]
    flags = _LO_FLAGS_AUTOCLEAR | (_LO_FLAGS_DIRECT_IO if direct_io else 0)
    info = _LOOP_INFO64.pack(0, 0, 0, 0, 0, 0, 0, 0, flags, name, b"", b"", 0, 0)
    config = struct.pack("=II", image_fd, 0) + info + bytes(64)  # + reserved u64[8]
    try:
        fcntl.ioctl(dev, _LOOP_CONFIGURE, config)
        return
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTTY):  # kernels before 5.8
            raise
    fcntl.ioctl(dev, _LOOP_SET_FD, image_fd)
    info = _LOOP_INFO64.pack(0, 0, 0, 0, 0, 0, 0, 0, _LO_FLAGS_AUTOCLEAR, name, b"", b"", 0, 0)
    fcntl.ioctl(dev, _LOOP_SET_STATUS64, info)
    if direct_io:
        with contextlib.suppress(OSError):  # buffered I/O is a fallback, recorded as such
            fcntl.ioctl(dev, _LOOP_SET_DIRECT_IO, 1)


def _sys_flag(device: Path, name: str) -> bool:
    try:
        return Path(f"/sys/block/{device.name}/loop/{name}").read_text().strip() == "1"
    except OSError:
        return False


def loop_backing_file(device: Path) -> str | None:
    """The image a loop device is attached to, or None when it is free."""
    try:
        text = Path(f"/sys/block/{device.name}/loop/backing_file").read_text().strip()
    except OSError:
        return None
    return text.removesuffix(" (deleted)") or None


def detach_loop(device: Path) -> None:
    """Detach a loop device that nothing uses any more (``LOOP_CLR_FD``)."""
    fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, _LOOP_CLR_FD)
    finally:
        os.close(fd)


def loop_devices() -> Iterator[Path]:
    """Every loop device the kernel has made (attached or not)."""
    for entry in sorted(Path("/sys/block").glob("loop*")):
        yield Path("/dev") / entry.name


def make_ext4(image: Path, size_bytes: int, inodes: int) -> str:
    """Create a sparse image file holding an empty ext4 file system.

    The inode tables and journal are written now (``lazy_itable_init=0``), not by a
    kernel thread in the background while the experiments run.

    Returns:
        The mkfs.ext4 command line used (for the measurement file).

    Raises:
        FileNotFoundError: mkfs.ext4 is not installed (package e2fsprogs).
        subprocess.CalledProcessError: mkfs failed.
    """
    mkfs = shutil.which("mkfs.ext4") or next(
        (p for p in ("/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4") if os.access(p, os.X_OK)), None
    )
    if mkfs is None:
        raise FileNotFoundError("mkfs.ext4 not found (install e2fsprogs)")
    with open(image, "wb") as handle:
        handle.truncate(size_bytes)
    cmd = [
        mkfs, "-q", "-F", "-N", str(inodes),
        "-E", "lazy_itable_init=0,lazy_journal_init=0,nodiscard", str(image),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return " ".join(["mkfs.ext4", *cmd[1:-1], "IMAGE"])
