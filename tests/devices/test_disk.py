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
        read_latency_s=1.0,
        write_latency_s=1.0,
        flush_latency_s=1.0,
        read_bytes_per_s=100.0,
        write_bytes_per_s=50.0,
        queue_depth=1,
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
    disk = Disk(env, dataclasses.replace(DISK_PROFILES["ssd"], service="fixed"), rng)
    run_jobs(env, {"a": lambda: disk.read(4096)})
    assert rng.bit_generator.state == before


def test_exponential_service_is_reproducible_and_varies() -> None:
    """Two exponential disks with equal seeds finish identically; the service times differ."""

    def completions(seed: int) -> list[float]:
        env = simpy.Environment()
        params = DiskParams(
            read_latency_s=1.0,
            write_latency_s=1.0,
            flush_latency_s=1.0,
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


def test_each_kind_of_request_has_its_own_latency(env: simpy.Environment) -> None:
    """On one slot, with read, write and flush latencies 1, 2 and 4 s: a metadata read
    ends at 1, a 100-byte write (2 + 100/50 s) at 5, a flush at 9, a 100-byte read
    (1 + 100/100 s) at 11."""
    disk = _disk(env, read_latency_s=1.0, write_latency_s=2.0, flush_latency_s=4.0)
    log = run_jobs(
        env,
        {
            "meta": disk.meta,
            "write": lambda: disk.write(100),
            "flush": disk.flush,
            "read": lambda: disk.read(100),
        },
    )
    assert log == [("meta", 1.0), ("write", 5.0), ("flush", 9.0), ("read", 11.0)]


def test_submit_flush_is_one_event_of_the_flush_latency(env: simpy.Environment) -> None:
    """``yield disk.submit_flush()`` ends after the flush latency, as ``disk.flush()``."""
    disk = _disk(env, flush_latency_s=0.25)

    def job() -> Any:
        yield disk.submit_flush()

    env.process(job())
    env.run()
    assert (env.now, disk.completed, disk.busy_s) == (0.25, 1, 0.25)


def test_only_memory_is_volatile() -> None:
    """The tmpfs profile is memory (an fsync has nothing to do); the other disks are not."""
    env = simpy.Environment()
    rng = np.random.default_rng(0)
    volatile = {name: Disk(env, p, rng).volatile for name, p in DISK_PROFILES.items()}
    assert volatile == {"nvme": False, "ssd": False, "hdd": False, "tmpfs": True}
