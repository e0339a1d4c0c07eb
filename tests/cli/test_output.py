"""The command line's tables: each unit written one way, columns aligned, nothing hidden."""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Any

import pandas as pd

import storsim
from storsim.cli import print_summary, print_sweep_summary
from storsim.stats.summary import empty_row, errors_table


def test_summary_table_writes_each_unit_its_way(tiny: dict[str, Any]) -> None:
    """Milliseconds with 3 decimals below 10 ms and 1 above, bytes in binary units, a dash
    for a missing value; conflicts, errors and hidden image entries get their own lines."""
    result = storsim.simulate(storsim.load_scenario(tiny))
    quick = empty_row("volume") | {
        "ops": 4, "mean_ms": 0.0073, "p50_ms": 0.005, "p95_ms": 9.9994, "p99_ms": 12.34,
        "max_ms": 250.0, "throughput_ops_s": 2.25, "bytes_read": 1536, "bytes_written": 2**30,
        "copy_ups": 0, "copy_up_bytes": 0, "errors": 1, "lost_updates": 2, "lock_waits": 1,
        "lock_wait_p50_ms": 0.25, "lock_wait_p99_ms": 0.25,
    }  # fmt: skip
    idle = empty_row("tmpfs") | {"data_lost_bytes": 3 * 2**20}
    summary = pd.DataFrame([quick, idle])
    mounts = pd.DataFrame(
        {"target": ["/data", "/data"], "storage": ["volume"] * 2, "hidden_entries": [1, 1]}
    )
    shown = dataclasses.replace(
        result,
        summary=summary,
        errors=errors_table([("volume", "EROFS", 1)]),
        mounts=mounts,
        comparison=None,
    )
    out = io.StringIO()
    print_summary(shown, out)
    assert out.getvalue().splitlines()[2:] == [
        "storage  ops  mean ms  p50 ms  p95 ms  p99 ms  max ms  ops/s     read  written"
        "  copy-ups  copied  errors     lost",
        "-------  ---  -------  ------  ------  ------  ------  -----  -------  -------"
        "  --------  ------  ------  -------",
        "volume     4    0.007   0.005   9.999    12.3   250.0    2.2  1.5 KiB  1.0 GiB"
        "         0     0 B       1      0 B",
        "tmpfs      0        -       -       -       -       -    0.0      0 B      0 B"
        "         0     0 B       0  3.0 MiB",
        "",
        "conflicts and lifecycle",
        "",
        "storage  lost updates  torn  stale reads  lock waits  wait p50 ms  wait p99 ms"
        "  lock errors  data lost  orphaned vols  orphaned",
        "-------  ------------  ----  -----------  ----------  -----------  -----------"
        "  -----------  ---------  -------------  --------",
        "volume              2     0            0           1        0.250        0.250"
        "            0        0 B              0       0 B",
        "tmpfs               0     0            0           0            -            -"
        "            0    3.0 MiB              0       0 B",
        "",
        "errors: volume EROFS x1",
        "note: the volume mount at /data hides 1 image entry below it",
    ]


def test_sweep_summary_shows_mean_and_half_width() -> None:
    """Each metric is its mean and, when the interval is wider than float noise, the half
    width of its 95 % interval; a group of failed runs says so and shows dashes."""
    nan = math.nan
    summary = pd.DataFrame(
        {
            "x": [1, 1, 2],
            "storage": ["volume", "tmpfs", None],
            "runs": [3, 3, 2],
            "failed": [0, 0, 2],
            "ops_mean": [10.0, 2.5, nan],
            "ops_ci_low": [8.0, 2.5, nan],
            "ops_ci_high": [12.0, 2.5, nan],
            "mean_ms_mean": [0.5, 12.0, nan],
            "mean_ms_ci_low": [0.4, 11.75, nan],
            "mean_ms_ci_high": [0.6, 12.25, nan],
        }
    )
    out = io.StringIO()
    print_sweep_summary(summary, ["x"], out)
    assert out.getvalue().splitlines() == [
        "x  storage          runs    ops       mean ms",
        "-  -------  ------------  -----  ------------",
        "1   volume             3  10 ±2  0.500 ±0.100",
        "1    tmpfs             3    2.5   12.0 ±0.250",
        "2        -  2 (2 failed)      -             -",
    ]
