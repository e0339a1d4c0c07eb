"""What the command line prints: fixed-width tables for people, JSON for machines.

Like a car's dashboard, it shows the few numbers a driver needs and hides the engine:
:func:`print_summary` prints one row per storage choice (then conflicts, errors, hidden
image entries and the placement comparison when there are any),
:func:`print_sweep_summary` a mean and 95 % confidence interval per grid point, and
:func:`result_json` the ``--json`` document. Numbers are written by
:mod:`storsim.report.format`, as in the HTML report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TextIO

import pandas as pd

from storsim.report.format import format_bytes, format_count, format_ms, format_text
from storsim.simulation import Result
from storsim.stats.summary import plain_value

__all__ = ["print_summary", "print_sweep_summary", "result_json"]


#: The metrics :func:`print_sweep_summary` shows: (column, heading).
_SWEEP_METRICS = (
    ("ops", "ops"),
    ("mean_ms", "mean ms"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("throughput_ops_s", "ops/s"),
    ("copy_ups", "copy-ups"),
    ("errors", "errors"),
)


def print_sweep_summary(summary: pd.DataFrame, params: Sequence[str], out: TextIO) -> None:
    """Print a :func:`storsim.summarize` table: mean +-95% CI half-width per metric."""
    placement = "placement" in summary.columns
    metrics = [(c, h) for c, h in _SWEEP_METRICS if f"{c}_mean" in summary.columns]
    header = [*params, "storage", *(["placement"] if placement else []), "runs"]
    header += [h for _, h in metrics]
    rows = []
    for r in summary.to_dict("records"):
        row = [str(r[p]) for p in params]
        row.append(format_text(r["storage"]))
        if placement:
            row.append(format_text(r["placement"]))
        row.append(f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else ""))
        for column, _ in metrics:
            mean, high = float(r[f"{column}_mean"]), float(r[f"{column}_ci_high"])
            text = format_ms(mean) if column.endswith("_ms") else format_count(mean)
            half = high - mean
            if math.isfinite(half) and half > 1e-9 * abs(mean):  # not float noise
                text += " ±" + (format_ms(half) if column.endswith("_ms") else format_count(half))
            row.append(text)
        rows.append(row)
    _table(rows, header, out)


def result_json(result: Result) -> dict[str, Any]:
    """The machine-readable summary of a run (the ``--json`` output).

    Returns:
        ``{"scenario", "seed", "sim_time_s", "storage": {CHOICE: {...}}, "mounts",
        "comparison"}``; latencies in ms, NaN as null.
    """
    storage: dict[str, Any] = {}
    errors = result.errors
    for row in result.summary.to_dict("records"):
        choice = row["storage"]
        mine = errors[errors["storage"] == choice]
        storage[choice] = {
            "ops": plain_value(row["ops"]),
            "latency_ms": {
                k: plain_value(row[f"{k}_ms"]) for k in ("mean", "p50", "p95", "p99", "max")
            },
            "throughput_ops_s": plain_value(row["throughput_ops_s"]),
            "bytes_read": plain_value(row["bytes_read"]),
            "bytes_written": plain_value(row["bytes_written"]),
            "copy_ups": plain_value(row["copy_ups"]),
            "copy_up_bytes": plain_value(row["copy_up_bytes"]),
            "errors": {
                str(e): plain_value(c) for e, c in zip(mine["errno"], mine["count"], strict=True)
            },
            "data_lost_bytes": plain_value(row["data_lost_bytes"]),
            "conflicts": {
                "lost_updates": plain_value(row["lost_updates"]),
                "torn_writes": plain_value(row["torn_writes"]),
                "stale_reads": plain_value(row["stale_reads"]),
                "lock_waits": plain_value(row["lock_waits"]),
                "lock_wait_ms": {
                    "p50": plain_value(row["lock_wait_p50_ms"]),
                    "p99": plain_value(row["lock_wait_p99_ms"]),
                },
                "lock_errors": plain_value(row["lock_errors"]),
            },
            "lifecycle": {
                "data_lost_bytes": plain_value(row["data_lost_bytes"]),
                "orphaned_volumes": plain_value(row["orphaned_volumes"]),
                "orphaned_bytes": plain_value(row["orphaned_bytes"]),
            },
        }
    out: dict[str, Any] = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "sim_time_s": plain_value(result.sim_time_s),
        "storage": storage,
        "mounts": [
            {k: plain_value(v) for k, v in row.items()} for row in result.mounts.to_dict("records")
        ],
    }
    if result.comparison is not None:
        out["comparison"] = {
            "path": result.scenario.compare.path if result.scenario.compare else None,
            "placements": [
                {k: plain_value(v) for k, v in row.items()}
                for row in result.comparison.to_dict("records")
            ],
        }
    return out


def _table(rows: list[list[str]], header: list[str], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    out.write(line + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in rows:
        out.write(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            + "\n"
        )


def _summary_rows(df: pd.DataFrame, first: str) -> list[list[str]]:
    rows = []
    for row in df.to_dict("records"):
        rows.append(
            [
                str(row[first]),
                f"{int(row['ops'])}",
                format_ms(row["mean_ms"]),
                format_ms(row["p50_ms"]),
                format_ms(row["p95_ms"]),
                format_ms(row["p99_ms"]),
                format_ms(row["max_ms"]),
                f"{float(row['throughput_ops_s']):.1f}"
                if math.isfinite(float(row["throughput_ops_s"]))
                else "-",
                format_bytes(row["bytes_read"]),
                format_bytes(row["bytes_written"]),
                f"{int(row['copy_ups'])}",
                format_bytes(row["copy_up_bytes"]),
                f"{int(row['errors'])}",
                format_bytes(row["data_lost_bytes"]),
            ]
        )
    return rows


_HEADER = [
    "ops", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "ops/s",
    "read", "written", "copy-ups", "copied", "errors", "lost",
]  # fmt: skip


_CONFLICT_HEADER = [
    "lost updates", "torn", "stale reads", "lock waits", "wait p50 ms", "wait p99 ms",
    "lock errors", "data lost", "orphaned vols", "orphaned",
]  # fmt: skip


def _conflict_table(df: pd.DataFrame, first: str, out: TextIO) -> None:
    """Conflicts and lifecycle per row, printed only when something happened."""
    cols = ["lost_updates", "torn_writes", "stale_reads", "lock_waits", "lock_errors"]
    cols += ["data_lost_bytes", "orphaned_volumes"]
    if not len(df) or not df[cols].to_numpy().any():
        return
    rows = [
        [
            str(r[first]),
            str(int(r["lost_updates"])),
            str(int(r["torn_writes"])),
            str(int(r["stale_reads"])),
            str(int(r["lock_waits"])),
            format_ms(r["lock_wait_p50_ms"]),
            format_ms(r["lock_wait_p99_ms"]),
            str(int(r["lock_errors"])),
            format_bytes(r["data_lost_bytes"]),
            str(int(r["orphaned_volumes"])),
            format_bytes(r["orphaned_bytes"]),
        ]
        for r in df.to_dict("records")
    ]
    out.write("\nconflicts and lifecycle\n\n")
    _table(rows, [first, *_CONFLICT_HEADER], out)


def print_summary(result: Result, out: TextIO) -> None:
    """Print the human-readable summary of a run."""
    s = result.scenario
    out.write(f"{s.name}: seed {result.seed}, {result.sim_time_s:.3f} s simulated, ")
    out.write(f"{int(result.summary['ops'].sum())} operations\n\n")
    _table(_summary_rows(result.summary, "storage"), ["storage", *_HEADER], out)
    _conflict_table(result.summary, "storage", out)
    if result.by_service["service"].nunique() > 1:
        out.write("\nby service\n\n")
        frame = result.by_service.assign(
            label=result.by_service["service"] + " " + result.by_service["storage"]
        )
        _table(_summary_rows(frame, "label"), ["service storage", *_HEADER], out)
    if len(result.errors):
        out.write("\nerrors: ")
        out.write(
            ", ".join(
                f"{r['storage']} {r['errno']} x{r['count']}"
                for r in result.errors.to_dict("records")
            )
        )
        out.write("\n")
    hiding = result.mounts[result.mounts["hidden_entries"] > 0].drop_duplicates(
        ["target", "hidden_entries"]
    )
    for r in hiding.to_dict("records"):
        out.write(
            f"note: the {r['storage']} mount at {r['target']} hides {r['hidden_entries']} "
            f"image entr{'y' if r['hidden_entries'] == 1 else 'ies'} below it\n"
        )
    if result.comparison is not None and s.compare is not None:
        out.write(f"\nwhere should {s.compare.path} live? (operations on that path)\n\n")
        _table(_summary_rows(result.comparison, "placement"), ["placement", *_HEADER], out)
        _conflict_table(result.comparison, "placement", out)
