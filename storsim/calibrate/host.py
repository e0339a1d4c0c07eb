"""The host's facts that a measurement depends on, and the clock's own cost.

Like the conditions noted at the top of a weather log (station, instrument, time),
these facts say where the samples came from: kernel, CPUs, memory, the backing file
system and its device, the engine, the load average when the run started and ended
(a busy machine makes every time longer).

The ``timer`` experiment measures what every sample includes besides the kernel's
work: two clock readings, an ``os.stat`` call from Python, and the FileNotFoundError a
failed ``os.stat`` raises, each on a cached path of the backing file system.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from storsim.calibrate import system
from storsim.calibrate.context import Context, seconds
from storsim.calibrate.schema import Experiment, Point

__all__ = ["block_device_facts", "host_facts", "loadavg", "timer"]


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _meminfo_bytes(key: str) -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return int(rest.split()[0]) * 1024
    return None


def _cpu_model() -> str | None:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return None


def _os_release() -> str | None:
    for line in (_read("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return None


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [float(x) for x in (_read("/proc/loadavg") or "0 0 0").split()[:3]]


def block_device_facts(device: str) -> dict[str, Any]:
    """What sysfs says about the block device ``major:minor`` (partitions: their disk)."""
    base = Path(f"/sys/dev/block/{device}")
    queue = base / "queue"
    if not queue.exists():
        queue = base.resolve().parent / "queue"  # a partition's queue is its disk's
    facts: dict[str, Any] = {"device": device}
    for key in ("rotational", "logical_block_size", "nr_requests", "scheduler"):
        value = _read(str(queue / key))
        if value is not None:
            facts[key] = int(value) if value.isdigit() else value
    model = _read(str(base.resolve() / "device" / "model")) or _read(
        str(base.resolve().parent / "device" / "model")
    )
    if model:
        facts["model"] = model
    return facts


def host_facts(root: Path) -> dict[str, Any]:
    """Kernel, CPUs, memory and the file system that holds ``root``."""
    entry = system.mount_of(root)
    backing: dict[str, Any] = {"path": str(root)}
    if entry is not None:
        backing |= {
            "fs_type": entry.fstype,
            "source": entry.source,
            "mountpoint": str(entry.mountpoint),
            "options": entry.options,
            "block_device": block_device_facts(entry.device),
        }
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "os": _os_release(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_bytes": _meminfo_bytes("MemTotal"),
        "page_size_bytes": os.sysconf("SC_PAGE_SIZE"),
        "python": sys.version.split()[0],
        "euid": os.geteuid(),
        "backing": backing,
        "loadavg_start": loadavg(),
        "drop_caches": "not used: /proc/sys/vm/drop_caches drops every process's page "
        "cache and dentries host-wide; cold is made per file system instead (see each "
        "experiment's cold)",
    }


def timer(ctx: Context) -> Experiment:
    """The cost of the clock, of os.stat and of a failed os.stat, on cached paths."""
    start = time.monotonic()
    clock = time.perf_counter_ns
    directory = ctx.scratch("timer")
    hit = str(directory / "f")
    miss = str(directory / "missing")
    Path(hit).write_bytes(b"")
    count = 2000 if ctx.plan.mode == "quick" else 20000
    samples: dict[str, list[int]] = {"clock": [], "stat_hit": [], "stat_miss": []}
    os.stat(hit)
    for _ in range(count):
        t0 = clock()
        samples["clock"].append(clock() - t0)
    for _ in range(count):
        t0 = clock()
        os.stat(hit)
        samples["stat_hit"].append(clock() - t0)
    for _ in range(count):
        t0 = clock()
        try:  # noqa: SIM105 (contextlib.suppress would add its own cost to the sample)
            os.stat(miss)
        except FileNotFoundError:
            pass
        samples["stat_miss"].append(clock() - t0)
    return Experiment(
        name="timer",
        description="clock: two time.perf_counter_ns() readings; stat_hit: os.stat of a "
        "cached file; stat_miss: os.stat of a missing name in a cached directory (with "
        "the FileNotFoundError it raises); what every sample includes besides the kernel",
        where=f"{directory} ({ctx.backing_fs_type})",
        cold=None,
        duration_s=time.monotonic() - start,
        points=[Point(params={"what": what}, samples_s=seconds(v)) for what, v in samples.items()],
    )
