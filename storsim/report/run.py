"""A run's report: what one simulation did, section by section, in one HTML page.

Like a flight recorder's read-out after a test flight: the headline numbers first, then
each instrument's trace (latency, throughput, copy-ups, errors, lifecycle, mounts), the
placements compared, and the flight plan itself (the scenario, to fly it again).
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

from storsim.report.figures import (
    figure_comparison,
    figure_copy_ups,
    figure_errors,
    figure_latency_cdf,
    figure_percentiles,
    figure_throughput,
)
from storsim.report.format import format_bytes
from storsim.report.page import Html, Section, write_html
from storsim.simulation import Result

__all__ = ["result_sections", "write_report"]


def _scenario_yaml(data: Mapping[str, Any]) -> str:
    yaml = YAML()  # round-trip mode: keeps the scenario's key order (safe mode sorts)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # long strings on one line, as people write them
    out = io.StringIO()
    yaml.dump(dict(data), out)
    return out.getvalue()


def result_sections(result: Result) -> list[Section]:
    """The sections of a run's report, in page order.

    Always: summary, latency CDF, percentiles, throughput, copy-ups, errors, mounts and
    the scenario; lifecycle events when there are any, the placement comparison when the
    scenario has one, and a per-service table when it has several services.
    """
    ops, summary = result.ops, result.summary
    no_ops = "No file operations were recorded."
    sections = [
        Section(
            "Summary",
            [summary] if len(summary) else [no_ops],
            intro="One row per storage choice: latencies in ms, throughput in operations per "
            "simulated second, bytes in binary units (hover for the exact count).",
        ),
        Section(
            "Latency distribution",
            [figure_latency_cdf(ops)] if len(ops) else [no_ops],
            intro="The fraction of operations that finished within a latency; further right "
            "is slower. A long flat tail is the few slow operations (copy-ups, remote "
            "round trips, queueing) that the mean hides.",
        ),
        Section(
            "Latency percentiles",
            [figure_percentiles(summary)] if len(summary) else [no_ops],
            intro="Median (p50) and tail (p95, p99) latency per storage choice.",
        ),
        Section(
            "Throughput",
            [figure_throughput(ops, span_s=result.sim_time_s, events=result.events)]
            if len(ops)
            else [no_ops],
            intro="Completed operations per simulated second; dotted lines mark container "
            "lifecycle events.",
        ),
        _copy_up_section(result),
        _error_section(result),
    ]
    if len(result.events):
        sections.append(_lifecycle_section(result))
    sections.append(_mount_section(result))
    if result.comparison is not None:
        sections.append(_comparison_section(result, result.comparison))
    if result.by_service["service"].nunique() > 1:
        sections.append(
            Section(
                "By service",
                [result.by_service],
                intro="The summary per service: two services on one storage choice "
                "(an NFS and an S3-FUSE bind are both distributed_bind) stay apart here.",
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
        ["t_start", "container", "op", "path", "copy_up_bytes", "latency_s"]
    ].assign(latency_ms=lambda d: d["latency_s"] * 1e3)
    largest = largest.drop(columns="latency_s").rename(columns={"t_start": "t"})
    return Section(
        "Copy-ups",
        [counts, figure_copy_ups(result.ops), Html("<h3>Largest copy-ups</h3>"), largest],
        intro=intro,
    )


def _error_section(result: Result) -> Section:
    intro = "Operations the file system refused, per storage choice and errno."
    if result.errors.empty:
        return Section("Errors", ["No operation failed."], intro=intro)
    return Section("Errors", [result.errors, figure_errors(result.errors)], intro=intro)


def _lifecycle_section(result: Result) -> Section:
    events = result.events
    parts: list[Any] = []
    lost = int(events["data_lost_bytes"].sum())
    orphaned = int(events["orphaned_volumes"].sum()) if "orphaned_volumes" in events else 0
    if lost or orphaned:
        parts.append(
            f"Data lost: {format_bytes(lost)} ({lost:,} bytes). "
            f"Anonymous volumes orphaned: {orphaned}."
        )
    else:
        parts.append("No data was lost and no volume was orphaned.")
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
    return Section(
        "Placement comparison",
        [comparison, figure_comparison(comparison)],
        intro=f"The same workload run again with {path} on each storage choice; the "
        f"numbers cover the operations on {path} only.",
    )


def write_report(result: Result, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write a run's HTML report: one self-contained page, written atomically.

    It holds the scenario's name, description, seed, date and storsim version; the summary
    per storage choice; latency CDFs and percentile bars; throughput over simulated time;
    copy-ups; errors; lifecycle events; mounts and the image entries they hide; the
    placement comparison and the per-service table when the run has them; and the
    scenario itself, as YAML.

    Args:
        result: what :func:`storsim.simulate` returned.
        path: the ``.html`` file to write; its folder must exist.
        title: the page heading (default: the scenario's name).

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
        "simulated": f"{result.sim_time_s:.6g} s, {len(result.ops):,} operations",
        "storage choices": choices,
        "scenario file": s.file or "(not from a file)",
        "written": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "storsim": __version__,
    }
    return write_html(
        result_sections(result),
        path,
        title=title or f"storsim report: {s.name}",
        subtitle=s.description,
        meta=meta,
    )
