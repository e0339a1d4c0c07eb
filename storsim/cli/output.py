"""What the command line prints: the verdict first, then tables for people, JSON for machines.

Like a car's dashboard, it shows the few numbers a driver needs and hides the engine:
:func:`print_summary` opens with the verdict (:mod:`storsim.report.verdict`: each
placement of the compared path in one line, best first, and why the others lose; or
what each storage choice did), then one row per storage choice (split by remote where
one storage choice hides two backends: ``distributed_bind (nas, nfs)``) in a latency
table and an operations table, conflicts and lifecycle when anything happened there,
each container's start-up when one waited for Docker to fill a new volume,
errors with the workloads and paths they come from, the image entries each mount hides,
and the placements in full. :func:`print_sweep_summary` prints a mean and 95 %
confidence interval per grid point, and :func:`result_json` the ``--json`` document
(its ``verdict`` object first). The tables are :class:`storsim.cli.tables.Table` objects,
written as text that fits the terminal, CSV or Markdown (``--format``); numbers are
written by :mod:`storsim.report.format`, as in the HTML report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import pandas as pd

from storsim.cli.tables import Column, Table, kind_of, render, terminal_width
from storsim.report.format import short_label
from storsim.report.placements import describe_placement, placement_label
from storsim.report.verdict import (
    RULE,
    VERDICT_COLUMNS,
    Verdict,
    judge,
    verdict_frame,
    verdict_json,
    verdict_lines,
)
from storsim.simulation import Result
from storsim.stats.series import remote_profiles, series_labels, series_summary
from storsim.stats.summary import (
    CONFLICT_COLUMNS,
    LATENCY_COLUMNS,
    LIFECYCLE_COLUMNS,
    errors_by_errno,
    plain_value,
)
from storsim.sweeps.summary import shown_metrics

__all__ = [
    "print_summary",
    "print_sweep_summary",
    "result_json",
    "summary_parts",
    "sweep_warnings",
]


def sweep_warnings(frame: pd.DataFrame, params: Sequence[str]) -> list[str]:
    """The warnings of a sweep: grid points whose runs simulated no operation.

    Args:
        frame: a :func:`storsim.sweep` frame.
        params: its grid parameters.
    """
    ran = frame[frame["error"].isna()]
    if "placement" in ran.columns:
        ran = ran[ran["placement"].isna()]
    if not len(ran):
        return []
    work = ran.assign(_n=ran["ops"].fillna(0) + ran.get("locks", 0))
    per_run = work.groupby("seed", sort=False)["_n"].sum()
    idle = per_run[per_run == 0].index
    if not len(idle):
        return []
    first = ran[ran["seed"] == idle[0]].iloc[0]
    point = ", ".join(f"{p}={first[p]}" for p in params) or "the scenario"
    return [
        f"{len(idle)} of {len(per_run)} runs simulated no operation "
        f"(first: {point}, seed {first['seed']})"
    ]


def print_sweep_summary(
    summary: pd.DataFrame,
    params: Sequence[str],
    out: TextIO,
    *,
    fmt: str = "table",
    width: int | None = None,
) -> None:
    """Print a :func:`storsim.summarize` table: mean +-95% CI half-width per metric.

    Args:
        summary: the summary frame.
        params: its grid parameters.
        out: where to write.
        fmt: ``"table"``, ``"csv"`` or ``"markdown"``.
        width: the terminal's width (default: this terminal's, or 80).
    """
    frame = summary.copy()
    runs = []
    for r in frame.to_dict("records"):
        runs.append(f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else ""))
    frame["runs_text"] = runs if fmt != "csv" else frame["runs"]
    columns = [Column(p, p) for p in params]
    label = "series" if "series" in frame.columns else "storage"
    columns.append(Column(label, "storage"))
    if "placement" in frame.columns:
        columns.append(Column("placement", "placement"))
    keys = len(columns)
    columns.append(Column("runs_text", "runs", "text" if fmt != "csv" else "int"))
    if fmt == "csv":
        columns.append(Column("failed", "failed", "int"))
    columns += [Column(c, short_label(c, unit=True), "ci") for c in shown_metrics(summary)]
    table = Table("", frame, columns, keys=keys)
    render([table], fmt, out, width=width or terminal_width())


def _latency_table(frame: pd.DataFrame, first: str, heading: str, title: str) -> Table:
    columns = [Column(first, heading), Column("ops", "ops", "int")]
    columns += [Column(c, short_label(c), "ms") for c in LATENCY_COLUMNS]
    return Table(title, frame, columns)


#: The operations table's columns, after the row's name.
_OPERATIONS = (
    "ops", "throughput_ops_s", "bytes_read", "bytes_written", "copy_ups", "copy_up_bytes",
    "errors", "locks",
)  # fmt: skip


def _operations_table(frame: pd.DataFrame, first: str, heading: str, title: str) -> Table:
    columns = [Column(first, heading)]
    columns += [Column(c, short_label(c), kind_of(c)) for c in _OPERATIONS]
    return Table(title, frame, columns)


def _conflict_table(frame: pd.DataFrame, first: str, heading: str, title: str) -> Table | None:
    """Conflicts and lifecycle per row: only when something happened, and only the
    columns where something did (the others are named in a note)."""
    counted = [c for c in (*CONFLICT_COLUMNS, *LIFECYCLE_COLUMNS) if c in frame.columns]
    counted = [c for c in counted if not c.endswith("_ms") and c != "locks"]
    if not len(frame) or not frame[counted].fillna(0).to_numpy().any():
        return None
    shown: list[str] = []
    zero: list[str] = []
    for column in (*CONFLICT_COLUMNS, *LIFECYCLE_COLUMNS):
        if column == "locks":  # in the operations table
            continue
        values = frame[column]
        present = values.notna() if column.endswith("_ms") else values.fillna(0) != 0
        (shown if present.any() else zero).append(column)
    notes = [f"(0 for every row: {', '.join(short_label(c) for c in zero)})"] if zero else []
    columns = [Column(first, heading)]
    columns += [Column(c, short_label(c).removesuffix(" ms"), kind_of(c)) for c in shown]
    return Table(title, frame, columns, notes=notes)


def _startup_table(result: Result) -> Table | None:
    """Each container run's start-up, when one waited for Docker's copy into a volume."""
    startup = result.startup
    if not len(startup) or not (startup["startup_ms"] > 0).any():
        return None
    columns = [
        Column("container", "container"),
        Column("t_s", "at (s)", "rate"),
        Column("startup_ms", "start-up", "ms"),
        Column("copy_bytes", "copied", "bytes"),
    ]
    notes = [
        "(Docker copies the image's files at a volume's mount point into a new, empty "
        "volume before the container starts; `volume: {nocopy: true}` skips it)"
    ]
    return Table("container start-up (ms)", startup, columns, notes=notes)


def _verdict_parts(v: Verdict, fmt: str) -> list[Table | str]:
    frame, dropped = verdict_frame(v)
    first = "placement" if v.kind == "placements" else "storage"
    columns = [Column("rank", "#", "int")] if v.kind == "placements" else []
    columns.append(Column(first, first))
    if fmt != "table":  # a terminal gets the descriptions as a legend under the table
        columns.append(Column("description", "description"))
    columns += [
        Column(m, short_label(m, unit=True), kind_of(m))
        for m in VERDICT_COLUMNS
        if m in frame.columns
    ]
    notes = []
    if dropped:
        notes.append(f"(0 for every {first}: {', '.join(short_label(m) for m in dropped)})")
    parts: list[Table | str] = [
        f"VERDICT: {v.question}",
        "",
        Table("", frame, columns, notes=notes),
        "",
    ]
    parts += verdict_lines(v)
    if fmt == "table":
        parts += ["", "placements:" if v.kind == "placements" else "storage choices:"]
        size = max((len(r.label) for r in v.rows), default=0)
        parts += [f"  {r.label.ljust(size)}  {r.description}" for r in v.rows]
    if v.kind == "placements":
        parts += [f"ranking: {RULE}"]
    return parts


def summary_parts(
    result: Result, *, fmt: str = "table", judged: Verdict | None = None
) -> list[Table | str]:
    """What :func:`print_summary` prints, as tables and lines (the verdict first).

    Args:
        result: a run's result.
        fmt: the format it will be written in (``table``: the descriptions of the
            verdict's rows as a legend; ``csv`` and ``markdown``: as a column).
        judged: its verdict, if already made (:func:`storsim.report.verdict.judge`).
    """
    s = result.scenario
    v = judged if judged is not None else judge(result)
    summary = series_summary(result)
    n_ops, n_locks = int(result.summary["ops"].sum()), int(result.summary["locks"].sum())
    head = f"{s.name}: seed {result.seed}, {result.sim_time_s:.3f} s simulated, {n_ops} operations"
    if n_locks:
        head += f" and {n_locks} lock calls"
    parts: list[Table | str] = [head, ""]
    parts += _verdict_parts(v, fmt)
    parts.append("")
    parts.append(_latency_table(summary, "series", "storage", "latency per storage choice (ms)"))
    parts.append("")
    parts.append(_operations_table(summary, "series", "storage", "operations"))
    conflicts = _conflict_table(
        summary, "series", "storage", "conflicts and lifecycle (lock waits in ms)"
    )
    if conflicts is not None:
        parts += ["", conflicts]
    startup = _startup_table(result)
    if startup is not None:
        parts += ["", startup]
    if result.by_service["service"].nunique() > 1:
        frame = result.by_service.assign(
            label=result.by_service["service"] + " " + result.by_service["storage"]
        )
        table = _latency_table(frame, "label", "service storage", "by service (ms)")
        keep = {"label", "ops", "mean_ms", "p50_ms", "p99_ms", "p999_ms", "max_ms"}
        parts += ["", Table(table.title, frame, [c for c in table.columns if c.key in keep])]
    hiding = result.mounts[result.mounts["hidden_entries"] > 0].drop_duplicates(
        ["target", "hidden_entries"]
    )
    if len(hiding):
        parts.append("")
    for r in hiding.to_dict("records"):
        parts.append(
            f"note: the {r['storage']} mount at {r['target']} hides {r['hidden_entries']} "
            f"image entr{'y' if r['hidden_entries'] == 1 else 'ies'} below it"
        )
    if result.comparison is not None and s.compare is not None:
        comparison = _labelled(result)
        where = f"where should {s.compare.path} live? (operations on that path)"
        parts += ["", _latency_table(comparison, "label", "placement", f"{where}: latency (ms)")]
        parts += ["", _operations_table(comparison, "label", "placement", f"{where}: operations")]
        conflicts = _conflict_table(comparison, "label", "placement", f"{where}: conflicts")
        if conflicts is not None:
            parts += ["", conflicts]
        if "startup_max_ms" in comparison and (comparison["startup_max_ms"] > 0).any():
            columns = [Column("label", "placement"), Column("startup_max_ms", "slowest", "ms")]
            title = f"{where}: start-up (ms)"
            parts += ["", Table(title, comparison, columns)]
    return parts


def _labelled(result: Result) -> pd.DataFrame:
    """``Result.comparison`` with a display ``label`` and a ``description`` per placement."""
    assert result.comparison is not None
    names = [str(p) for p in result.comparison["placement"]]
    frame = result.comparison.copy()
    frame.insert(1, "label", [placement_label(p, result.scenario) for p in names])
    frame.insert(2, "description", [describe_placement(p, result.scenario) for p in names])
    return frame


def print_summary(
    result: Result,
    out: TextIO,
    *,
    fmt: str = "table",
    width: int | None = None,
    judged: Verdict | None = None,
) -> None:
    """Print the human-readable summary of a run, its verdict first.

    Args:
        result: a run's result.
        out: where to write.
        fmt: ``"table"`` (aligned text that fits ``width``), ``"csv"`` or ``"markdown"``.
        width: the terminal's width (default: this terminal's, or 80).
        judged: its verdict, if already made.
    """
    parts = summary_parts(result, fmt=fmt, judged=judged)
    render(parts, fmt, out, width=width or terminal_width())


# --- JSON --------------------------------------------------------------------------


def _row_json(row: Mapping[Any, Any], errors: dict[str, Any]) -> dict[str, Any]:
    """One storage choice's (or series') entry of the JSON document."""
    return {
        "ops": plain_value(row["ops"]),
        "latency_ms": {
            k: plain_value(row[f"{k}_ms"])
            for k in ("min", "mean", "std", "p50", "p95", "p99", "p999", "p9999", "max")
        },
        "throughput_ops_s": plain_value(row["throughput_ops_s"]),
        "bytes_read": plain_value(row["bytes_read"]),
        "bytes_written": plain_value(row["bytes_written"]),
        "copy_ups": plain_value(row["copy_ups"]),
        "copy_up_bytes": plain_value(row["copy_up_bytes"]),
        "errors": errors,
        "data_lost_bytes": plain_value(row["data_lost_bytes"]),
        "conflicts": {
            "lost_updates": plain_value(row["lost_updates"]),
            "lost_records": plain_value(row["lost_records"]),
            "torn_writes": plain_value(row["torn_writes"]),
            "stale_reads": plain_value(row["stale_reads"]),
            "locks": plain_value(row["locks"]),
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


def _entries(table: pd.DataFrame, errors: pd.DataFrame, key: str) -> dict[str, Any]:
    """``{name: entry}`` of a summary table, each with its errors by errno."""
    out: dict[str, Any] = {}
    for row in table.to_dict("records"):
        name = str(row[key])
        mine = errors[errors["storage"] == name]
        counts = {str(e): plain_value(c) for e, c in zip(mine["errno"], mine["count"], strict=True)}
        out[name] = _row_json(row, counts)
        if key != "storage":
            out[name]["storage"] = row["storage"]
    return out


def result_json(result: Result, *, judged: Verdict | None = None) -> dict[str, Any]:
    """The machine-readable summary of a run (the ``--json`` output).

    Returns:
        ``{"verdict", "scenario", "seed", "sim_time_s", "storage": {CHOICE: {...}},
        "mounts", "startup", "comparison"}`` (``startup``: one entry per ``docker run``,
        :data:`storsim.stats.STARTUP_COLUMNS`; the comparison's placements carry
        ``startup_max_ms``, their slowest container start-up), and ``"series"`` (the
        same entries per series, ``"distributed_bind (nas, nfs)"``) when a storage
        choice is split by remote. Latencies in ms (``latency_ms``: min, mean, std,
        p50, p95, p99, p999 (p99.9), p9999 (p99.99), max, over file operations; lock
        calls are counted under ``conflicts.locks``); NaN as null. ``errors`` per
        storage choice counts every failure by errno, lock calls (ENOLCK) included.
    """
    out: dict[str, Any] = {
        "verdict": verdict_json(judged if judged is not None else judge(result)),
        "scenario": result.scenario.name,
        "seed": result.seed,
        "sim_time_s": plain_value(result.sim_time_s),
        "storage": _entries(result.summary, result.errors, "storage"),
    }
    series = series_summary(result)
    if (series["series"] != series["storage"]).any():
        errors = result.errors.iloc[0:0]  # no errno per series without the rows
        if result.ops_mode == "full":
            labels = series_labels(result.ops, result.mounts, remote_profiles(result.scenario))
            errors = errors_by_errno(result.ops.assign(storage=labels))
        out["series"] = _entries(series, errors, "series")
    out["mounts"] = [
        {k: plain_value(v) for k, v in row.items()} for row in result.mounts.to_dict("records")
    ]
    out["startup"] = [
        {k: plain_value(v) for k, v in row.items()} for row in result.startup.to_dict("records")
    ]
    if result.comparison is not None:
        out["comparison"] = {
            "path": result.scenario.compare.path if result.scenario.compare else None,
            "placements": [
                {k: plain_value(v) for k, v in row.items()}
                for row in _labelled(result).to_dict("records")
            ],
        }
    return out
