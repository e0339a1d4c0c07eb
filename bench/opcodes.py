"""Count the Python bytecodes and calls that storsim spends per simulated operation.

Like counting a cook's movements rather than timing the cook: a wall-clock benchmark on a
shared machine swings with the load, while the number of bytecodes the interpreter runs
for one operation does not move at all from one run to the next, so it shows a change of
a few per cent that a timing would bury in noise (it misses what C code costs: SimPy's
heap, dict and list operations, numpy's draws).

(The libraries' first-use work, such as compiling a regular expression or filling a
cache, is done once a process: some 10,000 bytecodes, nothing at 20,000 operations.)

For each of bench/run.py's three workloads, it runs ``storsim.simulate`` once under
``sys.settrace`` with opcode events on (``frame.f_trace_opcodes``) and reports, per
recorded operation (the rows bench/run.py counts):

* ``bytecodes``: opcode events (every instruction the interpreter runs in Python code);
* ``calls``: Python frames entered (a function call; a generator resumed is counted
  apart, as ``resumes``);
* ``events``: SimPy events processed (the event loop's steps, from
  :func:`storsim.guard._slice`'s counts).

With ``--top N`` it also lists the N functions that run the most bytecodes.

A bytecode is not a unit of cost (a Python-to-Python call is a few bytecodes and cheap
in 3.11, a generator resumed from Python code a C call and none), so ``--valgrind``
counts machine instructions instead, C included: each workload runs in bench/run.py's
child process under ``valgrind --tool=cachegrind --cache-sim=no`` at half and at one
and a half times ``--size`` operations, on the files of ``--size`` operations both
times, and the difference of the two counts divided by the difference of the operations
is what one more operation costs (start-up, imports and the scenario's files cancel).

Usage::

    python bench/opcodes.py                  # 20,000 operations of each workload
    python bench/opcodes.py --size 5000 --top 15 lookup
    python bench/opcodes.py --valgrind       # instructions per operation (valgrind)

Tracing runs some 50 times slower than the plain run (a minute or so per workload at the
default size), valgrind some 20 times. It asserts nothing: it is a measurement.
"""

from __future__ import annotations

import argparse
import collections
import dis
import functools
import inspect
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a source tree without installing
    sys.path.insert(0, str(ROOT))
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from run import SCENARIOS, WORKLOADS  # noqa: E402  (bench/run.py, after the path)

_GENERATOR = inspect.CO_GENERATOR | inspect.CO_COROUTINE


@functools.cache
def _first_resume(code: CodeType) -> int:
    """Where a generator's frame is when it starts: its first ``RESUME`` (CPython 3.11+;
    a resumed frame is at a ``YIELD_VALUE`` or after it)."""
    return next(i.offset for i in dis.get_instructions(code) if i.opname == "RESUME")


def _traced(run: Callable[[], Any]) -> tuple[Any, dict[str, int], collections.Counter[str]]:
    """Call ``run()`` under the tracer: its result, the totals (``bytecodes``, ``calls``,
    ``resumes``) and the bytecodes per ``file:line:function``."""
    totals = {"bytecodes": 0, "calls": 0, "resumes": 0}
    by_code: collections.Counter[CodeType] = collections.Counter()
    skip = _UNCOUNTED

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            totals["bytecodes"] += 1
            by_code[frame.f_code] += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        code = frame.f_code
        if code in skip:  # the counter itself (once a slice)
            return None
        # a generator resumed, not started: past its first RESUME instruction
        if code.co_flags & _GENERATOR and frame.f_lasti != _first_resume(code):
            totals["resumes"] += 1
        else:
            totals["calls"] += 1
        frame.f_trace_opcodes = True
        return local

    before = sys.gettrace()  # a debugger's or coverage's tracer, given back after
    sys.settrace(tracer)
    try:
        result = run()
    finally:
        sys.settrace(before)
    by_function: collections.Counter[str] = collections.Counter()
    for code, n in by_code.items():
        where = Path(code.co_filename)
        try:
            short = str(where.relative_to(ROOT))
        except ValueError:
            short = where.name
        by_function[f"{short}:{code.co_firstlineno}:{code.co_name}"] += n
    return result, totals, by_function


_UNCOUNTED: set[CodeType] = set()  # the counter's own code, called from the loop


def count(name: str, size: int) -> dict[str, Any]:
    """Run ``size`` operations of workload ``name`` under the tracer.

    Returns:
        ``ops`` (rows recorded), ``bytecodes``, ``calls``, ``resumes``, ``events`` (all
        totals) and ``by_function`` (a Counter of bytecodes per ``file:function``).
    """
    import storsim
    from storsim import guard

    scenario = storsim.load_scenario(SCENARIOS[name](size))  # not counted
    events = 0
    original = guard._slice

    def counted_slice(env: Any, until: float | None) -> int:
        nonlocal events
        steps = original(env, until)
        events += steps
        return steps

    _UNCOUNTED.add(counted_slice.__code__)
    guard._slice = counted_slice
    try:
        result, totals, by_function = _traced(lambda: storsim.simulate(scenario, progress=False))
    finally:
        guard._slice = original
        _UNCOUNTED.discard(counted_slice.__code__)
    return {
        "ops": int(result.summary["ops"].sum()),
        **totals,
        "events": events,
        "by_function": by_function,
    }


# Where a function's bytecodes go, by its file: the event machinery (SimPy, storsim's
# event loop, its stations and its workload threads: what any model of threads on CPUs
# and devices runs), an operation's bookkeeping (deciding its path, drawing its size and
# offset, recording its row) and the semantics (the union file system, the backends'
# page and dentry caches, the conflict tracker, the devices' bandwidth).
PARTS = {
    "events": ("simpy/", "storsim/guard.py", "storsim/devices/station.py",
               "storsim/devices/cpu.py", "storsim/run/workload.py"),
    "operation": ("storsim/run/lean.py", "storsim/run/operation.py", "storsim/run/ops.py",
                  "storsim/run/locks.py", "storsim/draws.py", "storsim/records.py"),
    "semantics": ("storsim/fs/", "storsim/backends/", "storsim/run/conflicts.py",
                  "storsim/devices/"),
}  # fmt: skip


def part(where: str, simpy_files: frozenset[str] = frozenset()) -> str:
    """The part (of :data:`PARTS`, or ``other``) of a ``file:line:function`` key; SimPy's
    files are named by their base name (``core.py``), given in ``simpy_files``."""
    path = where.split(":", 1)[0]
    if path in simpy_files:
        return "events"
    for name, prefixes in PARTS.items():
        if path.startswith(prefixes):
            return name
    return "other"


def references(size: int) -> dict[str, float]:
    """Bytecodes per customer of bench/run.py's M/M/1 queue, and per operation of each
    toy and of the copy-up floor (bench/toys.py), at ``size`` operations."""
    from run import mm1
    from toys import TOYS, copyup_floor

    copyup_floor(8)  # its imports of storsim, done before it is counted
    counted: dict[str, float] = {}
    served, totals, _ = _traced(lambda: mm1(size))
    counted["mm1"] = totals["bytecodes"] / served
    for name, toy in TOYS.items():
        done, totals, _ = _traced(lambda toy=toy: toy(size, None))  # type: ignore[misc]
        counted[f"toy_{name}"] = totals["bytecodes"] / done
    done, totals, _ = _traced(lambda: copyup_floor(size))
    counted["floor_copyup"] = totals["bytecodes"] / done
    return counted


def parts_table(size: int, workloads: list[str]) -> list[str]:
    """The ``--parts`` lines: per workload, the references' bytecodes and storsim's,
    split by :func:`part`, with the budgets the issue 13 targets set."""
    import simpy

    simpy_files = frozenset(p.name for p in Path(simpy.__file__).parent.rglob("*.py"))
    ref = references(size)
    lines = [
        f"bytecodes per operation at {size:,} operations "
        f"(the M/M/1 reference: {ref['mm1']:,.0f} per customer)",
        f"{'workload':<9} {'toy':>6} {'floor':>6} {'storsim':>8} {'events':>7} "
        f"{'operation':>10} {'semantics':>10} {'other':>6}",
    ]
    for name in workloads:
        c = count(name, size)
        ops = c["ops"]
        split = collections.Counter[str]()
        for where, n in c["by_function"].items():
            split[part(where, simpy_files)] += n
        floor = ref.get(f"floor_{name}")
        lines.append(
            f"{name:<9} {ref[f'toy_{name}']:>6.0f} "
            f"{(f'{floor:.0f}' if floor is not None else '-'):>6} {c['bytecodes'] / ops:>8.0f} "
            + " ".join(
                f"{split[p] / ops:>{w}.0f}"
                for p, w in (("events", 7), ("operation", 10), ("semantics", 10), ("other", 6))
            )
        )
    lines.append(
        "budgets at equal cost per bytecode: storsim / M/M/1 >= 1.0 needs at most "
        f"{ref['mm1']:,.0f} an operation; storsim / toy >= 0.5 twice the toy's"
    )
    return lines


def instructions(name: str, size: int) -> dict[str, Any]:
    """The machine instructions one more operation of workload ``name`` costs, from two
    runs under valgrind's cachegrind (``size // 2`` and ``3 * size // 2`` operations, the
    files of ``size`` operations both times).

    Returns:
        ``per_op`` (instructions), and ``runs``: (operations, instructions) of each run.
    """
    runs = []
    for n in (size // 2, 3 * size // 2):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [
                    "valgrind", "--tool=cachegrind", "--cache-sim=no",
                    f"--cachegrind-out-file={tmp}/cachegrind.out",
                    sys.executable, str(BENCH / "run.py"), "--child", name,
                    "--size", str(n), "--shape", str(size),
                ],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
        if refs is None:
            raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr}")
        ops = json.loads(out.stdout.strip().splitlines()[-1])["count"]
        runs.append((ops, int(refs.group(1).replace(",", ""))))
    (ops_a, ir_a), (ops_b, ir_b) = runs
    return {"per_op": (ir_b - ir_a) / (ops_b - ops_a), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", help=f"of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--size", type=int, default=20_000, help="operations per workload")
    parser.add_argument("--top", type=int, default=0, help="list the N costliest functions")
    parser.add_argument(
        "--valgrind", action="store_true", help="machine instructions per operation instead"
    )
    parser.add_argument(
        "--parts",
        action="store_true",
        help="storsim's bytecodes by part, beside the M/M/1 reference's, the toys' and the floor's",
    )
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if args.parts:
        for line in parts_table(args.size, args.workloads or list(WORKLOADS)):
            print(line, flush=True)
        return 0
    if args.valgrind:
        print(f"{'workload':<9} {'instructions/op':>16}   (operations, instructions) of each run")
        for name in args.workloads or WORKLOADS:
            c = instructions(name, args.size)
            print(f"{name:<9} {c['per_op']:>16.0f}   {c['runs']}", flush=True)
        return 0
    print(f"{'workload':<9} {'ops':>7} {'bytecodes/op':>13} {'calls/op':>9} "
          f"{'resumes/op':>11} {'events/op':>10}")  # fmt: skip
    tops = []
    for name in args.workloads or WORKLOADS:
        c = count(name, args.size)
        ops = c["ops"]
        print(
            f"{name:<9} {ops:>7} {c['bytecodes'] / ops:>13.1f} {c['calls'] / ops:>9.2f} "
            f"{c['resumes'] / ops:>11.2f} {c['events'] / ops:>10.3f}",
            flush=True,
        )
        tops.append((name, ops, c["by_function"]))
    for name, ops, by_function in tops if args.top else ():
        print(f"\n{name}: bytecodes per operation, by function")
        for where, n in by_function.most_common(args.top):
            print(f"  {n / ops:>8.1f}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
