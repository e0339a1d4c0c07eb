"""Benchmark: how fast storsim simulates a file operation, against bare SimPy and a toy.

Like timing a delivery van against a bicycle courier on the same streets at the same
hour: this machine is shared and noisy, so absolute speeds mean little, and the figure
that counts is the ratio of two speeds measured side by side, again and again.

Two references:

* a bare SimPy M/M/1 queue (one ``simpy.Resource`` of capacity 1, Poisson arrivals,
  exponential service), in customers simulated per wall-clock second;
* for each workload, a toy: the hand-written idiomatic SimPy model of that workload a
  user would write instead of storsim (``bench/toys.py``: a ``simpy.Resource`` disk, a
  whole-file copy on the first write, one timeout per operation), in operations per
  second.

And for copy-up, a floor: its toy with storsim's CPU station (each write's CPU part a
burst on the host's 2 cores) and a row recorded per operation, the two pieces of
storsim's machinery that no design of it can drop (``bench/toys.py``). Its ratio to the
toy, ``floor_ratio_copyup``, is the most storsim / toy could be if its semantics and
its bookkeeping of an operation cost nothing.

storsim runs three standard workloads, in file operations simulated per second (rows
recorded divided by the wall time of ``simulate``; loading the scenario is excluded):

* ``lookup``: stat then read files spread over an 80-layer image (lookups through
  the layers; the first lookup of each file is cold, the rest warm);
* ``copyup``: 4 KiB writes to random files of the image from two containers: the first
  write to each file in each container copies it up from the lower layer (10 % of the
  writes at every size: the file count scales with the operations);
* ``rmw``: replicas doing read-modify-write cycles on records of a file on a shared
  named volume, each cycle under ``flock`` (lock, read, write, unlock).

How it is timed: in rounds. Each round runs the reference, every workload and every
toy once, each in a fresh process (a subprocess of this interpreter), one after the
other, in an order that reverses from one round to the next (so that a machine slowly
getting busier favours nobody). A round's ratios compare measurements taken seconds
apart; the benchmark reports the median over the rounds and its range. Nothing is
collected by hand in a timed region (the garbage collector runs as it would for a
user). Peak RSS is ``getrusage(RUSAGE_SELF).ru_maxrss`` of each measurement's process
(the interpreter and its imports included), the largest over the rounds.

The last two lines are ``ratio_min=X`` (the smallest median storsim / M/M/1 ratio)
and ``toy_ratio_min=Y`` (the smallest median storsim / toy ratio).

Usage::

    python bench/run.py            # 200,000 operations, 5 rounds: a few minutes
    python bench/run.py --quick    # 40,000 operations, 3 rounds, the same mixes
    python bench/run.py --ops summary   # storsim with streaming statistics only
    python bench/run.py --sweep    # also: 20 runs as a sweep on 1 process, then on 2
    # one measurement: summary mode's peak RSS, 10 million operations of the full
    # run's copy-up scenario (as many files as at 200,000)
    python bench/run.py --child copyup --size 10000000 --shape 200000 --ops summary

It asserts nothing: it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source tree without installing
    sys.path.insert(0, str(ROOT))
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

WORKLOADS = ("lookup", "copyup", "rmw")

# Operations (or customers) per measurement: full run, --quick run.
SIZES = {"full": 200_000, "quick": 40_000}
ROUNDS = {"full": 5, "quick": 3}


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


def lookup_scenario(ops: int, shape: int | None = None) -> dict[str, Any]:
    """Stat and read random files spread over an 80-layer image (one directory), with
    as many files as for ``shape`` operations (default: ``ops``)."""
    per_layer = _lookup_files_per_layer(shape or ops)
    layers = [
        {
            "name": f"layer{i:03d}",
            "generate": [{"dir": "/usr/lib/app", "count": per_layer, "prefix": f"l{i:03d}_"}],
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


def _lookup_files_per_layer(ops: int) -> int:
    # 40 files a layer at 200,000 operations (3,200 files: each file's first lookup is
    # cold); scaled with the size so that every size has the same share of cold lookups
    return max(ops // 5_000, 1)


def _copyup_files(ops: int) -> int:
    # 10,000 files at 200,000 operations: 10 % of the writes copy up (each container
    # writes each file about 10 times); scaled so that every size has the same 10 %
    # (a fixed 10,000 made 43 % of --quick's 40,000 writes copy-ups)
    return max(ops // 20, 1)


def copyup_scenario(ops: int, shape: int | None = None) -> dict[str, Any]:
    """4 KiB writes to random lower-layer files: the first write to each copies it up;
    as many files as for ``shape`` operations (default: ``ops``)."""
    files = _copyup_files(shape or ops)
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


def rmw_scenario(ops: int, shape: int | None = None) -> dict[str, Any]:
    """Replicas incrementing records of one file on a shared volume, under flock (one
    file at every size: ``shape`` changes nothing)."""
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
                    "count": ops // 3 // replicas,  # cycles: a read and a write recorded each
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


def measure(name: str, size: int, ops_mode: str, shape: int | None = None) -> dict[str, Any]:
    """Run one measurement once, in this (fresh) process.

    Args:
        name: ``"reference"``, a workload of :data:`WORKLOADS`, or ``"toy_"`` and one,
            or ``"floor_copyup"``.
        size: operations (customers for the reference).
        ops_mode: storsim's ``ops=`` mode (``"full"`` or ``"summary"``).
        shape: build the workload's files as for this many operations (default:
            ``size``): ``size=10_000_000, shape=200_000`` runs the full run's scenario
            50 times longer, which is how summary mode's memory is measured.

    Returns:
        ``name``, ``count`` (operations simulated), ``wall_s``, ``rate`` (per second),
        ``peak_rss_mib``.
    """
    if name == "reference":
        t0 = time.perf_counter()
        count = mm1(size)  # (no files: shape changes nothing)
        wall = time.perf_counter() - t0
    elif name.startswith(("toy_", "floor_")):
        from toys import FLOORS, TOYS

        kind, workload = name.split("_", 1)
        toy = (TOYS if kind == "toy" else FLOORS)[workload]
        toy(8, shape)  # its first-use work (a floor's imports of storsim): not timed
        t0 = time.perf_counter()
        count = toy(size, shape)
        wall = time.perf_counter() - t0
    else:
        import storsim

        scenario = storsim.load_scenario(SCENARIOS[name](size, shape))  # not timed
        kwargs = _mode_kwargs(ops_mode)
        t0 = time.perf_counter()
        result = storsim.simulate(scenario, **kwargs)
        wall = time.perf_counter() - t0
        count = int(result.summary["ops"].sum())
    return {
        "name": name,
        "count": count,
        "wall_s": wall,
        "rate": count / wall,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _mode_kwargs(ops_mode: str) -> dict[str, Any]:
    import inspect

    import storsim

    if "ops" in inspect.signature(storsim.simulate).parameters:
        return {"ops": ops_mode}
    return {}  # an engine from before the streaming mode: always full records


def child_command(name: str, size: int, ops_mode: str) -> list[str]:
    """The command of one measurement: this script, in a fresh process of this Python."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name]
    return [*cmd, "--size", str(size), "--ops", ops_mode]


def _child(name: str, size: int, ops_mode: str) -> dict[str, Any]:
    out = subprocess.run(
        child_command(name, size, ops_mode), check=True, capture_output=True, text=True
    ).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


# --- rounds, and what they say ----------------------------------------------------------------


def schedule(rounds: int) -> list[list[str]]:
    """The measurements of each round, in order: the reference, then each workload next
    to its toy (and its floor, if it has one); every other round in reverse, so that a
    drift in the machine's load weighs on every measurement alike."""
    from toys import FLOORS

    order = ["reference"]
    for name in WORKLOADS:
        order += [name, f"toy_{name}"] + ([f"floor_{name}"] if name in FLOORS else [])
    return [order if r % 2 == 0 else order[::-1] for r in range(rounds)]


def summarise(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per workload: its median rate, and the median and range of its per-round ratios
    to the reference and to its toy (each ratio of two measurements of one round).

    Args:
        rounds: per round, measurement name -> :func:`measure`'s dict.

    Returns:
        workload -> ``rate``, ``ratio``, ``ratio_range`` (min, max), ``toy_ratio``,
        ``toy_ratio_range``, ``toy_rate``, ``count``, ``toy_count``, ``peak_rss_mib``;
        for a workload with a floor, ``floor_ratio`` and ``floor_ratio_range`` (the
        floor's rate over the toy's).
    """
    out: dict[str, dict[str, Any]] = {}
    for name in (*WORKLOADS, "reference"):
        if name == "reference":
            rates = [r["reference"]["rate"] for r in rounds]
            out[name] = {
                "rate": statistics.median(rates),
                "count": rounds[0][name]["count"],
                "peak_rss_mib": max(r[name]["peak_rss_mib"] for r in rounds),
            }
            continue
        ratios = [r[name]["rate"] / r["reference"]["rate"] for r in rounds]
        toy_ratios = [r[name]["rate"] / r[f"toy_{name}"]["rate"] for r in rounds]
        out[name] = {
            "rate": statistics.median(r[name]["rate"] for r in rounds),
            "count": rounds[0][name]["count"],
            "toy_rate": statistics.median(r[f"toy_{name}"]["rate"] for r in rounds),
            "toy_count": rounds[0][f"toy_{name}"]["count"],
            "ratio": statistics.median(ratios),
            "ratio_range": (min(ratios), max(ratios)),
            "toy_ratio": statistics.median(toy_ratios),
            "toy_ratio_range": (min(toy_ratios), max(toy_ratios)),
            "peak_rss_mib": max(r[name]["peak_rss_mib"] for r in rounds),
        }
        if f"floor_{name}" in rounds[0]:  # the floor against the toy, round by round
            floors = [r[f"floor_{name}"]["rate"] / r[f"toy_{name}"]["rate"] for r in rounds]
            out[name]["floor_ratio"] = statistics.median(floors)
            out[name]["floor_ratio_range"] = (min(floors), max(floors))
    return out


def report(summary: dict[str, dict[str, Any]]) -> list[str]:
    """The table and the ``ratio_*`` lines (``ratio_min`` and ``toy_ratio_min`` last
    but for the sweep's lines, which :func:`main` puts before them)."""
    ref = summary["reference"]
    lines = [
        f"{'workload':<9} {'ops':>8} {'per s':>9} {'vs M/M/1 [range]':>22} "
        f"{'toy per s':>10} {'vs toy [range]':>22} {'RSS MiB':>8}",
        f"{'M/M/1':<9} {ref['count']:>8} {ref['rate']:>9.0f} {'':>22} {'':>10} {'':>22} "
        f"{ref['peak_rss_mib']:>8.1f}",
    ]
    for name in WORKLOADS:
        s = summary[name]
        lo, hi = s["ratio_range"]
        tlo, thi = s["toy_ratio_range"]
        lines.append(
            f"{name:<9} {s['count']:>8} {s['rate']:>9.0f} "
            f"{s['ratio']:>7.3f} [{lo:.3f}-{hi:.3f}]  "
            f"{s['toy_rate']:>10.0f} {s['toy_ratio']:>7.3f} [{tlo:.3f}-{thi:.3f}]  "
            f"{s['peak_rss_mib']:>8.1f}"
        )
    for name in WORKLOADS:
        if "floor_ratio" in summary[name]:
            lo, hi = summary[name]["floor_ratio_range"]
            lines.append(
                f"{name}'s floor (its toy on storsim's CPU station, a row per operation): "
                f"{summary[name]['floor_ratio']:.3f} [{lo:.3f}-{hi:.3f}] of the toy's speed"
            )
    lines.append("")
    lines += [f"ratio_{name}={summary[name]['ratio']:.3f}" for name in WORKLOADS]
    lines += [f"toy_ratio_{name}={summary[name]['toy_ratio']:.3f}" for name in WORKLOADS]
    lines += [
        f"floor_ratio_{name}={summary[name]['floor_ratio']:.3f}"
        for name in WORKLOADS
        if "floor_ratio" in summary[name]
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40,000 operations, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of measurements")
    parser.add_argument(
        "--ops", choices=("full", "summary"), default="full", help="storsim's ops= mode"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="also time 20 runs as a sweep on 1 and 2 processes"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=None, help="operations per measurement")
    parser.add_argument(
        "--shape",
        type=int,
        default=None,
        help="with --child: the files of a run of this many operations (memory runs)",
    )
    args = parser.parse_args(argv)
    kind = "quick" if args.quick else "full"
    size = args.size or SIZES[kind]
    if args.child:
        print(json.dumps(measure(args.child, size, args.ops, args.shape)))
        return 0
    rounds = args.rounds or ROUNDS[kind]
    if rounds < 1:
        parser.error("--rounds must be at least 1")

    print(f"storsim benchmark: {size} operations per run, {rounds} rounds, ops={args.ops}")
    print("each measurement in a fresh process; per s and ratios: medians over the rounds,")
    print("[range] over the rounds; RSS: the largest peak resident set of its processes\n")
    measured = [
        {name: _child(name, size, args.ops) for name in order} for order in schedule(rounds)
    ]
    summary = summarise(measured)
    lines = report(summary)
    print("\n".join(lines))
    if args.sweep:
        sweep = sweep_speedup(size // 4)
        print(
            f"\nsweep of {sweep['runs']} runs ({size // 4} operations each): "
            f"1 process {sweep['serial']:.1f} s, {sweep['jobs']} processes {sweep['pool']:.1f} s"
        )
        print(f"sweep_speedup={sweep['speedup']:.2f}")
    print(f"ratio_min={min(summary[name]['ratio'] for name in WORKLOADS):.3f}")
    print(f"toy_ratio_min={min(summary[name]['toy_ratio'] for name in WORKLOADS):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
