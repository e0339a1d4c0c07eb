"""What an fsync costs: the dirty pages written back, then the journal commit (the
disk's flush latency, not its read latency); nothing at all on memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import simpy

import storsim
from storsim.devices.profiles import DISK_PROFILES
from storsim.run.world import build_host

SYSCALL_S = 5e-6  # the scenario's default host.syscall_latency
OVERLAY_S = 0.5e-6  # the default host.overlay.op_overhead: each call through the overlay


def _through(path: str) -> float:
    """The overlay's per-call overhead if ``path`` is on the root (the writable layer)."""
    return OVERLAY_S if path.startswith("/data") else 0.0


def _scenario(disk: dict[str, Any], path: str) -> dict[str, Any]:
    """One write of 4 KiB then its fsync, on a volume (/srv) or the writable layer (/data)."""
    return {
        "name": "fsync",
        "host": {"disk": disk, "cpus": 8},
        "images": {"app": {"layers": [{"files": {"/etc/app.conf": "1 KiB"}, "dirs": ["/data"]}]}},
        "volumes": {"v": {}},
        "services": {
            "web": {
                "image": "app",
                "volumes": ["v:/srv"],
                "workload": {
                    "path": path,
                    "count": 1,
                    "threads": 1,
                    "ops": [{"op": "write", "size": "4 KiB", "offset": "start"}, {"op": "fsync"}],
                },
            }
        },
    }


def _fsync_s(disk: dict[str, Any], path: str) -> float:
    ops = storsim.simulate(storsim.load_scenario(_scenario(disk, path))).ops
    [latency] = ops.loc[ops["op"] == "fsync", "latency_s"].tolist()
    return float(latency)


@pytest.mark.parametrize("path", ["/srv/f", "/data/f"])
def test_fsync_writes_back_then_commits(path: str) -> None:
    """On an ssd (fixed service), fsync of 4 KiB dirty costs its write (25 us + 4 KiB at
    520 MB/s), the flush (300 us) and the syscall, on a volume and on the writable layer."""
    ssd = DISK_PROFILES["ssd"]
    expected = ssd.write_latency_s + 4096 / ssd.write_bytes_per_s + ssd.flush_latency_s + SYSCALL_S
    expected += _through(path)
    assert _fsync_s({"profile": "ssd", "service": "fixed"}, path) == pytest.approx(
        expected, rel=1e-12
    )


def test_the_commit_is_the_flush_latency_not_the_read_latency() -> None:
    """Raising only the flush latency by 1 ms raises the fsync by 1 ms."""
    base = {"profile": "ssd", "service": "fixed"}
    slower = {**base, "flush_latency": "1.3 ms"}
    assert _fsync_s(slower, "/srv/f") - _fsync_s(base, "/srv/f") == pytest.approx(1e-3)
    # the same duration, at a later instant (the cold lookups before it read for 1 s)
    slow_reads = _fsync_s({**base, "read_latency": "1 s"}, "/srv/f")
    assert slow_reads == pytest.approx(_fsync_s(base, "/srv/f"), rel=1e-9)


@pytest.mark.parametrize("path", ["/srv/f", "/data/f"])
def test_fsync_on_memory_costs_no_device_time(path: str) -> None:
    """With the host's disk in RAM (tmpfs), an fsync on a volume or on an overlay whose
    upper is there costs its syscall only (shmem's noop_fsync)."""
    expected = SYSCALL_S + _through(path)
    assert _fsync_s({"profile": "tmpfs"}, path) == pytest.approx(expected, rel=1e-9)


def test_latency_shorthand_sets_every_latency() -> None:
    """``latency`` sets read, write and flush latency; a specific key wins over it."""

    def disk(**keys: Any) -> Any:
        data = _scenario({"profile": "ssd", **keys}, "/srv/f")
        s = storsim.load_scenario(data)
        return build_host(s, simpy.Environment(), np.random.default_rng(0)).disk.params

    p = disk(latency="1 ms")
    assert (p.read_latency_s, p.write_latency_s, p.flush_latency_s) == (1e-3, 1e-3, 1e-3)
    p = disk(latency="1 ms", flush_latency="2 ms")
    assert (p.read_latency_s, p.write_latency_s, p.flush_latency_s) == (1e-3, 1e-3, 2e-3)
