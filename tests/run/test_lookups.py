"""Lookups end to end (storsim/run/operation.py to the overlay backend): a failed
operation carries its path walk to the backend, which charges every layer it visited.

The kernel's ``ovl_lookup`` (fs/overlayfs/namei.c) looks a name up in the parent's upper
directory, then in each lower layer of the parent's merge stack, stopping only at a hit,
an opaque directory or the bottom: a missing name visits them all. On constant
parameters (``service: fixed``, more CPUs than work) the latencies are closed forms.
"""

from __future__ import annotations

from typing import Any

import pytest

import storsim
from storsim.devices.profiles import DISK_PROFILES

SSD = DISK_PROFILES["ssd"]
SYSCALL_S, LAYER_S = 5e-6, 1e-6  # the host's defaults
# the defaults of host.overlay: a first-looked-up component, a walk's component and visit
COMPONENT_S, WALK_S, WALK_LAYER_S = 2.5e-6, 0.8e-6, 10e-9
COLD_S = 1e-6  # host.overlay.cold_lookup_per_layer: the host's first lookup in a layer


def _latencies(layers: int, path: str, **host: Any) -> list[float]:
    """Two stats of ``path`` by one thread, in an image of ``layers`` layers that each
    hold /d (layer i: /d/f<i>)."""
    data = {
        "name": "lookups",
        "host": {"disk": {"profile": "ssd", "service": "fixed"}, "cpus": 8, **host},
        "images": {"app": {"layers": [{"files": {f"/d/f{i}": "4 KiB"}} for i in range(layers)]}},
        "services": {
            "web": {
                "image": "app",
                "workload": {"path": path, "count": 2, "threads": 1, "ops": [{"op": "stat"}]},
            }
        },
    }
    ops = storsim.simulate(storsim.load_scenario(data)).ops
    return [float(x) for x in ops["latency_s"]]


@pytest.mark.parametrize("layers", [1, 60])
def test_a_negative_lookup_is_charged_every_layer_it_visits(layers: int) -> None:
    """stat of a missing /d/x through N layers, cold: / is searched in the upper and the
    N lower roots (N directory reads), /d's inode is read (an inode-table read: 512
    inodes of 256 bytes), then x in the N lower /d (N reads): 2N + 1 reads and 2N + 1
    layers of CPU, 2 new components and 2N first
    lookups in a lower layer (/d in the N roots, x in the N /d); warm, the
    negative dentry answers with the walk (2 components, 2N + 1 visits) and the syscall (a
    stat opens no file: no overlay.op_overhead)."""
    cold, warm = _latencies(layers, "/d/x")
    visited = 2 * layers + 1
    walk = 2 * WALK_S + visited * WALK_LAYER_S
    expected = visited * (SSD.read_latency_s + LAYER_S) + 2 * COMPONENT_S + walk
    expected += 512 * 256 / SSD.read_bytes_per_s  # the inode table's readahead
    expected += 2 * layers * COLD_S
    assert cold == pytest.approx(expected + SYSCALL_S, rel=1e-12)
    assert warm == pytest.approx(walk + SYSCALL_S, rel=1e-12)


def test_the_per_layer_lookup_cost_is_a_host_parameter() -> None:
    """Raising host.overlay.lookup_per_layer by 1 ms raises a cold lookup through 4
    layers (9 layers visited) by 9 ms, and leaves the warm one as it was."""
    base = _latencies(4, "/d/x")
    slower = _latencies(4, "/d/x", overlay={"lookup_per_layer": "1.001 ms"})
    assert slower[0] - base[0] == pytest.approx(9e-3, rel=1e-9)
    assert slower[1] == pytest.approx(base[1], rel=1e-9)
