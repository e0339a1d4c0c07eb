"""A container run whose every storage choice is served by the instant double."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

import storsim
from storsim.backends import BackendFactory
from storsim.backends.instant import InstantBackend
from storsim.names import STORAGES
from storsim.records import Recorder
from storsim.run.containers import ContainerRun, create
from storsim.run.operation import Iteration
from storsim.run.workload import Workload
from storsim.run.world import World

INSTANT: dict[str, BackendFactory] = {storage: InstantBackend for storage in STORAGES}
"""A registry: every storage choice served by the instant double."""

SCENARIO: dict[str, Any] = {
    "name": "one container",
    "images": {
        "app": {
            "layers": [
                {"files": {"/data/big.db": "64 MiB", "/etc/app.conf": "1 KiB"}, "dirs": ["/logs"]}
            ]
        }
    },
    "volumes": {"shared": {}},
    "sources": {"shared": {"files": {"/counters.db": "64 KiB"}}},
    "services": {
        "web": {
            "image": "app",
            "volumes": ["shared:/srv"],
            "workload": [
                {"path": "/data/big.db", "count": 1, "threads": 1, "ops": [{"op": "stat"}]}
            ],
        }
    },
}


def scenario(**workload: Any) -> dict[str, Any]:
    """:data:`SCENARIO` with its workload's fields changed."""
    data = copy.deepcopy(SCENARIO)
    data["services"]["web"]["workload"][0].update(workload)
    return data


def container(
    data: Mapping[str, Any], backends: Mapping[str, BackendFactory] = INSTANT
) -> tuple[World, ContainerRun, Workload]:
    """The world of ``data``, its service ``web`` created once (``docker run``'s create
    half, no lifecycle), and its first workload prepared on it."""
    s = storsim.load_scenario(data)
    world = World.build(s, 1, Recorder(), backends=backends)
    svc = s.services["web"]
    run, _, _ = create(world, "web", svc, 1, "web-1")
    return world, run, Workload(world.ctx, run, svc.workload[0], 0, np.random.default_rng(0))


def perform(world: World, workload: Workload, path: str, step: int = 0) -> bool:
    """Run one step of ``workload`` on ``path`` at t=0 and return whether it went on."""
    went_on: list[bool] = []

    def process() -> Any:
        went_on.append((yield from workload.steps[step].run(path, 0, 0, Iteration())))

    world.ctx.env.process(process())
    world.ctx.env.run()
    return went_on[0]


def iterate(world: World, workload: Workload) -> None:
    """Run one whole iteration of ``workload`` (its steps, lock and unlock) at t=0."""
    world.ctx.env.process(workload.iteration(0, 0))
    world.ctx.env.run()
