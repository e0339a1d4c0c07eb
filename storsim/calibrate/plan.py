"""How much to measure: the two sizes of a calibration, quick and full.

Like a survey that can be a pilot or the real census, the same experiments run at two
sizes: ``quick`` (CI, a first look; well under a minute) and ``full`` (the calibration
a profile is fitted to; a few minutes). Every number of repetitions, sizes and counts
is here, so that the measurement file's parameters can be traced to one place.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "QUICK", "Plan"]

KiB, MiB = 1024, 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Sizes and repetitions of every experiment.

    Attributes:
        mode: ``"quick"`` or ``"full"``.
        reps: repetitions of each point of the overlay and concurrency experiments
            (each repetition on a fresh mount or a fresh file).
        copy_up_sizes_bytes: lower-file sizes of the copy-up experiment.
        meta_sizes_bytes: lower-file sizes of the O_TRUNC-open and chmod experiment.
        lookup_layers: numbers of lower layers (0 is the plain file system, no overlay).
        lookup_paths: distinct paths looked up per mount and state (each in its own
            directory, so that no lookup finds another's directory cached).
        depth_components: path depths (components, the file included).
        depth_layers: lower layers of the path-depth experiment.
        readdir_layers: layers a listed directory is merged across (0: plain).
        readdir_entries: entries of a listed directory (spread over its layers).
        readdir_dirs: distinct directories listed per mount and state.
        small_ops: 4 KiB operations per data-path point.
        large_file_bytes: file size of the 1 MiB data-path points (one pass).
        fsync_ops: write + fsync pairs per data-path point.
        data_file_bytes: size of the file that small overwrites and reads go to.
        data_reps: repetitions of each data-path point (the operations are split).
        writers: numbers of concurrent processes.
        rmw_cycles: read-modify-write cycles per process.
        rmw_records: records of the shared file the cycles update.
        appends: records each appending process writes.
        remote_ops: operations of each kind on a remote directory.
        staleness_reps: changes observed per kind on a remote directory.
        staleness_limit_s: how long to wait for a change to become visible.
        loop_image_bytes: size of the sparse loop file system image.
        loop_inodes: its inodes.
    """

    mode: str
    reps: int
    copy_up_sizes_bytes: tuple[int, ...]
    meta_sizes_bytes: tuple[int, ...]
    lookup_layers: tuple[int, ...]
    lookup_paths: int
    depth_components: tuple[int, ...]
    depth_layers: int
    readdir_layers: tuple[int, ...]
    readdir_entries: tuple[int, ...]
    readdir_dirs: int
    small_ops: int
    large_file_bytes: int
    fsync_ops: int
    data_file_bytes: int
    data_reps: int
    writers: tuple[int, ...]
    rmw_cycles: int
    rmw_records: int
    appends: int
    remote_ops: int
    staleness_reps: int
    staleness_limit_s: float
    loop_image_bytes: int
    loop_inodes: int


QUICK = Plan(
    mode="quick",
    reps=2,
    copy_up_sizes_bytes=(4 * KiB, 1 * MiB, 16 * MiB),
    meta_sizes_bytes=(4 * KiB, 4 * MiB),
    lookup_layers=(0, 1, 4, 16),
    lookup_paths=8,
    depth_components=(1, 4),
    depth_layers=4,
    readdir_layers=(0, 1, 4),
    readdir_entries=(16, 256),
    readdir_dirs=2,
    small_ops=400,
    large_file_bytes=8 * MiB,
    fsync_ops=20,
    data_file_bytes=4 * MiB,
    data_reps=1,  # fio waits about 0.25 s between jobs: 8 cases x 3 targets per repetition
    writers=(2, 4),
    rmw_cycles=2000,  # at 300 cycles (0.3 ms) the forked writers barely overlap
    rmw_records=4,
    appends=1000,
    remote_ops=5,
    staleness_reps=1,
    staleness_limit_s=5.0,
    loop_image_bytes=256 * MiB,
    loop_inodes=32768,
)

FULL = Plan(
    mode="full",
    reps=5,
    copy_up_sizes_bytes=(4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB),
    meta_sizes_bytes=(4 * KiB, 1 * MiB, 64 * MiB),
    lookup_layers=(0, 1, 2, 4, 8, 16, 32, 64, 128),
    lookup_paths=16,
    depth_components=(1, 2, 4, 8, 16),
    depth_layers=4,
    readdir_layers=(0, 1, 4, 16, 64),
    readdir_entries=(16, 256, 4096),
    readdir_dirs=4,
    small_ops=6000,
    large_file_bytes=64 * MiB,
    fsync_ops=300,
    data_file_bytes=64 * MiB,
    data_reps=3,
    writers=(1, 2, 4, 8),
    rmw_cycles=3000,
    rmw_records=4,
    appends=2000,
    remote_ops=50,
    staleness_reps=3,
    staleness_limit_s=70.0,  # past NFS's longest default attribute-cache time (acdirmax 60 s)
    loop_image_bytes=2048 * MiB,
    loop_inodes=262144,
)
