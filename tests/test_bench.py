"""The benchmark's machinery: rounds that alternate, ratios taken within a round, toys
that simulate what storsim simulates, the same mixes at every size, nothing collected
in a timed region, and the lines the README quotes (no timing asserted: the machine is
shared; the figures are the script's business, not a test's)."""

from __future__ import annotations

import collections
import gc
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _bench()


def test_each_round_measures_everything_once_and_alternates_its_order() -> None:
    """Every round runs the reference, each workload and each toy once; odd rounds run
    them in the reverse order of even ones."""
    rounds = run.schedule(4)
    everything = {
        "reference", *run.WORKLOADS, *(f"toy_{w}" for w in run.WORKLOADS), "floor_copyup"
    }  # fmt: skip
    assert all(sorted(order) == sorted(everything) for order in rounds)
    assert rounds[0] == rounds[2]
    assert rounds[1] == rounds[3] == rounds[0][::-1]


def test_each_measurement_is_a_fresh_process_of_this_interpreter() -> None:
    """A measurement's command starts this Python on the script, as a child."""
    cmd = run.child_command("copyup", 1000, "summary")
    assert cmd[:2] == [sys.executable, str(BENCH)]
    assert cmd[2:] == ["--child", "copyup", "--size", "1000", "--ops", "summary"]


def _round(ref: float, rates: dict[str, tuple[float, float]]) -> dict[str, dict[str, Any]]:
    out = {"reference": {"rate": ref, "count": 1, "peak_rss_mib": 10.0}}
    for name, (rate, toy) in rates.items():
        out[name] = {"rate": rate, "count": 2, "peak_rss_mib": 20.0}
        out[f"toy_{name}"] = {"rate": toy, "count": 2, "peak_rss_mib": 5.0}
    return out


def test_ratios_are_medians_of_per_round_ratios_with_their_range() -> None:
    """A ratio compares two measurements of one round: a round where the machine was
    twice as slow for both changes nothing, and the median of the ratios is not the
    ratio of the median rates."""
    rounds = [
        _round(100.0, {"lookup": (100.0, 200.0), "copyup": (50.0, 500.0), "rmw": (90.0, 90.0)}),
        _round(50.0, {"lookup": (50.0, 100.0), "copyup": (25.0, 250.0), "rmw": (45.0, 45.0)}),
        _round(100.0, {"lookup": (70.0, 100.0), "copyup": (80.0, 400.0), "rmw": (90.0, 30.0)}),
    ]
    summary = run.summarise(rounds)
    assert summary["lookup"]["ratio"] == 1.0  # 1.0, 1.0, 0.7
    assert summary["lookup"]["ratio_range"] == (0.7, 1.0)
    assert summary["lookup"]["toy_ratio"] == 0.5  # 0.5, 0.5, 0.7
    assert summary["lookup"]["toy_ratio_range"] == (0.5, 0.7)
    assert summary["copyup"]["ratio"] == 0.5  # 0.5, 0.5, 0.8; median rates: 50 / 100
    assert summary["rmw"]["toy_ratio"] == 1.0
    assert summary["rmw"]["toy_ratio_range"] == (1.0, 3.0)
    assert summary["rmw"]["peak_rss_mib"] == 20.0
    assert "floor_ratio" not in summary["lookup"]  # only a workload measured with a floor
    lines = run.report(summary)
    assert "ratio_copyup=0.500" in lines
    assert "toy_ratio_lookup=0.500" in lines


def test_the_floor_is_compared_with_its_toy_round_by_round() -> None:
    """The copy-up floor's ratio is to the toy of the same round (the median of the
    per-round ratios, with their range), and the report prints it."""
    rounds = [_round(100.0, {w: (50.0, 400.0) for w in ("lookup", "copyup", "rmw")})
              for _ in range(3)]  # fmt: skip
    for r, floor in zip(rounds, (300.0, 200.0, 380.0), strict=True):
        r["floor_copyup"] = {"rate": floor, "count": 2, "peak_rss_mib": 5.0}
    rounds[1]["toy_copyup"]["rate"] = 200.0  # a slow round: the floor is its toy's speed
    summary = run.summarise(rounds)
    assert summary["copyup"]["floor_ratio"] == 0.95  # 0.75, 1.0, 0.95
    assert summary["copyup"]["floor_ratio_range"] == (0.75, 1.0)
    assert "floor_ratio_copyup=0.950" in run.report(summary)


@pytest.mark.parametrize("workload", ["lookup", "copyup", "rmw"])
def test_a_toy_simulates_as_many_operations_as_storsim_records(workload: str) -> None:
    """Each toy model counts the operations of its workload as storsim records them."""
    storsim_ops = run.measure(workload, 2400, "summary")["count"]
    toy_ops = run.measure(f"toy_{workload}", 2400, "summary")["count"]
    assert toy_ops == storsim_ops > 0
    if workload == "copyup":  # and so does the floor
        assert run.measure("floor_copyup", 2400, "summary")["count"] == storsim_ops


def test_quick_and_full_runs_have_the_same_mix() -> None:
    """--quick scales the files with the operations: the same share of cold lookups and
    of copy-ups (each file written about 10 times by each container) as the full run."""
    quick, full = run.SIZES["quick"], run.SIZES["full"]
    assert run._copyup_files(full) == 10_000
    assert run._copyup_files(quick) / quick == run._copyup_files(full) / full
    assert run._lookup_files_per_layer(quick) / quick == run._lookup_files_per_layer(full) / full
    files = run.copyup_scenario(quick)["images"]["app"]["layers"][0]["generate"][0]["count"]
    assert files == run._copyup_files(quick)


def test_no_collection_runs_in_a_timed_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark never calls gc.collect: one run per fresh process, so no repeat
    pays for the garbage of the one before; the only collection timed is the one
    ``storsim.simulate`` makes itself before its run (what a user's call pays too)."""
    callers: list[str] = []

    def collect(*args: Any) -> int:
        callers.append(sys._getframe(1).f_globals["__name__"])
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    for name in ("reference", "toy_copyup"):
        run.measure(name, 600, "full")
    assert callers == []
    run.measure("copyup", 600, "full")
    assert callers == ["storsim.simulation"]


@pytest.mark.slow
def test_bench_prints_every_ratio_and_ends_with_both_minima() -> None:
    """A small run (two rounds, a 20-run sweep on 1 and 2 processes) prints a ratio to
    the reference and one to the toy per workload, the sweep's speed-up, and ends with
    ratio_min then toy_ratio_min, the smallest of each."""
    out = subprocess.run(
        [sys.executable, str(BENCH), "--size", "1200", "--rounds", "2", "--sweep"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    lines = out.strip().splitlines()
    for prefix in ("ratio", "toy_ratio"):
        ratios = dict(re.findall(rf"^{prefix}_(\w+)=([0-9.]+)$", out, flags=re.M))
        assert set(ratios) == {"lookup", "copyup", "rmw", "min"}, out
        assert all(float(v) > 0 for v in ratios.values()), out
        assert float(ratios["min"]) == min(float(ratios[w]) for w in run.WORKLOADS)
    assert re.fullmatch(r"ratio_min=[0-9.]+", lines[-2]), out
    assert re.fullmatch(r"toy_ratio_min=[0-9.]+", lines[-1]), out
    speedup = re.search(r"^sweep_speedup=([0-9.]+)$", out, flags=re.M)
    assert speedup is not None, out
    assert float(speedup.group(1)) > 0, out
    # each workload ran its operations, in its own processes, with their RSS
    rows = re.findall(r"^(lookup|copyup|rmw)\s+(\d+)\s+\d+ .* ([0-9.]+)$", out, flags=re.M)
    assert {name for name, _, _ in rows} == {"lookup", "copyup", "rmw"}, out
    assert all(int(count) > 0 and float(rss) > 0 for _, count, rss in rows), out


def test_the_opcode_counter_counts_the_same_twice_and_every_event() -> None:
    """bench/opcodes.py counts the same bytecodes in every function of storsim and the
    same events in two runs of a workload (what makes counts comparable across changes;
    the libraries' first-use work, such as compiling a regular expression, is done once
    a process), every event the loop processes (at least one per operation: each costs
    a CPU burst), and leaves no tracer behind."""
    spec = importlib.util.spec_from_file_location("bench_opcodes", BENCH.parent / "opcodes.py")
    assert spec is not None
    assert spec.loader is not None
    opcodes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(opcodes)
    before = sys.gettrace()
    first, second = (opcodes.count("copyup", 400) for _ in range(2))
    assert sys.gettrace() is before

    def own(counts: dict[str, Any]) -> dict[str, int]:
        return {f: n for f, n in counts["by_function"].items() if f.startswith("storsim/")}

    assert own(first) == own(second)
    assert first["events"] == second["events"]
    assert first["ops"] == 400
    assert first["events"] >= first["ops"]
    assert first["bytecodes"] > first["calls"] > first["ops"]
    assert sum(first["by_function"].values()) == first["bytecodes"]


def test_the_parts_split_every_bytecode_and_the_floor_counts_none_of_its_imports() -> None:
    """``--parts``: every function of a count falls in one part (the parts sum to the
    total), storsim's own files in the part their folder names, and the floor's count
    per operation does not carry its first imports of storsim (it stays near the
    toy's: a burst and a row more an operation, not thousands of bytecodes)."""
    spec = importlib.util.spec_from_file_location("bench_opcodes", BENCH.parent / "opcodes.py")
    assert spec is not None
    assert spec.loader is not None
    opcodes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(opcodes)
    simpy_files = frozenset({"core.py", "events.py"})
    assert opcodes.part("core.py:100:step", simpy_files) == "events"
    assert opcodes.part("storsim/devices/station.py:229:timed", simpy_files) == "events"
    assert opcodes.part("storsim/run/lean.py:201:_write", simpy_files) == "operation"
    assert opcodes.part("storsim/fs/overlay.py:1021:open_write", simpy_files) == "semantics"
    assert opcodes.part("storsim/devices/caches.py:77:access", simpy_files) == "semantics"
    assert opcodes.part("<string>:2:__init__", simpy_files) == "other"
    counted = opcodes.count("copyup", 400)
    parts = collections.Counter(opcodes.part(w, simpy_files) for w in counted["by_function"])
    assert {"events", "operation", "semantics"} <= set(parts) <= set(opcodes.PARTS) | {"other"}
    assert sum(counted["by_function"].values()) == counted["bytecodes"]
    refs = opcodes.references(2000)
    assert refs["toy_copyup"] < refs["floor_copyup"] < 2 * refs["toy_copyup"], refs
    assert refs["mm1"] > refs["toy_lookup"] > 0
