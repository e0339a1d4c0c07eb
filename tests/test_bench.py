"""The benchmark script runs and prints what the README says it prints (no timing asserted:
the machine is shared; the figures are the script's business, not a test's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.mark.slow
def test_bench_prints_every_ratio_and_ends_with_ratio_min() -> None:
    """A small run (every workload, the reference twice, a 20-run sweep on 1 and 2
    processes) prints a ratio per workload, the sweep's speed-up, and ratio_min last."""
    out = subprocess.run(
        [sys.executable, str(BENCH), "--size", "1200", "--repeat", "1", "--sweep"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    lines = out.strip().splitlines()
    ratios = dict(re.findall(r"^ratio_(\w+)=([0-9.]+)$", out, flags=re.M))
    assert set(ratios) == {"lookup", "copyup", "rmw", "min"}, out
    assert all(float(v) > 0 for v in ratios.values()), out
    assert float(ratios["min"]) == min(float(ratios[w]) for w in ("lookup", "copyup", "rmw"))
    assert lines[-1] == f"ratio_min={ratios['min']}"
    speedup = re.search(r"^sweep_speedup=([0-9.]+)$", out, flags=re.M)
    assert speedup is not None, out
    assert float(speedup.group(1)) > 0, out
    # each workload ran its operations, in its own process with its own RSS
    rows = re.findall(r"^(lookup|copyup|rmw)\s+(\d+)\s+[0-9.]+\s+\d+\s+([0-9.]+)", out, flags=re.M)
    assert {name for name, _, _ in rows} == {"lookup", "copyup", "rmw"}, out
    assert all(int(count) > 0 and float(rss) > 0 for _, count, rss in rows), out
