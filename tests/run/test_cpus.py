"""The host's cores under the workloads: lock hand-offs need a wake-up on a core, and
unlocked read-modify-writes on fewer cores than writers overlap in longer windows.

Every operation is charged a constant 1 s of CPU time by a test double (lock calls
nothing), so each instant of the logs below is exact.
"""

from __future__ import annotations

import copy
from typing import Any

import storsim
from storsim.backends import BackendFactory, Cost, OpCost
from storsim.backends.instant import InstantBackend
from storsim.names import STORAGES
from storsim.records import Recorder
from storsim.run.containers import start_containers
from storsim.run.world import World


class OneSecond(InstantBackend):
    """Every operation costs 1 s of CPU time; a lock call costs none."""

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        super().charge(op, path, result, nbytes, offset)
        return 1.0


CONSTANT: dict[str, BackendFactory] = {storage: OneSecond for storage in STORAGES}

BASE: dict[str, Any] = {
    "name": "writers",
    "host": {"cpus": 2, "wakeup_latency": "0.5 s"},
    "images": {"app": {"layers": [{"files": {"/app/main.py": "1 KiB"}}]}},
    "volumes": {"shared": {}},
    "sources": {"shared": {"files": {"/counters.db": "4 KiB"}}},
    "services": {
        "writer": {
            "image": "app",
            "deploy": {"replicas": 3},
            "volumes": ["shared:/srv"],
            "workload": {
                "path": "/srv/counters.db",
                "lock": "flock",
                "count": 1,
                "threads": 1,
                "ops": [
                    {"op": "read", "size": "8 B", "offset": "start"},
                    {"op": "write", "offset": "same"},
                ],
            },
        }
    },
}


def _run(**changes: Any) -> Any:
    """Run :data:`BASE` with ``changes`` (dotted keys) on the constant double; the rows."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        *path, last = key.split(".")
        node = data
        for part in path:
            node = node[part]
        node[last] = value
    world = World.build(storsim.load_scenario(data), 1, Recorder(), backends=CONSTANT)
    start_containers(world)
    world.ctx.env.run()
    frame = world.ctx.recorder.frame()
    return frame.sort_values(["t_end_s", "container"], kind="stable")


def test_each_lock_hand_off_costs_the_critical_section_and_a_wake_up() -> None:
    """Three writers, each lock + read (1 s) + write (1 s) + unlock, on 2 cores with a
    0.5 s wake-up: the first takes the lock at once; the second is handed it at 2 and
    runs again at 2.5; the third at 4.5 and 5. Waits: 0, 2.5, 5 s = k (2 + 0.5)."""
    rows = _run()
    locks = rows[rows["op"] == "lock"]
    assert sorted(locks["lock_wait_s"].tolist()) == [0.0, 2.5, 5.0]
    assert rows["t_end_s"].max() == 7.0


def test_a_busy_core_delays_the_wake_up() -> None:
    """On one core shared with a CPU-bound neighbour (1 s bursts back to back), every
    burst of the lock holder and the wake-up of the next writer wait for a burst of the
    neighbour: the lock wait grows from the 2.5 s of an idle host to 5.5 s (scheduler
    latency, not the lock)."""
    neighbour = {
        "image": "app",
        "workload": {
            "path": "/app/main.py",
            "count": 6,
            "threads": 1,
            "ops": [{"op": "stat"}],
        },
    }
    rows = _run(
        **{
            "host.cpus": 1,
            "services.writer.deploy.replicas": 2,
            "services.neighbour": neighbour,
        }
    )
    waits = sorted(rows.loc[rows["op"] == "lock", "lock_wait_s"].tolist())
    # The core, FIFO: neighbour 0-1, writer 1's read 1-2, neighbour 2-3, writer 1's write
    # 3-4; the unlock at 4 hands the lock to writer 2, whose wake-up queues behind the
    # neighbour's burst asked at 3 (4-5) and runs 5-5.5.
    assert waits == [0.0, 5.5]
    first_read = rows[(rows["op"] == "read") & (rows["container"] == "writer-1")]
    assert first_read[["t_start_s", "t_end_s"]].values.tolist() == [[0.0, 2.0]]


def test_unlocked_read_modify_writes_on_one_core_overlap_longer() -> None:
    """Two unlocked writers: on 2 cores both read in [0, 1] and write in [1, 2]; on one
    core they take turns (read a 0-1, read b 1-2, write a 2-3, write b 3-4), so each
    window from read to write is 3 s instead of 2, and b still loses a's update."""
    unlocked = {"services.writer.workload.lock": "none", "services.writer.deploy.replicas": 2}
    two = _run(**unlocked)
    one = _run(**unlocked, **{"host.cpus": 1})
    assert two[["op", "t_start_s", "t_end_s"]].values.tolist() == [
        ["read", 0.0, 1.0],
        ["read", 0.0, 1.0],
        ["write", 1.0, 2.0],
        ["write", 1.0, 2.0],
    ]
    assert one[["op", "t_start_s", "t_end_s"]].values.tolist() == [
        ["read", 0.0, 1.0],
        ["read", 0.0, 2.0],
        ["write", 1.0, 3.0],
        ["write", 2.0, 4.0],
    ]
    assert int(two["lost_updates"].sum()) == int(one["lost_updates"].sum()) == 1
