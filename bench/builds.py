"""Benchmark: the compiled build against the pure-Python one, side by side.

Like two runners on the same track in alternate heats, rather than each on a day of
its own: the machine is shared and its load drifts, so the figure that counts is the
ratio of two measurements taken one after the other, round after round.

Each interpreter given (``PYTHON``: one per install, e.g. ``.venv/bin/python`` of a
``pip install .`` and of a ``STORSIM_COMPILE=1 pip install .``) runs each workload of
``bench/run.py`` (``lookup``, ``copyup``, ``rmw``) once per round, in a fresh process;
the order of the interpreters reverses every round. The speed-up of a workload in a
round is the second interpreter's rate over the first's, per wall-clock second of
``simulate`` (as ``bench/run.py`` times it) and per CPU second (which waiting for a
core on a loaded machine does not count); the script prints, per workload, each
interpreter's median rates and the median speed-ups with their range over the rounds,
then ``speedup_min=X`` (of the wall-clock medians).

The children import the storsim that each interpreter has installed, never this
source tree (``bench/run.py`` puts the tree first on the path only when it is not on
the path already: here it is put last), and the script checks that the first
interpreter's storsim is pure Python and the second's compiled.

Usage::

    python bench/builds.py PURE_PYTHON COMPILED_PYTHON            # 200,000 ops, 5 rounds
    python bench/builds.py PURE_PYTHON COMPILED_PYTHON --quick    # 40,000 ops, 3 rounds

It asserts nothing about speed: it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKLOADS = ("lookup", "copyup", "rmw")
SIZES = {"full": 200_000, "quick": 40_000}
ROUNDS = {"full": 5, "quick": 3}

# one workload of bench/run.py in a fresh process, with the source tree last on the path:
# the wall time of simulate (as bench/run.py times it) and its CPU time (the figure a
# loaded machine disturbs least: waiting for a core is not counted)
_CHILD = """
import json, sys, time
sys.path += [{root!r}, {bench!r}]
import run, storsim
scenario = storsim.load_scenario(run.SCENARIOS[{name!r}]({size}))
t0, c0 = time.perf_counter(), time.process_time()
result = storsim.simulate(scenario)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
count = int(result.summary["ops"].sum())
print(json.dumps({{"count": count, "rate": count / wall, "cpu_rate": count / cpu}}))
"""
_COMPILED = (
    "import json, storsim.run.operation as m; "
    "print(json.dumps([m.__file__, m.__file__.endswith(('.so', '.pyd'))]))"
)


def compiled(python: str) -> tuple[str, bool]:
    """Where ``python``'s storsim.run.operation comes from, and whether it is compiled."""
    out = subprocess.run(
        [python, "-c", _COMPILED], check=True, capture_output=True, text=True, cwd="/"
    ).stdout
    where, is_compiled = json.loads(out)
    return where, is_compiled


def measure(python: str, name: str, size: int) -> dict[str, Any]:
    """One run of the workload ``name`` of bench/run.py by ``python``: ``count``
    (operations), ``rate`` (per wall-clock second) and ``cpu_rate`` (per CPU second)."""
    code = _CHILD.format(root=str(ROOT), bench=str(BENCH), name=name, size=size)
    out = subprocess.run(
        [python, "-c", code], check=True, capture_output=True, text=True, cwd="/"
    ).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pure", help="the interpreter of the pure-Python install")
    parser.add_argument("compiled", help="the interpreter of the compiled install")
    parser.add_argument("--quick", action="store_true", help="40,000 operations, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of measurements")
    args = parser.parse_args(argv)
    kind = "quick" if args.quick else "full"
    size, rounds = SIZES[kind], args.rounds or ROUNDS[kind]
    for python, want in ((args.pure, False), (args.compiled, True)):
        where, is_compiled = compiled(python)
        if is_compiled != want:
            parser.error(f"{python}: storsim is {'' if is_compiled else 'not '}compiled ({where})")
    print(f"compiled vs pure-Python build: {size} operations per run, {rounds} rounds")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        w: {"pure": [], "compiled": []} for w in WORKLOADS
    }
    for r in range(rounds):
        order = [("pure", args.pure), ("compiled", args.compiled)]
        for name in WORKLOADS:
            for build, python in order if r % 2 == 0 else order[::-1]:
                runs[name][build].append(measure(python, name, size))
    print(
        f"\n{'workload':<9} {'pure per s':>11} {'compiled':>9} {'speed-up [range]':>18}"
        f" {'per CPU s: pure':>16} {'compiled':>9} {'speed-up [range]':>18}"
    )
    speedups = {}
    for name in WORKLOADS:
        row = f"{name:<9}"
        for key, width in (("rate", 11), ("cpu_rate", 16)):
            pure = [m[key] for m in runs[name]["pure"]]
            comp = [m[key] for m in runs[name]["compiled"]]
            ratios = [c / p for p, c in zip(pure, comp, strict=True)]
            if key == "rate":
                speedups[name] = statistics.median(ratios)
            row += (
                f" {statistics.median(pure):>{width}.0f} {statistics.median(comp):>9.0f}"
                f" {statistics.median(ratios):>7.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
            )
        print(row)
    print()
    for name in WORKLOADS:
        print(f"speedup_{name}={speedups[name]:.3f}")
    print(f"speedup_min={min(speedups.values()):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
