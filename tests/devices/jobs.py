"""Run device accesses as SimPy processes and log when each one ends."""

from __future__ import annotations

from collections.abc import Callable

import simpy

from storsim.devices import ProcessGen


def run_jobs(
    env: simpy.Environment, jobs: dict[str, Callable[[], ProcessGen]]
) -> list[tuple[str, float]]:
    """Start every job at t=0 in order and return (name, end time) in completion order."""
    log: list[tuple[str, float]] = []

    def job(name: str, access: Callable[[], ProcessGen]) -> ProcessGen:
        yield from access()
        log.append((name, env.now))

    for name, access in jobs.items():
        env.process(job(name, access))
    env.run()
    return log
