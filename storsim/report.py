"""Reports: a run's tables and plotly figures, bound into one self-contained HTML page.

Like a printed lab report stapled together: each figure is drawn on its own sheet (the
``figure_*`` functions turn DataFrames into plotly figures), each table is typeset with
readable units (:func:`table_html`), and :func:`write_html` binds the sections into one
file that carries its own ink (plotly's JavaScript inlined), so it opens offline and can
be mailed. :func:`report` is the whole stapler for one :class:`~storsim.simulation.Result`;
a sweep report reuses the same sheets and binder.

Every figure draws a storage choice in the same colour (:data:`STORAGE_COLORS`). Large
runs stay small on disk: latency CDFs are quantiles on a fixed grid of about 500 points
and throughput is binned, so a report's size depends on the number of storage choices,
not on the number of operations.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]
from ruamel.yaml import YAML

from storsim.files import write_atomic
from storsim.scenario import STORAGE_CHOICES
from storsim.simulation import Result

__all__ = [
    "CDF_POINTS",
    "SCATTER_POINTS",
    "STORAGE_COLORS",
    "TABLE_ROWS",
    "THROUGHPUT_BINS",
    "Html",
    "Section",
    "figure_comparison",
    "figure_copy_ups",
    "figure_errors",
    "figure_latency_cdf",
    "figure_percentiles",
    "figure_throughput",
    "format_bytes",
    "render_html",
    "report",
    "result_sections",
    "storage_color",
    "table_html",
    "write_html",
]

#: One colour per storage choice, the same in every figure and table (Okabe-Ito palette,
#: readable with the common colour-vision deficiencies).
STORAGE_COLORS: Mapping[str, str] = {
    "image_layer": "#0072B2",  # blue
    "writable_layer": "#E69F00",  # orange
    "local_bind": "#009E73",  # bluish green
    "distributed_bind": "#CC79A7",  # reddish purple
    "volume": "#D55E00",  # vermillion
    "tmpfs": "#56B4E9",  # sky blue
}
_OTHER_COLOR = "#7F7F7F"

#: Points per latency CDF: enough for a smooth curve, few enough for a small file.
CDF_POINTS = 500
#: Most time bins per throughput curve.
THROUGHPUT_BINS = 200
#: Most points in the copy-up scatter.
SCATTER_POINTS = 2000
#: Most rows shown in one table.
TABLE_ROWS = 500

_FIGURE_HEIGHT_PX = 420
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def storage_color(name: str) -> str:
    """The colour of a storage choice.

    Args:
        name: a storage choice, or a placement label such as ``"distributed_bind:nas"``
            (coloured as the choice before the colon).

    Returns:
        A ``#RRGGBB`` colour; grey for a name that is not a storage choice.
    """
    return STORAGE_COLORS.get(name.split(":", 1)[0], _OTHER_COLOR)


class Html(str):
    """Trusted markup that :func:`write_html` inserts as is (plain ``str`` parts are escaped)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Section:
    """One titled part of a report page.

    Attributes:
        title: the heading (also the entry in the page's table of contents).
        parts: what the section shows, in order: plotly figures, DataFrames (rendered
            with :func:`table_html`), :class:`Html` markup, or plain text paragraphs.
        intro: an optional plain-text sentence under the heading saying how to read it.
    """

    title: str
    parts: Sequence[Any] = field(default_factory=tuple)
    intro: str = ""


# --- numbers -----------------------------------------------------------------------------


def format_bytes(n: float) -> str:
    """A byte count in binary units, e.g. ``1536 -> "1.5 KiB"``.

    Args:
        n: bytes; NaN gives ``"-"``.
    """
    value = float(n)
    if not math.isfinite(value):
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _sig(x: float) -> str:
    """Three significant digits, thousands separated: 0.00511, 41.3, 1,376."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


_LABELS = {
    "ops": "operations",
    "throughput_ops_s": "throughput (ops/s)",
    "copy_ups": "copy-ups",
    "copy_up_bytes": "copy-up bytes",
    "data_lost_bytes": "data lost",
    "orphaned_volumes": "orphaned volumes",
    "orphaned_bytes": "orphaned bytes",
    "hidden_entries": "hidden image entries",
    "read_only": "read-only",
    "errno": "error",
    "t": "time (s)",
}


def _label(column: str) -> str:
    """A readable column heading: ``p99_ms -> "p99 (ms)"``; unknown columns still render."""
    if column in _LABELS:
        return _LABELS[column]
    for suffix, unit in (("_ops_s", "ops/s"), ("_ms", "ms"), ("_s", "s")):
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return column.replace("_", " ")


def _cell(column: str, value: Any) -> tuple[str, str, bool]:
    """``(text, tooltip, numeric)`` for one table cell; units follow the column's name."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-", "", True
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), "", False
    if isinstance(value, int | float | np.integer | np.floating):
        x = float(value)
        if "bytes" in column:
            return format_bytes(x), f"{int(x):,} bytes", True
        if isinstance(value, int | np.integer):
            return f"{int(value):,}", "", True
        if not math.isfinite(x):
            return "-", "", True
        if column.endswith("_ops_s"):
            return f"{x:,.1f}", "", True
        return _sig(x), repr(x), True
    return str(value), "", False


def table_html(df: pd.DataFrame, *, max_rows: int = TABLE_ROWS) -> Html:
    """A DataFrame as an HTML table with readable headings and units.

    Every column is rendered, known or not: a name ending in ``_ms`` is milliseconds, one
    containing ``bytes`` is shown in KiB/MiB/GiB (the exact count in the tooltip), and
    ``storage`` or ``placement`` cells get their storage choice's colour.

    Args:
        df: the table.
        max_rows: rows shown at most; a note says how many were left out.

    Returns:
        The markup.
    """
    columns = [str(c) for c in df.columns]
    head = "".join(f"<th>{html.escape(_label(c))}</th>" for c in columns)
    body = []
    for row in df.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, row, strict=True):
            text, tip, numeric = _cell(column, value)
            attrs = ' class="num"' if numeric else ""
            if tip:
                attrs += f' title="{html.escape(tip)}"'
            content = html.escape(text)
            if column in ("storage", "placement") and text not in ("-", ""):
                swatch = html.escape(storage_color(text))
                content = f'<span class="swatch" style="background:{swatch}"></span>{content}'
            cells.append(f"<td{attrs}>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = ""
    if len(df) > max_rows:
        more = f'<p class="note">First {max_rows:,} of {len(df):,} rows.</p>'
    return Html(
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{more}"
    )


# --- figures -----------------------------------------------------------------------------


def _figure(title: str, **layout: Any) -> Any:
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left"},
        height=_FIGURE_HEIGHT_PX,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"title": {"text": "storage"}},
        **layout,
    )
    return fig


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
    fig = _figure(
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
    fig.update_xaxes(**_log_axis(drawn_x))
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
    fig = _figure(
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
                text=[_sig(v) if math.isfinite(v) else "" for v in values],
                textposition="outside",
                cliponaxis=False,  # a label above the tallest bar stays visible
                hovertemplate="%{x}: %{y:.4g} ms<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_yaxes(**_log_axis(shown, bars=True))
    return fig


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _log_axis(values: Iterable[Any], *, bars: bool = False) -> dict[str, Any]:
    """A log axis whose tick labels stay readable however many decades it spans.

    Left alone, plotly labels every 2..9 minor tick over a few decades, which crowds the
    axis: over 1.5 decades only 1, 2 and 5 are labelled, over 3 only the powers of ten.
    Bars on a log axis have no zero to stand on, so with ``bars`` the axis starts a decade
    below the smallest one (else a bar just above the axis's start looks like nothing).
    """
    v = np.asarray([x for x in values if isinstance(x, int | float) and x > 0], dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"type": "log"}
    low, high = float(np.log10(v.min())), float(np.log10(v.max()))
    axis: dict[str, Any] = {"type": "log"}
    if bars:
        low -= 1.0
        axis["range"] = [low, high + 0.3]  # log10 units; the top leaves room for the labels
    if high - low > 3:
        axis["dtick"] = 1
    elif high - low > 1.5:
        axis["dtick"] = "D2"
    return axis


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
    fig = _figure(
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
    fig = _figure(
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
    fig = _figure(
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
    fig.update_layout(
        template="plotly_white",
        title={"text": "Placements of the compared path", "x": 0.0, "xanchor": "left"},
        height=_FIGURE_HEIGHT_PX,
        margin={"l": 70, "r": 30, "t": 80, "b": 60},
        barmode="group",
        legend={"title": {"text": "placement"}},
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
                text=[_sig(v) if math.isfinite(v) else "" for v in values],
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
    fig.update_yaxes(**_log_axis(shown, bars=True), row=1, col=1)
    # SI prefixes with a B suffix ("1.07GB"), not plotly's default "1.07B" (a billion).
    fig.update_yaxes(rangemode="tozero", exponentformat="SI", ticksuffix="B", row=1, col=2)
    return fig


# --- the page ----------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;
background:#fafafa;line-height:1.45}
main{max-width:1320px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{margin:0 0 4px;font-size:1.8em}h2{margin-top:2.2em;border-bottom:1px solid #ddd;
padding-bottom:4px}
.description{font-size:1.1em;color:#444;margin:0 0 16px}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0 0 16px}
dl.meta dt{color:#666}dl.meta dd{margin:0}
nav ol{columns:2;margin:0;padding-left:1.4em}
.intro,.note{color:#555}.note{font-size:.92em}
.table-wrap{overflow-x:auto;margin:8px 0 16px}
table{border-collapse:collapse;font-size:.9em}
th,td{padding:4px 8px;border-bottom:1px solid #e5e5e5;text-align:left;white-space:nowrap}
th{white-space:normal;vertical-align:bottom;background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafafa}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:6px;
vertical-align:baseline}
.figure{margin:8px 0 24px;min-height:420px}
pre.yaml{background:#f6f8fa;border:1px solid #e5e5e5;padding:12px;overflow-x:auto;
font-size:.85em}
footer{margin-top:48px;color:#888;font-size:.85em}
"""


def _slug(title: str, used: set[str]) -> str:
    base = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-") or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def _render_part(part: Any, figure_id: str) -> str:
    if isinstance(part, Html):
        return str(part)
    if isinstance(part, str):
        return f'<p class="note">{html.escape(part)}</p>'
    if isinstance(part, pd.DataFrame):
        return str(table_html(part))
    if isinstance(part, go.Figure):
        height = part.layout.height or _FIGURE_HEIGHT_PX
        div = pio.to_html(
            part,
            full_html=False,
            include_plotlyjs=False,  # inlined once in <head>, not once per figure
            div_id=figure_id,
            config=_PLOTLY_CONFIG,
            default_height=f"{height}px",
        )
        return f'<div class="figure">{div}</div>'
    raise TypeError(f"a report part must be a figure, DataFrame, Html or str (got {part!r})")


def render_html(
    sections: Iterable[Section],
    *,
    title: str,
    subtitle: str = "",
    meta: Mapping[str, str] | None = None,
) -> str:
    """The report page as one string (see :func:`write_html`)."""
    sections = list(sections)
    used: set[str] = set()
    slugs = [_slug(s.title, used) for s in sections]
    toc = "".join(
        f'<li><a href="#{slug}">{html.escape(s.title)}</a></li>'
        for s, slug in zip(sections, slugs, strict=True)
    )
    meta_html = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in (meta or {}).items()
    )
    body = []
    n = 0  # numbers the parts, so figure ids are unique and the same on every run
    for section, slug in zip(sections, slugs, strict=True):
        parts = [f'<section id="{slug}"><h2>{html.escape(section.title)}</h2>']
        if section.intro:
            parts.append(f'<p class="intro">{html.escape(section.intro)}</p>')
        for part in section.parts:
            n += 1
            parts.append(_render_part(part, f"figure-{n}"))
        parts.append("</section>")
        body.append("\n".join(parts))
    from storsim import __version__  # here: storsim/__init__ imports this module

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="storsim {html.escape(__version__)}">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script>window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script>{get_plotlyjs()}</script>
</head>
<body>
<main>
<header>
<h1>{html.escape(title)}</h1>
{f'<p class="description">{html.escape(subtitle)}</p>' if subtitle else ""}
<dl class="meta">{meta_html}</dl>
<nav><ol>{toc}</ol></nav>
</header>
{chr(10).join(body)}
<footer>Written by storsim {html.escape(__version__)}. Self-contained: plotly's JavaScript
is inlined, so this file opens offline.</footer>
</main>
</body>
</html>
"""


def write_html(
    sections: Iterable[Section],
    path: str | os.PathLike[str],
    *,
    title: str,
    subtitle: str = "",
    meta: Mapping[str, str] | None = None,
) -> Path:
    """Write sections as one self-contained HTML page, atomically.

    The page inlines plotly's JavaScript once (about 4.8 MB; it opens offline and can
    be mailed), then a table of contents and each section with its figures and tables.
    The file is written to a temporary name and renamed into place, so a failure never
    leaves a partial report (and an existing one stays as it was).

    Args:
        sections: the sections, in page order.
        path: the ``.html`` file to write; its folder must exist.
        title: the page's heading and ``<title>``.
        subtitle: a plain-text line under the heading (a scenario's description).
        meta: ``{label: value}`` lines shown under the heading (seed, date, ...).

    Returns:
        The path written.
    """
    text = render_html(sections, title=title, subtitle=subtitle, meta=meta)
    # cli imports storsim's __version__, so importing it at the top would be circular.

    write_atomic(path, text)
    return Path(path)


# --- one run -----------------------------------------------------------------------------


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


def report(result: Result, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
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
