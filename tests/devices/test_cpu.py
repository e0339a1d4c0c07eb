"""Exact event logs of the host's cores: bursts beyond the cores wait, FIFO."""

from __future__ import annotations

import pytest
import simpy

from storsim.devices import Cpu, ProcessGen
from tests.devices.jobs import run_jobs


def _burst(cpu: Cpu, seconds: float) -> ProcessGen:
    yield cpu.compute(seconds)


def test_bursts_beyond_the_cores_wait_in_arrival_order(env: simpy.Environment) -> None:
    """Four 1-s bursts on two cores: two end at 1, the other two at 2."""
    cpu = Cpu(env, 2)
    log = run_jobs(env, {name: (lambda: _burst(cpu, 1.0)) for name in "abcd"})
    assert log == [("a", 1.0), ("b", 1.0), ("c", 2.0), ("d", 2.0)]
    assert (cpu.busy_s, cpu.completed, cpu.utilisation()) == (4.0, 4, 1.0)


def test_a_burst_on_a_free_core_is_one_timeout(env: simpy.Environment) -> None:
    """A burst that finds a free core is a plain timeout of its length (no extra event)."""
    cpu = Cpu(env, 1)
    burst = cpu.compute(0.5)
    assert isinstance(burst, simpy.Timeout)
    env.run()
    assert env.now == 0.5


def test_a_process_holds_no_core_while_it_waits(env: simpy.Environment) -> None:
    """A process that waits 2 s for something else (a disk) leaves the one core to another:
    b's burst runs at once, not after a's wait."""
    cpu = Cpu(env, 1)

    def a() -> ProcessGen:
        yield env.timeout(2.0)  # waiting for a device, off the CPU
        yield cpu.compute(1.0)

    log = run_jobs(env, {"a": a, "b": lambda: _burst(cpu, 1.0)})
    assert log == [("b", 1.0), ("a", 3.0)]


def test_cpu_needs_a_core() -> None:
    """A host without a core is a misuse of the API."""
    with pytest.raises(ValueError, match=r"capacity must be >= 1 \(got 0\)"):
        Cpu(simpy.Environment(), 0)
