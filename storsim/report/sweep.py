"""Sweep reports: each metric against each grid parameter, with confidence bands.

Like a tuning chart in a car's workshop manual: one panel per setting, the measured
response on the vertical axis, one curve per configuration, and a shaded band around
each curve for how sure the measurement is. The figures here take the frames of
:func:`storsim.sweep` and :func:`storsim.summarize`; the page is bound by
:func:`storsim.report.page.write_html`, the same binder as a single run's report.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]

from storsim.report.format import column_label
from storsim.report.page import Section, write_html
from storsim.report.style import base_figure, byte_axis, log_axis, series_colors, translucent
from storsim.scenario import Scenario
from storsim.stats.summary import storage_order
from storsim.sweeps import grid_columns, shown_metrics, summarize
from storsim.sweeps.summary import OCCASIONAL_METRICS

__all__ = [
    "CONFLICT_METRICS",
    "DEFAULT_METRICS",
    "figure_sweep_metric",
    "sweep_report",
    "sweep_sections",
]

#: Metrics plotted by default, when the frame has them: (column, axis title).
DEFAULT_METRICS: tuple[tuple[str, str], ...] = (
    ("mean_ms", "mean latency (ms)"),
    ("p50_ms", "median latency (ms)"),
    ("p99_ms", "p99 latency (ms)"),
    ("p999_ms", "p99.9 latency (ms)"),
    ("throughput_ops_s", "throughput (file operations / simulated s)"),
    ("copy_ups", "copy-ups"),
    ("errors", "failed operations"),
)

#: The conflict and lifecycle metrics, plotted by default when some run has them
#: non-zero: (column, axis title).
CONFLICT_METRICS: tuple[tuple[str, str], ...] = tuple(
    (m, column_label(m)) for m in OCCASIONAL_METRICS
)


def figure_sweep_metric(
    summary: pd.DataFrame,
    param: str,
    metric: str,
    *,
    by: str = "storage",
    title: str | None = None,
    axis_title: str | None = None,
    legend: str | None = None,
) -> Any:
    """One metric against one grid parameter, one series per storage choice (or
    placement) and combination of the other parameters, one colour each.

    Args:
        summary: a :func:`storsim.summarize` frame.
        param: the grid parameter on the x axis (a grid column of ``summary``).
        metric: the metric on the y axis (``summary`` has ``{metric}_mean``,
            ``{metric}_ci_low`` and ``{metric}_ci_high``).
        by: ``"storage"`` (one series per storage choice, split by remote where the
            frame has a ``series`` column; rows without a placement) or ``"placement"``
            (one per placement of the compared path).
        title: the figure's title; by default ``"{metric} against {param}"``.
        axis_title: the y axis title; by default the metric's name.
        legend: the legend's title; by default what the series are (``"storage
            choice"`` or ``"placement"``, and the other parameters).

    Returns:
        A plotly figure. A numeric parameter is drawn as lines with markers and a
        confidence band (a log x axis when its values span a factor of 20 or more); a
        categorical one as grouped bars with the interval as error bars, since there is
        nothing between two categories to draw a line through. Latencies get a log y
        axis when positive; byte counts an axis in binary units.
    """
    params = grid_columns(summary)
    others = [p for p in params if p != param]
    name_col = "series" if by == "storage" and "series" in summary.columns else by
    rows = summary[summary[name_col].notna()]
    if by == "storage" and "placement" in rows.columns:
        rows = rows[rows["placement"].isna()]
    mean, high = f"{metric}_mean", f"{metric}_ci_high"
    xs = list(dict.fromkeys(summary[param].tolist()))  # grid order
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs)
    lists = "storage choice" if by == "storage" else by
    fig = base_figure(
        title or f"{metric} against {param}",
        legend=legend or ", ".join([lists, *others]),
        xaxis={"title": {"text": param}},
        yaxis={"title": {"text": axis_title or metric}},
        barmode="group",
    )
    positive = bool(len(rows)) and bool((rows[mean].dropna() > 0).all())
    log_y = metric.endswith("_ms") and positive
    lines = []
    names = sorted(dict.fromkeys(str(n) for n in rows[name_col]), key=storage_order)
    for name in names:
        for combo, line in _split(rows[rows[name_col].astype(str) == name], others):
            line = line.set_index(param).reindex([x for x in xs if x in set(line[param])])
            label = name + "".join(f", {p}={v}" for p, v in zip(others, combo, strict=True))
            lines.append((label, line))
    colors = series_colors(label for label, _ in lines)
    for label, line in lines:
        _draw(fig, label, line, colors[label], param, metric, numeric=numeric, log_y=log_y)
    shown = [v for _, line in lines for v in line[high].tolist() + line[mean].tolist()]
    if numeric and xs and min(xs) > 0 and max(xs) / min(xs) >= 20:
        fig.update_xaxes(type="log")
    elif not numeric:
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=[str(x) for x in xs])
    if log_y:
        fig.update_yaxes(**log_axis(shown, bars=not numeric))
    elif "bytes" in metric:
        fig.update_yaxes(rangemode="tozero", **byte_axis(shown))
    return fig


def _draw(
    fig: Any,
    label: str,
    line: pd.DataFrame,
    color: str,
    param: str,
    metric: str,
    *,
    numeric: bool,
    log_y: bool,
) -> None:
    """One series: a line with a confidence band, or bars with error bars."""
    mean, low, high = f"{metric}_mean", f"{metric}_ci_low", f"{metric}_ci_high"
    x = list(line.index)
    y = line[mean].to_numpy(dtype=float)
    y_low = line[low].to_numpy(dtype=float)
    y_high = line[high].to_numpy(dtype=float)
    hover = (
        f"{param}=%{{x}}<br>{metric}: %{{y:.4g}}"
        "<br>95% CI %{customdata[0]:.4g} to %{customdata[1]:.4g}"
        "<br>%{customdata[2]} runs<extra>%{fullData.name}</extra>"
    )
    custom = list(zip(line[low], line[high], line["runs"], strict=True))
    if not numeric:
        fig.add_trace(
            go.Bar(
                x=[str(v) for v in x],
                y=y,
                name=label,
                marker={"color": color},
                error_y={
                    "type": "data",
                    "array": (y_high - y).tolist(),
                    "arrayminus": (y - y_low).tolist(),
                    "color": "#444",
                },
                customdata=custom,
                hovertemplate=hover,
            )
        )
        return
    if log_y:  # a band reaching 0 or below is cut at the axis, not dropped
        y_low = y_low.clip(min=float(np.nanmin(y)) / 10)
    fig.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=list(y_high) + list(y_low[::-1]),
            mode="lines",
            fill="toself",
            fillcolor=translucent(color),
            line={"width": 0},
            hoverinfo="skip",
            legendgroup=label,
            showlegend=False,
            connectgaps=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y.tolist(),
            mode="lines+markers",
            name=label,
            legendgroup=label,
            line={"color": color},
            marker={"color": color},
            customdata=custom,
            hovertemplate=hover,
        )
    )


def _split(
    group: pd.DataFrame, others: Sequence[str]
) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    if not others:
        return [((), group)]
    return [
        (combo if isinstance(combo, tuple) else (combo,), line)
        for combo, line in group.groupby(list(others), sort=False, dropna=False)
    ]


def sweep_sections(
    frame: pd.DataFrame,
    *,
    metrics: Sequence[tuple[str, str]] | None = None,
    compare_path: str | None = None,
) -> list[Section]:
    """The sections of a sweep report.

    Args:
        frame: a :func:`storsim.sweep` frame.
        metrics: ``(column, axis title)`` pairs to plot; those the frame lacks are skipped.
            By default :data:`DEFAULT_METRICS`, then each of :data:`CONFLICT_METRICS`
            that some run has non-zero.
        compare_path: the scenario's ``compare.path``, for the placement figures' titles.

    Returns:
        A summary table (the metrics of :func:`storsim.sweeps.shown_metrics`, as the
        command line prints them); per grid parameter with two or more values, each
        metric against it per storage choice (and per placement, when the scenario
        compares them); the failed runs, if any.
    """
    summary = summarize(frame)
    params = grid_columns(frame)
    listed = set(shown_metrics(summary))
    if metrics is None:
        metrics = [*DEFAULT_METRICS, *((m, t) for m, t in CONFLICT_METRICS if m in listed)]
    shown = [(m, t) for m, t in metrics if f"{m}_mean" in summary.columns]
    names = ["series" if "series" in summary.columns else "storage"]
    names += ["placement"] if "placement" in summary.columns else []
    table_columns = [*params, *names, "runs", "failed"]
    for m in shown_metrics(summary):
        table_columns += [f"{m}_mean", f"{m}_ci_low", f"{m}_ci_high"]
    sections = [
        Section(
            "Summary",
            [summary[table_columns]],
            intro="Mean over the replications of each grid point, with the bounds of its "
            "95% Student-t confidence interval; conflict and lifecycle metrics where some "
            "run has them. storsim.summarize(df, long=True) gives the same in long form, "
            "one row per metric, for plotting.",
        )
    ]
    swept = [p for p in params if frame[p].nunique(dropna=False) > 1]
    views = ["storage"]
    if "placement" in summary.columns and summary["placement"].notna().any():
        views.append("placement")
    for param, by in itertools.product(swept, views):
        where = f" of {compare_path}" if by == "placement" and compare_path else ""
        figures = [
            figure_sweep_metric(
                summary,
                param,
                m,
                by=by,
                title=f"{axis} against {param}, per {by}{where}",
                axis_title=axis,
                legend=None if by == "storage" else f"placement{where}",
            )
            for m, axis in shown
        ]
        numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in frame[param])
        drawn = "line" if numeric else "group of bars"
        spread = "band" if numeric else "error bar"
        intro = (
            f"One {drawn} per storage choice of the scenario as written (a remote's "
            f"mounts apart); the {spread} is the 95% confidence interval over the "
            "replications."
            if by == "storage"
            else f"The operations on {compare_path or 'the compared path'}, one {drawn} "
            f"per placement of that path; the {spread} is the 95% confidence interval."
        )
        title = f"Against {param}" + (f": placements{where}" if by == "placement" else "")
        sections.append(Section(title, figures, intro=intro))
    failed = frame[frame["error"].notna()]
    if len(failed):
        sections.append(
            Section(
                "Failed runs",
                [failed[[*params, "replication", "seed", "error"]]],
                intro="Each can be rerun alone: simulate(scenario.with_overrides(point), "
                "seed=seed).",
            )
        )
    return sections


def sweep_report(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    scenario: Scenario | None = None,
    title: str | None = None,
) -> Path:
    """Write a sweep's self-contained HTML report (plotly's JavaScript inlined).

    Args:
        frame: a :func:`storsim.sweep` frame.
        path: the ``.html`` file to write; its folder must exist.
        scenario: the base scenario, for the title, description and compared path.
        title: the page's title; by default from the scenario's name.

    Returns:
        The path written.
    """
    params = grid_columns(frame)
    runs = frame["seed"].nunique()
    meta = {
        "grid": "; ".join(f"{p} = {', '.join(map(str, frame[p].unique()))}" for p in params)
        or "(none)",
        "runs": f"{runs} ({frame['replication'].nunique()} per grid point)",
        "written": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    compare_path = scenario.compare.path if scenario and scenario.compare else None
    name = scenario.name if scenario is not None else "storsim"
    return write_html(
        sweep_sections(frame, compare_path=compare_path),
        path,
        title=title or f"{name}: sweep",
        subtitle=scenario.description if scenario is not None else "",
        meta=meta,
    )
