"""A run's report: what one simulation did, section by section, in one HTML page.

Like a flight recorder's read-out after a test flight: the verdict first (in a box), then
the headline numbers, then each instrument's trace (latency, throughput, copy-ups,
errors, conflicts, lifecycle, mounts), the placements compared, and the flight plan
itself (the scenario, to fly it again).
:func:`result_sections` turns a :class:`~storsim.simulation.Result` into
:class:`~storsim.report.page.Section` objects; :func:`write_report` binds them into one
self-contained file.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML

from storsim.names import LOCK
from storsim.report.figures import (
    figure_comparison,
    figure_copy_ups,
    figure_errors,
    figure_latency_ccdf,
    figure_percentiles,
    figure_throughput,
)
from storsim.report.format import column_label, format_bytes
from storsim.report.page import Html, Section, write_html
from storsim.report.placements import describe_placement, placement_label
from storsim.report.verdict import Verdict, judge, verdict_frame
from storsim.simulation import Result
from storsim.stats.diagnostics import error_sources
from storsim.stats.series import REMOTE_STORAGE, remote_profiles, series_labels, series_summary
from storsim.stats.summary import CONFLICT_COLUMNS, LATENCY_COLUMNS, LIFECYCLE_COLUMNS

__all__ = ["result_sections", "write_report"]


def _scenario_yaml(data: Mapping[str, Any]) -> str:
    yaml = YAML()  # round-trip mode: keeps the scenario's key order (safe mode sorts)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # long strings on one line, as people write them
    out = io.StringIO()
    yaml.dump(dict(data), out)
    return out.getvalue()


#: The summary columns shown in the latency table; the others go to the operations
#: table (or the Conflicts and Lifecycle sections), so that every column is shown once.
_LATENCY = ("ops", *LATENCY_COLUMNS)

#: The columns that name a row of a summary, a per-service summary or a comparison.
_NAMES = ("service", "placement", "series", "storage")


def result_sections(result: Result, *, judged: Verdict | None = None) -> list[Section]:
    """The sections of a run's report, in page order.

    Always: the verdict (in a box), summary, latency tail, percentiles, throughput,
    copy-ups, errors, conflicts, mounts and the scenario; lifecycle events when there are
    any, the placement comparison when the scenario has one, and a per-service table when
    it has several services.

    Args:
        result: what :func:`storsim.simulate` returned.
        judged: its verdict, if already made (:func:`storsim.report.verdict.judge`).
    """
    v = judged if judged is not None else judge(result)
    ops = result.ops
    files = ops[ops["op"] != LOCK] if len(ops) else ops
    by = _series_of(result, files)
    summary = series_summary(result)
    no_ops = "No file operations were recorded."
    sections = [
        _verdict_section(v),
        Section(
            "Summary",
            _summary_tables(summary) if len(summary) else [no_ops],
            intro="One row per storage choice (a remote's mounts apart: "
            "distributed_bind (server, profile)). Latencies in ms over file operations "
            "(lock calls are counted apart, under Conflicts); throughput in file operations "
            "per simulated second; bytes in binary units (hover for the exact count).",
        ),
        Section(
            "Latency distribution",
            [figure_latency_ccdf(files, by=by)] if len(files) else [no_ops],
            intro="The fraction of operations at least as slow as each latency, on log "
            "scales: the curve's right end is the slowest operation, and the tail (1 % "
            "slower than p99, 0.1 % slower than p99.9) is as visible as the median. A long "
            "flat tail is the few slow operations (copy-ups, remote round trips, queueing) "
            "that the mean hides.",
        ),
        Section(
            "Latency percentiles",
            [figure_percentiles(summary, label="series")] if len(summary) else [no_ops],
            intro="Median (p50) and tail (p95, p99, p99.9, p99.99) latency per storage "
            "choice; the percentiles are spaced by their nines.",
        ),
        Section(
            "Throughput",
            [figure_throughput(files, span_s=result.sim_time_s, events=result.events, by=by)]
            if len(files)
            else [no_ops],
            intro="Completed file operations per simulated second; dotted lines mark "
            "container lifecycle events.",
        ),
        _copy_up_section(result),
        _error_section(result),
        _conflict_section(result, summary, by),
    ]
    if len(result.events):
        sections.append(_lifecycle_section(result, summary))
    sections.append(_mount_section(result))
    if result.comparison is not None:
        sections.append(_comparison_section(result, result.comparison))
    if result.by_service["service"].nunique() > 1:
        sections.append(
            Section(
                "By service",
                _summary_tables(result.by_service),
                intro="The summary per service: two services on one storage choice "
                "stay apart here.",
            )
        )
    sections.append(
        Section(
            "Scenario",
            [
                Html(
                    f'<pre class="yaml">'
                    f"{html.escape(_scenario_yaml(result.scenario.to_data()))}</pre>"
                )
            ],
            intro="The scenario as it was run (after --set overrides), to reproduce it: "
            "save as a .yaml file and run `storsim run FILE --seed "
            f"{result.seed}`.",
        )
    )
    return sections


def _series_of(result: Result, ops: pd.DataFrame) -> str | pd.Series:
    """What the figures split operations by: the storage choice, or the series where a
    storage choice has several remotes."""
    if not len(ops) or not (ops["storage"] == REMOTE_STORAGE).any():
        return "storage"
    return series_labels(ops, result.mounts, remote_profiles(result.scenario))


def _keys(summary: pd.DataFrame) -> list[str]:
    """The columns that name a summary row: service, series and storage choice, without
    the series where it splits nothing (then it is the storage choice)."""
    keys = [c for c in _NAMES if c in summary.columns]
    if "series" in keys and (summary["series"] == summary["storage"]).all():
        keys.remove("series")
    elif "series" in keys:
        keys.remove("storage")  # the series names it: "distributed_bind (nas, nfs)"
    return keys


def _summary_tables(summary: pd.DataFrame, *, conflicts: bool = False) -> list[Any]:
    """A summary frame as two tables: latency, then everything else but the conflict and
    lifecycle columns (which have sections of their own; with ``conflicts``, a third
    table)."""
    keys = _keys(summary)
    later = [c for c in (*CONFLICT_COLUMNS, *LIFECYCLE_COLUMNS) if c in summary.columns]
    latency = [c for c in summary.columns if c in _LATENCY]
    rest = [c for c in summary.columns if c not in _NAMES and c not in _LATENCY and c not in later]
    parts = [
        Html("<h3>Latency (ms)</h3>"),
        summary[keys + latency],
        Html("<h3>Operations, bytes and errors</h3>"),
        summary[keys + rest],
    ]
    if conflicts:
        parts += [Html("<h3>Conflicts and lifecycle</h3>"), summary[keys + later]]
    return parts


def _verdict_section(v: Verdict) -> Section:
    frame, dropped = verdict_frame(v)
    parts: list[Any] = [Html(f'<p class="headline">{html.escape(v.headline)}</p>'), frame]
    if dropped:
        first = "placement" if v.kind == "placements" else "storage choice"
        parts.append(f"0 for every {first}: {', '.join(column_label(m) for m in dropped)}.")
    lines = [f"{r.rank}. {r.label}: {r.why}" if r.rank else f"{r.label}: {r.why}" for r in v.rows]
    if v.kind == "placements":
        lines = lines[1:]
    lines += [f"{r.label}: cannot keep up: {', '.join(r.overload)}" for r in v.rows if r.overload]
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    if items:
        parts.append(Html(f'<ul class="verdict">{items}</ul>'))
    for note in v.caveats:
        parts.append(f"Note: {note}.")
    for line in v.errors:
        parts.append(Html(f'<p class="warning">errors: {html.escape(line)}</p>'))
    for w in v.warnings:
        if w.kind != "mass_errors":
            parts.append(Html(f'<p class="warning">warning: {html.escape(w.message)}</p>'))
    if v.kind == "placements":
        parts.append(f"Ranking: {v.rule}.")
    return Section("Verdict", parts, intro=v.question[:1].upper() + v.question[1:], box=True)


def _conflict_section(result: Result, summary: pd.DataFrame, by: str | pd.Series) -> Section:
    intro = (
        "Concurrent writers, from what the simulation interleaved: lost updates (a "
        "read-modify-write overwrote others' commits), lost records (an append that "
        "seeks to the end and writes overwrote a record another append had just put "
        "there), torn records (records damaged in part: appends of different sizes, "
        "overlapping writes of network clients), stale reads (a client cache older than "
        "the last write), and the workloads' lock calls (counted apart from file "
        "operations): how many, how many had to wait and how long, how many were refused."
    )
    label = _keys(summary)
    table = summary[label + [c for c in CONFLICT_COLUMNS if c in summary.columns]]
    totals = {c: int(summary[c].fillna(0).sum()) for c in CONFLICT_COLUMNS if "_ms" not in c}
    words = [
        f"{totals['lost_updates']:,} lost updates",
        f"{totals['lost_records']:,} lost records",
        f"{totals['torn_writes']:,} torn records",
        f"{totals['stale_reads']:,} stale reads",
        f"{totals['locks']:,} lock calls ({totals['lock_waits']:,} waited, "
        f"{totals['lock_errors']:,} refused)",
    ]
    parts: list[Any] = [", ".join(words).capitalize() + ".", table]
    ops = result.ops
    if len(ops) and totals["locks"]:
        locks = ops[ops["op"] == LOCK]
        key = by if isinstance(by, str) else by.reindex(locks.index)
        parts.append(
            figure_latency_ccdf(
                locks, by=key, title="Lock calls: time to take the lock (round trips and waits)"
            )
        )
    return Section("Conflicts", parts, intro=intro)


def _copy_up_section(result: Result) -> Section:
    intro = (
        "The first write to a file that lives in an image layer copies the whole file up "
        "into the container's writable layer (overlayfs copy-up, once per file per container)."
    )
    ups = result.ops[result.ops["copied_up"].astype(bool)] if len(result.ops) else result.ops
    if ups.empty:
        return Section("Copy-ups", ["No operation copied a file up."], intro=intro)
    summary = result.summary
    counts = summary.loc[summary["copy_ups"] > 0, ["storage", "copy_ups", "copy_up_bytes"]]
    largest = ups.nlargest(10, "copy_up_bytes")[
        ["t_start_s", "container", "op", "path", "copy_up_bytes", "latency_s"]
    ].assign(latency_ms=lambda d: d["latency_s"] * 1e3)
    largest = largest.drop(columns="latency_s")
    return Section(
        "Copy-ups",
        [counts, figure_copy_ups(result.ops), Html("<h3>Largest copy-ups</h3>"), largest],
        intro=intro,
    )


def _error_section(result: Result) -> Section:
    intro = (
        "Operations the file system refused (and lock calls the mount refused), per "
        "storage choice and errno, then per workload with the paths they failed on."
    )
    if result.errors.empty:
        return Section("Errors", ["No operation failed."], intro=intro)
    parts: list[Any] = [result.errors]
    if result.ops_mode == "full" and len(result.ops):
        sources = error_sources(result.ops)
        parts += [Html("<h3>Where they come from</h3>"), sources]
    parts.append(figure_errors(result.errors))
    return Section("Errors", parts, intro=intro)


def _lifecycle_section(result: Result, summary: pd.DataFrame) -> Section:
    events = result.events
    parts: list[Any] = []
    lost = int(events["data_lost_bytes"].sum())
    orphaned = int(events["orphaned_volumes"].sum()) if "orphaned_volumes" in events else 0
    if lost or orphaned:
        parts.append(
            f"Data lost at docker stop or rm: {format_bytes(lost)} ({lost:,} bytes). "
            f"Anonymous volumes orphaned: {orphaned}."
        )
    else:
        parts.append("No docker stop or rm lost data, and no volume was orphaned.")
    updates = int(summary["lost_updates"].sum())
    if updates:
        parts.append(f"Concurrent writers lost {updates:,} updates: see Conflicts.")
    label = _keys(summary)
    table = summary[label + list(LIFECYCLE_COLUMNS)]
    if lost or orphaned:
        parts.append(table[table[list(LIFECYCLE_COLUMNS)].sum(axis=1) > 0])
    parts.append(events)
    return Section(
        "Lifecycle",
        parts,
        intro="docker run / stop / start / rm at their simulated times. rm loses the "
        "writable layer's files; stop loses a tmpfs's; anonymous volumes outlive their "
        "container, orphaned.",
    )


def _mount_section(result: Result) -> Section:
    intro = (
        "Each mount of each container run. A mount over an image directory hides the image's "
        "entries below it: the application sees the mount's files instead."
    )
    mounts = result.mounts
    if mounts.empty:
        return Section(
            "Mounts",
            ["No mounts: every path is in the container's own file system (image layers "
             "and writable layer)."],
            intro=intro,
        )  # fmt: skip
    keys = [c for c in mounts.columns]
    grouped = (
        mounts.astype({c: str for c in keys if mounts[c].dtype == object})
        .groupby(keys, sort=False, dropna=False)
        .size()
        .reset_index(name="runs")
    )
    return Section("Mounts", [grouped], intro=intro)


def _comparison_section(result: Result, comparison: pd.DataFrame) -> Section:
    path = result.scenario.compare.path if result.scenario.compare else "the compared path"
    names = [str(p) for p in comparison["placement"]]
    labelled = comparison.drop(columns="placement")
    labelled.insert(0, "placement", [placement_label(p, result.scenario) for p in names])
    labelled.insert(1, "description", [describe_placement(p, result.scenario) for p in names])
    return Section(
        "Placement comparison",
        [
            labelled[["placement", "description"]],
            *_summary_tables(labelled.drop(columns="description"), conflicts=True),
            figure_comparison(labelled),
        ],
        intro=f"The same workload run again with {path} on each storage choice; the "
        f"numbers cover the operations on {path} only.",
    )


def write_report(
    result: Result,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    judged: Verdict | None = None,
) -> Path:
    """Write a run's HTML report: one self-contained page, written atomically.

    It opens with the verdict, in a box (:mod:`storsim.report.verdict`); then the
    scenario's name, description, seed, date and storsim version; the summary per
    storage choice; latency CDFs and percentile bars; throughput over simulated time;
    copy-ups; errors; lifecycle events; mounts and the image entries they hide; the
    placement comparison and the per-service table when the run has them; and the
    scenario itself, as YAML.

    Args:
        result: what :func:`storsim.simulate` returned.
        path: the ``.html`` file to write; its folder must exist.
        title: the page heading (default: the scenario's name).
        judged: its verdict, if already made.

    Returns:
        The path written.

    Raises:
        OSError: the file cannot be written (an existing report is left as it was).
    """
    from storsim import __version__  # here: storsim/__init__ imports this module

    s = result.scenario
    choices = ", ".join(str(c) for c in result.summary["storage"]) or "none"
    meta = {
        "seed": str(result.seed),
        "simulated": f"{result.sim_time_s:.6g} s, {int(result.summary['ops'].sum()):,} "
        f"file operations, {int(result.summary['locks'].sum()):,} lock calls",
        "storage choices": choices,
        "scenario file": s.file or "(not from a file)",
        "written": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "storsim": __version__,
    }
    return write_html(
        result_sections(result, judged=judged),
        path,
        title=title or f"storsim report: {s.name}",
        subtitle=s.description,
        meta=meta,
    )
