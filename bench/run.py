"""Benchmark: how fast storsim simulates a file operation, against bare SimPy.

Like timing a delivery van against a bicycle courier on the same streets at the same
hour: this machine is shared and noisy, so absolute speeds mean little, and the figure
that counts is the ratio of two speeds measured in the same run.

The reference is a bare SimPy M/M/1 queue (one ``simpy.Resource`` of capacity 1,
Poisson arrivals, exponential service), in customers simulated per wall-clock second.
storsim runs three standard workloads, in file operations simulated per second (rows
recorded divided by the wall time of ``simulate``; loading the scenario is excluded):

* ``lookup``: stat then read files spread over an 80-layer image (lookups through
  the layers; the first lookup of each file is cold, the rest warm);
* ``copyup``: 4 KiB writes to random files of the image (10,000 files, two containers):
  the first write to each file in each container copies it up from the lower layer
  (10 % of the writes at 200,000 operations, 43 % at ``--quick``'s 40,000);
* ``rmw``: replicas doing read-modify-write cycles on records of a file on a shared
  named volume, each cycle under ``flock`` (lock, read, write, unlock).

Every measurement runs in a fresh subprocess, so that each peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss`` of that process: the interpreter and imports
included) belongs to one workload only. Each runs ``--repeat`` times and keeps its best
wall time. The last line is ``ratio_min=X``: the smallest storsim ops/s divided by the
reference customers/s.

Usage::

    python bench/run.py            # about two minutes
    python bench/run.py --quick    # under 30 s
    python bench/run.py --ops summary   # storsim with streaming statistics only
    python bench/run.py --sweep    # also: 20 runs as a sweep on 1 process, then on 2

It asserts nothing: it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source tree without installing
    sys.path.insert(0, str(ROOT))

WORKLOADS = ("lookup", "copyup", "rmw")

# Operations (or customers) per measurement: full run, --quick run.
SIZES = {"full": 200_000, "quick": 40_000}


# --- the reference ------------------------------------------------------------------------


def mm1(customers: int, seed: int = 1) -> int:
    """A bare SimPy M/M/1 queue (rho = 0.8); returns the customers served."""
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    arrival_rate, service_rate = 0.8, 1.0
    served = 0

    def customer() -> Any:
        nonlocal served
        with server.request() as request:
            yield request
            yield env.timeout(rng.expovariate(service_rate))
        served += 1

    def source() -> Any:
        for _ in range(customers):
            yield env.timeout(rng.expovariate(arrival_rate))
            env.process(customer())

    env.process(source())
    env.run()
    return served


# --- the storsim workloads, as scenario data ---------------------------------------------


def lookup_scenario(ops: int) -> dict[str, Any]:
    """Stat and read random files spread over an 80-layer image (one directory)."""
    layers = [
        {
            "name": f"layer{i:03d}",
            "generate": [{"dir": "/usr/lib/app", "count": 40, "prefix": f"l{i:03d}_"}],
        }
        for i in range(80)
    ]
    return {
        "name": "bench-lookup",
        "seed": 1,
        "host": {"disk": "ssd", "overlay": {"max_layers": 128}},
        "images": {"deep": {"layers": layers}},
        "services": {
            "probe": {
                "image": "deep",
                "deploy": {"replicas": 2},
                "workload": {
                    "name": "stat and read",
                    "path": "/usr/lib/app/*",
                    "threads": 4,
                    "count": ops // 4,  # per replica; two ops per iteration
                    "ops": [{"op": "stat"}, {"op": "read", "size": "4 KiB", "offset": "start"}],
                },
            }
        },
    }


def copyup_scenario(ops: int) -> dict[str, Any]:
    """4 KiB writes to random lower-layer files: the first write to each copies it up."""
    files = 10_000
    return {
        "name": "bench-copyup",
        "seed": 2,
        "host": {"disk": "ssd"},
        "images": {
            "app": {
                "layers": [
                    {
                        "generate": [
                            {
                                "dir": "/srv/data",
                                "count": files,
                                "size": {"dist": "lognormal", "median": "16 KiB", "sigma": 1},
                            }
                        ]
                    },
                    {"files": {"/app/main.py": "8 KiB"}},
                ]
            }
        },
        "services": {
            "app": {
                "image": "app",
                "deploy": {"replicas": 2},
                "workload": {
                    "name": "update files",
                    "path": "/srv/data/*",
                    "threads": 4,
                    "count": ops // 2,  # per replica
                    "ops": [{"op": "write", "size": "4 KiB"}],
                },
            }
        },
    }


def rmw_scenario(ops: int) -> dict[str, Any]:
    """Replicas incrementing records of one file on a shared volume, under flock."""
    replicas = 8
    return {
        "name": "bench-rmw",
        "seed": 3,
        "host": {"disk": "ssd"},
        "images": {"counter": {"layers": [{"files": {"/app/counter.py": "4 KiB"}}]}},
        "volumes": {"counters": {}},
        "sources": {"counters": {"files": {"/counters.db": "64 KiB"}}},
        "services": {
            "counter": {
                "image": "counter",
                "deploy": {"replicas": replicas},
                "volumes": ["counters:/data"],
                "workload": {
                    "name": "increment",
                    "path": "/data/counters.db",
                    "lock": "flock",
                    "threads": 1,
                    "think": "1 ms",
                    "count": ops // 3 // replicas,  # lock, read, write: three rows a cycle
                    "ops": [
                        {"op": "read", "size": "4 KiB", "think": "200 us"},
                        {"op": "write", "offset": "same"},
                    ],
                },
            }
        },
    }


SCENARIOS = {"lookup": lookup_scenario, "copyup": copyup_scenario, "rmw": rmw_scenario}


# --- a sweep: 20 runs on one process, then on two --------------------------------------


def sweep_speedup(ops: int, runs: int = 20, jobs: int = 2) -> dict[str, float]:
    """Wall time of ``runs`` replications of the copy-up workload as one sweep: in this
    process (``executor="serial"``), then on a pool of ``jobs`` processes (the sweep's
    default executor, worker start-up included)."""
    import storsim

    scenario = storsim.load_scenario(copyup_scenario(ops))
    walls = {}
    for name, kwargs in (("serial", {"executor": "serial"}), ("pool", {"jobs": jobs})):
        t0 = time.perf_counter()
        frame = storsim.sweep(scenario, replications=runs, progress=False, **kwargs)
        walls[name] = time.perf_counter() - t0
        if frame["replication"].nunique() != runs or frame["error"].notna().any():
            raise RuntimeError(f"the {name} sweep did not finish its {runs} runs:\n{frame}")
    return {"runs": runs, "jobs": jobs, **walls, "speedup": walls["serial"] / walls["pool"]}


# --- one measurement, in a child process ---------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(name: str, size: int, repeat: int, ops_mode: str) -> dict[str, Any]:
    """Run one measurement ``repeat`` times here; the best wall time counts."""
    best = float("inf")
    count = 0
    if name == "reference":
        rss_before = _peak_rss_mib()
        for _ in range(repeat):
            t0 = time.perf_counter()
            count = mm1(size)
            best = min(best, time.perf_counter() - t0)
    else:
        import storsim

        scenario = storsim.load_scenario(SCENARIOS[name](size))  # not timed
        rss_before = _peak_rss_mib()
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = storsim.simulate(scenario, **_mode_kwargs(ops_mode))
            best = min(best, time.perf_counter() - t0)
            count = int(result.summary["ops"].sum())
            del result
    return {
        "name": name,
        "count": count,
        "wall_s": best,
        "rate": count / best,
        "rss_before_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _mode_kwargs(ops_mode: str) -> dict[str, Any]:
    import inspect

    import storsim

    if "ops" in inspect.signature(storsim.simulate).parameters:
        return {"ops": ops_mode}
    return {}  # an engine from before the streaming mode: always full records


def _child(name: str, size: int, repeat: int, ops_mode: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name]
    cmd += ["--size", str(size), "--repeat", str(repeat), "--ops", ops_mode]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (under 30 s)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement")
    parser.add_argument(
        "--ops", choices=("full", "summary"), default="full", help="storsim's ops= mode"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="also time 20 runs as a sweep on 1 and 2 processes"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.size or SIZES["quick" if args.quick else "full"]
    repeat = args.repeat or (2 if args.quick else 3)
    if args.child:
        print(json.dumps(measure(args.child, size, repeat, args.ops)))
        return 0

    print(f"storsim benchmark: {size} operations per run, best of {repeat}, ops={args.ops}")
    print("each line from a fresh subprocess; RSS = peak resident set of that process\n")
    # The reference runs first and last: the better of the two stands for this run.
    refs = [_child("reference", size, repeat, args.ops)]
    results = [_child(name, size, repeat, args.ops) for name in WORKLOADS]
    refs.append(_child("reference", size, repeat, args.ops))
    ref = max(refs, key=lambda r: r["rate"])
    header = f"{'measurement':<12} {'count':>9} {'wall s':>8} {'per s':>10} {'RSS MiB':>8}"
    print(header + f" {'ratio':>7}")
    for r in [*refs, *results]:
        ratio = f"{r['rate'] / ref['rate']:7.3f}" if r["name"] != "reference" else ""
        print(
            f"{r['name']:<12} {r['count']:>9} {r['wall_s']:>8.3f} {r['rate']:>10.0f} "
            f"{r['peak_rss_mib']:>8.1f} {ratio}"
        )
    ratios = {r["name"]: r["rate"] / ref["rate"] for r in results}
    print()
    for name, ratio in ratios.items():
        print(f"ratio_{name}={ratio:.3f}")
    if args.sweep:
        sweep = sweep_speedup(size // 4)
        print(
            f"\nsweep of {sweep['runs']} runs ({size // 4} operations each): "
            f"1 process {sweep['serial']:.1f} s, {sweep['jobs']} processes {sweep['pool']:.1f} s"
        )
        print(f"sweep_speedup={sweep['speedup']:.2f}")
    print(f"ratio_min={min(ratios.values()):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
