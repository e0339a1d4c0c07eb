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

from storsim.report.format import format_bytes
from storsim.report.style import base_figure, byte_axis, log_axis, series_colors, storage_color
from storsim.stats.summary import storage_order

__all__ = [
    "CDF_POINTS",
    "SCATTER_POINTS",
    "THROUGHPUT_BINS",
    "figure_comparison",
    "figure_copy_ups",
    "figure_errors",
    "figure_latency_ccdf",
    "figure_percentiles",
    "figure_throughput",
]

#: Points per latency CDF: enough for a smooth curve, few enough for a small file.
CDF_POINTS = 500
#: Most time bins per throughput curve.
THROUGHPUT_BINS = 200
#: Most points in the copy-up scatter.
SCATTER_POINTS = 2000


def _groups(ops: pd.DataFrame, by: str | pd.Series = "storage") -> list[tuple[str, pd.DataFrame]]:
    """``ops`` split per storage choice (or per series: ``by`` a Series of labels aligned
    with ``ops``), in :data:`STORAGE_CHOICES` order (others last)."""
    if ops.empty:
        return []
    key = ops[by] if isinstance(by, str) else by
    groups = {str(k): g for k, g in ops.groupby(key, observed=True, sort=False)}
    return sorted(groups.items(), key=lambda kv: storage_order(kv[0]))


def _ccdf_points(values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, fraction of values >= x)`` of a sample, at most about ``points`` long.

    Small samples keep every distinct value. Large ones keep the values at a fixed grid
    of ranks, denser in the tail (p99 .. p99.9999) where storage choices differ; every x
    is a real sample, the last one the maximum (whose fraction is 1/n for a unique max).
    """
    v = np.sort(values)
    n = len(v)
    if n <= points:
        x = np.unique(v)
    else:
        tail = points // 5
        grid = np.concatenate(
            [
                np.linspace(0.0, 1.0, points - tail),
                1.0 - np.geomspace(1e-2, max(1.0 / n, 1e-6), tail),
            ]
        )
        x = np.unique(v[np.unique(np.round(np.clip(grid, 0, 1) * (n - 1)).astype(np.int64))])
    return x, (n - np.searchsorted(v, x, side="left")) / n


# The probability axis of a CCDF: 1 down to 1e-6, each decade named by its percentile.
_TAIL_TICKS = (
    (1.0, "all"), (0.1, "10 % (p90)"), (0.01, "1 % (p99)"), (1e-3, "0.1 % (p99.9)"),
    (1e-4, "0.01 % (p99.99)"), (1e-5, "p99.999"), (1e-6, "p99.9999"),
)  # fmt: skip


def figure_latency_ccdf(
    ops: pd.DataFrame,
    *,
    by: str | pd.Series = "storage",
    points: int = CDF_POINTS,
    title: str = "Latency tail: operations at least this slow",
) -> Any:
    """Latency tail per storage choice (or series): the fraction of operations at least
    this slow, on log-log axes (a complementary CDF), so that p99.9 and p99.99 are as
    visible as the median.

    Args:
        ops: operation records with ``storage`` and ``latency_s`` columns.
        by: the column to split by, or a Series of labels aligned with ``ops`` (the
            series of :func:`storsim.stats.series.series_labels`).
        points: the most points per curve (see :data:`CDF_POINTS`).
        title: the figure's title.

    Returns:
        A plotly figure; x in milliseconds, y the fraction of operations whose latency is
        at least x (1 at the fastest, 1/n at the slowest). Zero latencies cannot sit on
        a log axis: they count in the fractions but are not drawn.
    """
    fig = base_figure(
        title,
        legend="storage choice",
        xaxis={"title": {"text": "latency (ms, log scale)"}},
        yaxis={"title": {"text": "fraction of operations ≥ latency (log scale)"}},
    )
    groups = _groups(ops, by)
    colors = series_colors(name for name, _ in groups)
    drawn_x: list[float] = []
    lowest = 1.0
    for name, g in groups:
        x, y = _ccdf_points(g["latency_s"].to_numpy(dtype=float) * 1e3, points)
        drawn = x > 0
        if drawn.any():
            drawn_x += [float(x[drawn].min()), float(x[drawn].max())]
            lowest = min(lowest, float(y[drawn].min()))
        fig.add_trace(
            go.Scatter(
                x=x[drawn],
                y=y[drawn],
                name=name,
                mode="lines",
                line={"color": colors[name], "shape": "vh", "width": 2},
                hovertemplate="%{y:.3%} of operations took ≥ %{x:.4g} ms"
                "<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_xaxes(**log_axis(drawn_x))
    ticks = [(v, t) for v, t in _TAIL_TICKS if v >= lowest / 10]
    fig.update_yaxes(
        type="log",
        range=[math.log10(lowest) - 0.2, 0.05],
        tickvals=[v for v, _ in ticks],
        ticktext=[t for _, t in ticks],
    )
    return fig


#: Where each percentile column sits on a percentile axis: -log10(1 - q), so that p90,
#: p99, p99.9 and p99.99 are evenly spaced ("nines").
_NINES: dict[str, tuple[float, str]] = {
    "p50": (math.log10(2), "p50"),
    "p95": (-math.log10(0.05), "p95"),
    "p99": (2.0, "p99"),
    "p999": (3.0, "p99.9"),
    "p9999": (4.0, "p99.99"),
}


def figure_percentiles(
    summary: pd.DataFrame,
    *,
    label: str = "storage",
    percentiles: Sequence[str] = ("p50", "p95", "p99", "p999", "p9999"),
    title: str = "Latency percentiles",
    legend: str = "storage choice",
) -> Any:
    """Latency against percentile, one line per row, on a percentile axis (p50 ... p99.99
    evenly spaced by their nines) and a log latency axis.

    Args:
        summary: one row per storage choice (or series, or placement) with ``{label}``
            and ``p50_ms``-style columns (``p999_ms`` is p99.9).
        label: the column naming each row (``"storage"``, ``"series"``, ``"placement"``).
        percentiles: which ``*_ms`` columns to draw, left to right (keys of ``_NINES``).
        title: the figure's title.
        legend: the legend's title.

    Returns:
        A plotly figure.
    """
    fig = base_figure(
        title,
        legend=legend,
        xaxis={
            "title": {"text": "percentile (spaced by nines: p90, p99, p99.9, p99.99)"},
            "tickvals": [_NINES[p][0] for p in percentiles],
            "ticktext": [_NINES[p][1] for p in percentiles],
        },
        yaxis={"title": {"text": "latency (ms, log scale)"}},
    )
    names = [str(row[label]) for row in summary.to_dict("records")]
    colors = series_colors(names)
    shown: list[float] = []
    for row, name in zip(summary.to_dict("records"), names, strict=True):
        values = [_float(row.get(f"{p}_ms")) for p in percentiles]
        shown += values
        fig.add_trace(
            go.Scatter(
                x=[_NINES[p][0] for p in percentiles],
                y=values,
                name=name,
                mode="lines+markers",
                line={"color": colors[name], "width": 2},
                marker={"color": colors[name], "size": 8},
                customdata=[_NINES[p][1] for p in percentiles],
                hovertemplate="%{customdata}: %{y:.4g} ms<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_yaxes(**log_axis(shown))
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
    by: str | pd.Series = "storage",
) -> Any:
    """Completed operations per simulated second, per storage choice, in time bins.

    Args:
        ops: operation records with ``storage`` and ``t_end_s`` columns (file operations:
            lock calls are left out by the caller).
        span_s: the simulated time to cover (default: the last completion).
        bins: the most bins; the width is rounded up to 1, 2 or 5 x 10^k seconds.
        events: lifecycle records; their times are marked on the plot when there are
            few (12 distinct times at most).
        by: the column to split by, or a Series of labels aligned with ``ops``.

    Returns:
        A plotly figure; x in simulated seconds, y in operations per second.
    """
    fig = base_figure(
        "Throughput over simulated time",
        legend="storage choice",
        xaxis={"title": {"text": "simulated time (s)"}},
        yaxis={"title": {"text": "completed operations per second"}, "rangemode": "tozero"},
    )
    end = float(ops["t_end_s"].max()) if len(ops) else 0.0
    span = max(span_s or 0.0, end)
    if span <= 0:
        return fig
    width = _nice_width(span, max(bins, 1))
    edges = np.arange(0.0, span + width, width)
    if edges[-1] < span:  # float rounding
        edges = np.append(edges, edges[-1] + width)
    groups = _groups(ops, by)
    colors = series_colors(name for name, _ in groups)
    for name, g in groups:
        counts, _ = np.histogram(g["t_end_s"].to_numpy(dtype=float), bins=edges)
        rate = np.append(counts, counts[-1]) / width
        fig.add_trace(
            go.Scatter(
                x=edges,
                y=rate,
                name=name,
                mode="lines",
                line={"color": colors[name], "shape": "hv", "width": 1.5},
                hovertemplate=f"t=%{{x:.4g}} s: %{{y:.4g}} ops/s (bins of {width:g} s)"
                "<extra>%{fullData.name}</extra>",
            )
        )
    if events is not None and len(events):
        _mark_events(fig, events)
    return fig


def _mark_events(fig: Any, events: pd.DataFrame) -> None:
    shown = events[events["action"] != "end"]
    times = sorted(set(shown["t_s"].astype(float)))
    if not times or len(times) > 12:
        return
    for i, t in enumerate(times):
        at = shown[shown["t_s"].astype(float) == t]
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
        legend="storage choice",
        xaxis={"title": {"text": "bytes copied up (log scale, binary units)"}},
        yaxis={"title": {"text": "operation latency (ms, log scale)"}, "type": "log"},
    )
    ups = ops[ops["copied_up"].astype(bool)]
    fig.update_xaxes(**byte_axis(ups["copy_up_bytes"].astype(float), log=True))
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
                text=[format_bytes(b) for b in g["copy_up_bytes"]],
                hovertemplate="%{customdata[0]} (%{customdata[1]})<br>"
                "%{text} copied, %{y:.4g} ms<extra>%{fullData.name}</extra>",
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
        legend="storage choice",
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


def figure_comparison(comparison: pd.DataFrame, *, label: str = "placement") -> Any:
    """The placements of a compared path side by side: latency by percentile, and the
    bytes each copied up.

    Args:
        comparison: one row per placement (``placement`` column, then summary columns).
        label: the column naming each placement (``"label"`` for display names such as
            ``"distributed_bind (nas, nfs)"``).

    Returns:
        A plotly figure with two panels: latency against percentile (p50 ... p99.99 by
        their nines, log latency axis) and bytes copied up (binary units).
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=("latency by percentile (ms, log scale)", "bytes copied up"),
        horizontal_spacing=0.12,
    )
    base_figure("Placements of the compared path", legend="placement", fig=fig, top_px=80)
    names = [str(p) for p in comparison[label]]
    colors = series_colors(names)
    keys = ("p50", "p95", "p99", "p999", "p9999")
    shown: list[float] = []
    for row, name in zip(comparison.to_dict("records"), names, strict=True):
        values = [_float(row.get(f"{k}_ms")) for k in keys]
        shown += values
        fig.add_trace(
            go.Scatter(
                x=[_NINES[k][0] for k in keys],
                y=values,
                name=name,
                legendgroup=name,
                mode="lines+markers",
                line={"color": colors[name], "width": 2},
                marker={"color": colors[name], "size": 8},
                customdata=[_NINES[k][1] for k in keys],
                hovertemplate="%{customdata}: %{y:.4g} ms<extra>%{fullData.name}</extra>",
            ),
            row=1,
            col=1,
        )
    copied = [_float(v) for v in comparison.get("copy_up_bytes", pd.Series([0] * len(names)))]
    fig.add_trace(
        go.Bar(
            x=names,
            y=[0.0 if math.isnan(v) else v for v in copied],
            marker={"color": [colors[n] for n in names]},
            text=[format_bytes(v) for v in copied],
            textposition="outside",
            cliponaxis=False,
            showlegend=False,
            hovertemplate="%{x}: %{text}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(
        tickvals=[_NINES[k][0] for k in keys], ticktext=[_NINES[k][1] for k in keys], row=1, col=1
    )
    fig.update_yaxes(**log_axis(shown), row=1, col=1)
    fig.update_yaxes(rangemode="tozero", **byte_axis(copied), row=1, col=2)
    return fig
