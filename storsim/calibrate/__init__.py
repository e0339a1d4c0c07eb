"""Calibration, measurement half: real experiments on this host, into a measurement file.

Like a tailor who measures the customer before cutting the cloth, ``storsim calibrate``
runs the kernel operations whose costs storsim models (copy-up, lookups through layers,
readdir, the data path, fsync, tmpfs, concurrent writers, remote directories) on the
host a user will deploy on, through real overlayfs mounts, and keeps every raw sample,
so that a later ``fit`` (the model's parameters, issue 10) and ``validate`` (measured
against simulated distributions, issue 14) can read them.

Design
------
- **Pipeline.** :mod:`.runner` probes the host (overlay? loop device? tmpfs?), runs the
  experiments of :data:`.runner.EXPERIMENTS` in order with a :class:`.context.Context`,
  and writes :class:`.schema.Measurements` (JSON, ``format_version`` 1) atomically at
  the end. One module per family: :mod:`.copyup`, :mod:`.lookups`, :mod:`.datapath`
  (with :mod:`.fio`), :mod:`.concurrency`, :mod:`.remote`, :mod:`.host` (facts, and the
  ``timer`` baseline); sizes and repetitions in :mod:`.plan` (quick and full).
- **Samples, not summaries.** Each point keeps every sample in seconds, its
  parameters, and what made it (``engine``: Python or fio). Python samples are
  ``time.perf_counter_ns`` around one system call and include Python's call cost, about
  a microsecond, which the ``timer`` experiment and the ``layers = 0`` baselines
  measure alone so that a fit can take it out. fio samples come from its json+ latency
  bins (within 1/64 of the true value).
- **What "cold" means.** ``/proc/sys/vm/drop_caches`` is never written: it flushes the
  whole host's caches (every container's, every tenant's) and many containers cannot
  write it. Instead, lookups and readdir run on a small ext4 file system on a loop
  device (its image on the backing file system, read without readahead) that is
  unmounted and mounted again, and the image's pages dropped: its page cache, dentries
  and inodes are gone, nobody else's. Copy-up
  "cold" drops the lower file's data pages with ``posix_fadvise(DONTNEED)`` (its inode
  stays cached). Each experiment's ``cold`` field says exactly what it did; below the
  kernel, a hypervisor or a disk's own cache may still serve a "cold" read.
- **Safety** (:mod:`.workspace`). Only its own work directory is touched: new, empty,
  or marked by an earlier run (a marker file naming every mount point, loop device and
  outside directory, written before each is made); anything else is refused. The
  directory is locked while in use. Ctrl-C, SIGTERM and SIGHUP unwind the run, which
  kills its children, unmounts deepest first, detaches loop devices and removes every
  file; a killed run's leftovers are cleaned by the next run in the same directory
  (loop devices are attached with autoclear, children die with their parent). Nothing
  is deleted while a mount remains below it.
- **Without root** the run says what it cannot measure (overlay mounts, loop devices,
  a tmpfs of its own: then a directory of /dev/shm) and measures the rest; each gap is
  a ``skipped`` entry of the file with its reason.

Use it as ``storsim calibrate`` (the lead wires :func:`.cli.main`),
``python -m storsim.calibrate``, or :func:`calibrate` from Python.
"""

from storsim.calibrate.runner import EXPERIMENTS, calibrate, default_dir
from storsim.calibrate.schema import (
    FORMAT_VERSION,
    Experiment,
    Measurements,
    Point,
    Skipped,
    load_measurements,
)
from storsim.calibrate.workspace import Interrupted, WorkspaceError

__all__ = [
    "EXPERIMENTS",
    "FORMAT_VERSION",
    "Experiment",
    "Interrupted",
    "Measurements",
    "Point",
    "Skipped",
    "WorkspaceError",
    "calibrate",
    "default_dir",
    "load_measurements",
]
