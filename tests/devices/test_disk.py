"""Exact, deterministic checks of the disk: queue depth, service time, accounting."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import simpy

from storsim.devices import Disk
from storsim.devices.params import DiskParams
from storsim.devices.profiles import DISK_PROFILES
from tests.devices.jobs import run_jobs


def _disk(env: simpy.Environment, **changes: Any) -> Disk:
    params = DiskParams(
        latency_s=1.0, read_bytes_per_s=100.0, write_bytes_per_s=50.0, queue_depth=1
    )
    return Disk(env, dataclasses.replace(params, **changes), np.random.default_rng(0))


def test_disk_serves_one_request_at_a_time_with_queue_depth_one(env: simpy.Environment) -> None:
    """Two metadata accesses on a queue-depth-1 disk finish at 1.0 and 2.0."""
    disk = _disk(env)
    assert run_jobs(env, {"a": disk.meta, "b": disk.meta}) == [("a", 1.0), ("b", 2.0)]


def test_disk_serves_queue_depth_requests_in_parallel(env: simpy.Environment) -> None:
    """Three accesses on a depth-2 disk: two finish at 1.0, the third waits and ends at 2.0."""
    disk = _disk(env, queue_depth=2)
    log = run_jobs(env, {"a": disk.meta, "b": disk.meta, "c": disk.meta})
    assert log == [("a", 1.0), ("b", 1.0), ("c", 2.0)]


def test_disk_service_is_latency_plus_size_over_bandwidth(env: simpy.Environment) -> None:
    """A 100-byte read takes 1 + 100/100 s and a 100-byte write 1 + 100/50 s, FIFO."""
    disk = _disk(env)
    log = run_jobs(env, {"read": lambda: disk.read(100), "write": lambda: disk.write(100)})
    assert log == [("read", 2.0), ("write", 5.0)]


def test_disk_counts_busy_time_and_utilisation(env: simpy.Environment) -> None:
    """After two 1-s requests and 2 s idle, the disk was busy 2 s: utilisation 0.5."""
    disk = _disk(env)
    run_jobs(env, {"a": disk.meta, "b": disk.meta})
    env.run(until=4.0)
    assert (disk.busy_s, disk.completed, disk.utilisation()) == (2.0, 2, 0.5)
    assert disk.utilisation(elapsed_s=2.0) == 1.0


def test_disk_reports_queue_and_service_counts(env: simpy.Environment) -> None:
    """While the first of three requests runs on a depth-1 disk, one is served and two wait."""
    disk = _disk(env)
    for access in (disk.meta, disk.meta, disk.meta):
        env.process(access())
    env.run(until=0.5)
    assert (disk.in_service, disk.queued) == (1, 2)


def test_fixed_service_draws_no_random_numbers(env: simpy.Environment) -> None:
    """A fixed-service disk leaves its random generator untouched."""
    rng = np.random.default_rng(7)
    before = rng.bit_generator.state
    disk = Disk(env, DISK_PROFILES["ssd"], rng)
    run_jobs(env, {"a": lambda: disk.read(4096)})
    assert rng.bit_generator.state == before


def test_exponential_service_is_reproducible_and_varies() -> None:
    """Two exponential disks with equal seeds finish identically; the service times differ."""

    def completions(seed: int) -> list[float]:
        env = simpy.Environment()
        params = DiskParams(
            latency_s=1.0,
            read_bytes_per_s=1.0,
            write_bytes_per_s=1.0,
            queue_depth=1,
            service="exponential",
        )
        disk = Disk(env, params, np.random.default_rng(seed))
        return [t for _, t in run_jobs(env, {str(i): disk.meta for i in range(50)})]

    first = completions(3)
    assert first == completions(3)
    gaps = np.diff([0.0, *first])
    assert len(set(gaps.tolist())) == len(gaps)
    assert (gaps > 0).all()
