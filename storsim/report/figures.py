"""Figures: a run's DataFrames drawn as plotly figures, one storage choice one colour.

Like the plates of an atlas, printed in one legend: every figure draws a storage choice
in the same colour (:data:`storsim.report.style.STORAGE_COLORS`), so that a reader
learns it once. Large runs stay small on disk: latency CDFs are
quantiles on a fixed grid of about 500 points and throughput is binned, so a figure's
size depends on the number of storage choices, not on the number of operations.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from storsim.report.format import format_bytes, format_sig
from storsim.report.style import base_figure, log_axis, storage_color
from storsim.scenario import STORAGE_CHOICES

__all__ = [
    "CDF_POINTS",
    "SCATTER_POINTS",
    "THROUGHPUT_BINS",
    "figure_comparison",
    "figure_copy_ups",
    "figure_errors",
    "figure_latency_cdf",
    "figure_percentiles",
    "figure_throughput",
]

#: Points per latency CDF: enough for a smooth curve, few enough for a small file.
CDF_POINTS = 500
#: Most time bins per throughput curve.
THROUGHPUT_BINS = 200
#: Most points in the copy-up scatter.
SCATTER_POINTS = 2000


def _groups(ops: pd.DataFrame, column: str = "storage") -> list[tuple[str, pd.DataFrame]]:
    """``ops`` split per storage choice, in :data:`STORAGE_CHOICES` order (others last)."""
    if ops.empty:
        return []
    groups = {str(k): g for k, g in ops.groupby(column, observed=True, sort=False)}
    order = {s: i for i, s in enumerate(STORAGE_CHOICES)}
    return sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def _cdf_points(values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, fraction <= x)`` of an empirical CDF, at most about ``points`` long.

    Small samples keep every point. Large ones are cut to quantiles on a fixed grid of
    probabilities, denser in the tail (p99 .. p99.9999) where storage choices differ; each
    plotted x is a real sample (``inverted_cdf``), so the curve's last point is the max.
    """
    n = len(values)
    if n <= points:
        x = np.sort(values)
        return x, np.arange(1, n + 1) / n
    tail = points // 5
    grid = np.concatenate(
        [
            np.linspace(0.0, 1.0, points - tail),
            1.0 - np.geomspace(1e-2, max(1.0 / n, 1e-6), tail),
        ]
    )
    q = np.unique(np.clip(grid, 0.0, 1.0))
    return np.quantile(values, q, method="inverted_cdf"), q


def figure_latency_cdf(ops: pd.DataFrame, *, points: int = CDF_POINTS) -> Any:
    """Latency CDF per storage choice, on a log latency axis.

    Args:
        ops: operation records with ``storage`` and ``latency_s`` columns.
        points: the most points per curve (see :data:`CDF_POINTS`).

    Returns:
        A plotly figure; x in milliseconds, y the fraction of operations at or below x.
        Zero latencies cannot sit on a log axis: they count in the fractions but are not
        drawn.
    """
    fig = base_figure(
        "Latency CDF per storage choice",
        xaxis={"title": {"text": "latency (ms, log scale)"}},
        yaxis={"title": {"text": "fraction of operations ≤ latency"}, "range": [0, 1.02]},
    )
    drawn_x: list[float] = []
    for storage, g in _groups(ops):
        x, y = _cdf_points(g["latency_s"].to_numpy(dtype=float) * 1e3, points)
        # Start the step at 0 below the fastest operation, so every curve rises from 0.
        x, y = np.concatenate([x[:1], x]), np.concatenate([[0.0], y])
        drawn = x > 0
        drawn_x += [float(x[drawn].min()), float(x[drawn].max())] if drawn.any() else []
        fig.add_trace(
            go.Scatter(
                x=x[drawn],
                y=y[drawn],
                name=storage,
                mode="lines",
                line={"color": storage_color(storage), "shape": "hv", "width": 2},
                hovertemplate="%{x:.4g} ms: %{y:.2%} of operations<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_xaxes(**log_axis(drawn_x))
    return fig


def figure_percentiles(
    summary: pd.DataFrame,
    *,
    label: str = "storage",
    percentiles: Sequence[str] = ("p50", "p95", "p99"),
) -> Any:
    """Latency percentile bars, one colour per storage choice, on a log axis.

    Args:
        summary: one row per storage choice with ``{label}`` and ``p50_ms``-style columns.
        label: the column naming each row (``"storage"``, or ``"placement"``).
        percentiles: which ``*_ms`` columns to draw, left to right.

    Returns:
        A plotly figure with one bar group per percentile.
    """
    fig = base_figure(
        "Latency percentiles",
        barmode="group",
        xaxis={"title": {"text": "percentile"}},
        yaxis={"title": {"text": "latency (ms, log scale)"}},
    )
    shown: list[float] = []
    for row in summary.to_dict("records"):
        name = str(row[label])
        values = [_float(row.get(f"{p}_ms")) for p in percentiles]
        shown += values
        fig.add_trace(
            go.Bar(
                x=list(percentiles),
                y=values,
                name=name,
                marker={"color": storage_color(name)},
                text=[format_sig(v) if math.isfinite(v) else "" for v in values],
                textposition="outside",
                cliponaxis=False,  # a label above the tallest bar stays visible
                hovertemplate="%{x}: %{y:.4g} ms<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_yaxes(**log_axis(shown, bars=True))
    return fig


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _nice_width(span_s: float, bins: int) -> float:
    """The smallest 1-2-5 x 10^k width that cuts ``span_s`` into at most ``bins`` bins."""
    raw = span_s / bins
    exp = math.floor(math.log10(raw))
    for step in (1.0, 2.0, 5.0, 10.0):
        width = step * 10.0**exp
        if width >= raw * (1 - 1e-12):
            return width
    return 10.0 ** (exp + 1)  # pragma: no cover - the loop always returns


def figure_throughput(
    ops: pd.DataFrame,
    *,
    span_s: float | None = None,
    bins: int = THROUGHPUT_BINS,
    events: pd.DataFrame | None = None,
) -> Any:
    """Completed operations per simulated second, per storage choice, in time bins.

    Args:
        ops: operation records with ``storage`` and ``t_end`` columns.
        span_s: the simulated time to cover (default: the last completion).
        bins: the most bins; the width is rounded up to 1, 2 or 5 x 10^k seconds.
        events: lifecycle records; their times are marked on the plot when there are
            few (12 distinct times at most).

    Returns:
        A plotly figure; x in simulated seconds, y in operations per second.
    """
    fig = base_figure(
        "Throughput over simulated time",
        xaxis={"title": {"text": "simulated time (s)"}},
        yaxis={"title": {"text": "completed operations per second"}, "rangemode": "tozero"},
    )
    end = float(ops["t_end"].max()) if len(ops) else 0.0
    span = max(span_s or 0.0, end)
    if span <= 0:
        return fig
    width = _nice_width(span, max(bins, 1))
    edges = np.arange(0.0, span + width, width)
    if edges[-1] < span:  # float rounding
        edges = np.append(edges, edges[-1] + width)
    for storage, g in _groups(ops):
        counts, _ = np.histogram(g["t_end"].to_numpy(dtype=float), bins=edges)
        rate = np.append(counts, counts[-1]) / width
        fig.add_trace(
            go.Scatter(
                x=edges,
                y=rate,
                name=storage,
                mode="lines",
                line={"color": storage_color(storage), "shape": "hv", "width": 1.5},
                hovertemplate=f"t=%{{x:.4g}} s: %{{y:.4g}} ops/s (bins of {width:g} s)"
                "<extra>%{fullData.name}</extra>",
            )
        )
    if events is not None and len(events):
        _mark_events(fig, events)
    return fig


def _mark_events(fig: Any, events: pd.DataFrame) -> None:
    shown = events[events["action"] != "end"]
    times = sorted(set(shown["t"].astype(float)))
    if not times or len(times) > 12:
        return
    for i, t in enumerate(times):
        at = shown[shown["t"].astype(float) == t]
        actions = list(dict.fromkeys(at["action"].astype(str)))
        text = ", ".join(actions)
        if len(at["container"].unique()) == 1:
            text += f" {at['container'].iloc[0]}"
        fig.add_vline(
            x=t,
            line={"color": "#555", "dash": "dot", "width": 1},
            annotation={"text": html.escape(text), "font": {"size": 10, "color": "#555"}},
            annotation_position="top right" if i % 2 == 0 else "top left",
        )


def figure_copy_ups(ops: pd.DataFrame, *, max_points: int = SCATTER_POINTS) -> Any:
    """Latency of each operation that copied a file up, against the bytes it copied.

    Args:
        ops: operation records with ``copied_up``, ``copy_up_bytes``, ``latency_s``,
            ``storage``, ``path`` and ``container`` columns.
        max_points: the most points drawn; more are thinned evenly along the size axis.

    Returns:
        A plotly figure on log-log axes (bytes, milliseconds).
    """
    fig = base_figure(
        "Copy-up latency vs bytes copied",
        xaxis={"title": {"text": "bytes copied up (log scale)"}, "type": "log"},
        yaxis={"title": {"text": "operation latency (ms, log scale)"}, "type": "log"},
    )
    fig.update_xaxes(exponentformat="SI", ticksuffix="B")
    ups = ops[ops["copied_up"].astype(bool)]
    for storage, g in _groups(ups):
        if len(g) > max_points:
            g = g.sort_values("copy_up_bytes")
            g = g.iloc[np.linspace(0, len(g) - 1, max_points).round().astype(int)]
        fig.add_trace(
            go.Scatter(
                x=g["copy_up_bytes"].to_numpy(dtype=float),
                y=g["latency_s"].to_numpy(dtype=float) * 1e3,
                name=storage,
                mode="markers",
                marker={"color": storage_color(storage), "size": 8, "opacity": 0.8},
                customdata=np.stack(
                    [g["path"].astype(str).to_numpy(), g["container"].astype(str).to_numpy()],
                    axis=-1,
                ),
                hovertemplate="%{customdata[0]} (%{customdata[1]})<br>"
                "%{x:.4s}B copied, %{y:.4g} ms<extra>%{fullData.name}</extra>",
            )
        )
    return fig


def figure_errors(errors: pd.DataFrame) -> Any:
    """Failed operations per errno, one bar colour per storage choice.

    Args:
        errors: ``storage``, ``errno``, ``count`` rows (:func:`storsim.stats.errors_by_errno`).

    Returns:
        A plotly figure.
    """
    fig = base_figure(
        "Failed operations by errno",
        barmode="group",
        bargap=0.5,
        xaxis={"title": {"text": "errno"}, "type": "category"},
        yaxis={"title": {"text": "operations"}, "rangemode": "tozero"},
    )
    for storage, g in _groups(errors):
        fig.add_trace(
            go.Bar(
                x=g["errno"].astype(str).tolist(),
                y=g["count"].astype(int).tolist(),
                name=storage,
                marker={"color": storage_color(storage)},
                text=g["count"].astype(int).tolist(),
                textposition="outside",
                cliponaxis=False,  # a label above the tallest bar stays visible
                hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>",
            )
        )
    return fig


def figure_comparison(comparison: pd.DataFrame) -> Any:
    """The placements of a compared path side by side: p50/p99 latency and copy-up bytes.

    Args:
        comparison: one row per placement (``placement`` column, then summary columns).

    Returns:
        A plotly figure with two panels: latency (log axis) and bytes copied up.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=("p50 and p99 latency (ms, log scale)", "bytes copied up"),
        horizontal_spacing=0.12,
    )
    base_figure(
        "Placements of the compared path", legend="placement", fig=fig, top_px=80, barmode="group"
    )
    names = [str(p) for p in comparison["placement"]]
    seen: dict[str, int] = {}
    patterns = []
    for name in names:  # two placements of one choice (two NFS servers): tell them apart
        base = name.split(":", 1)[0]
        patterns.append(("", "/", "x", ".", "+")[seen.get(base, 0) % 5])
        seen[base] = seen.get(base, 0) + 1
    shown: list[float] = []
    for row, name, pattern in zip(comparison.to_dict("records"), names, patterns, strict=True):
        values = [_float(row.get("p50_ms")), _float(row.get("p99_ms"))]
        shown += values
        fig.add_trace(
            go.Bar(
                x=["p50", "p99"],
                y=values,
                name=name,
                legendgroup=name,
                marker={"color": storage_color(name), "pattern": {"shape": pattern}},
                text=[format_sig(v) if math.isfinite(v) else "" for v in values],
                textposition="outside",
                cliponaxis=False,  # a label above the tallest bar stays visible
                hovertemplate="%{x}: %{y:.4g} ms<extra>%{fullData.name}</extra>",
            ),
            row=1,
            col=1,
        )
    copied = [_float(v) for v in comparison.get("copy_up_bytes", pd.Series([0] * len(names)))]
    fig.add_trace(
        go.Bar(
            x=names,
            y=[0.0 if math.isnan(v) else v for v in copied],
            marker={"color": [storage_color(n) for n in names], "pattern": {"shape": patterns}},
            text=[format_bytes(v) for v in copied],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{x}: %{y:,} bytes<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(**log_axis(shown, bars=True), row=1, col=1)
    # SI prefixes with a B suffix ("1.07GB"), not plotly's default "1.07B" (a billion).
    fig.update_yaxes(rangemode="tozero", exponentformat="SI", ticksuffix="B", row=1, col=2)
    return fig
