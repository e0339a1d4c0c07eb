"""The report's look: one colour per storage choice, one frame for every figure.

Like a house style in print, the colours, the figure frame and the axes are set once
here and followed by every figure and table of a run's or a sweep's report, so that a
storage choice looks the same wherever it appears.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]

__all__ = [
    "FIGURE_HEIGHT_PX",
    "STORAGE_COLORS",
    "base_figure",
    "byte_axis",
    "log_axis",
    "series_colors",
    "storage_color",
    "translucent",
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

#: Height of every figure, in CSS pixels.
FIGURE_HEIGHT_PX = 420


def storage_color(name: str) -> str:
    """The colour of a storage choice.

    Args:
        name: a storage choice, or a placement or series label such as
            ``"distributed_bind:nas"``, ``"distributed_bind (nas, nfs)"`` or
            ``"volume, replicas=4"`` (coloured as its storage choice).

    Returns:
        A ``#RRGGBB`` colour; grey for a name that is not a storage choice.
    """
    base = name.split(", ", 1)[0].split(" (", 1)[0].split(":", 1)[0]
    return STORAGE_COLORS.get(base, _OTHER_COLOR)


# Shades for the second, third... series of one storage choice: toward black, then
# toward white, then further (an NFS and an S3-FUSE bind: two curves, two colours).
_SHADES = (-0.45, 0.45, -0.7, 0.7, -0.25, 0.25)


def _shade(color: str, amount: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    target = 0 if amount < 0 else 255
    mix = abs(amount)
    return "#" + "".join(f"{round(c + (target - c) * mix):02X}" for c in (r, g, b))


def series_colors(names: Iterable[str]) -> dict[str, str]:
    """One colour per series: the first series of each storage choice in the choice's
    colour (:func:`storage_color`), each later one a darker or lighter shade of it.

    Args:
        names: series names, in the order they are drawn (repeats are ignored).

    Returns:
        name -> ``#RRGGBB``.
    """
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for name in names:
        if name in out:
            continue
        base = storage_color(name)
        k = seen.get(base, 0)
        seen[base] = k + 1
        out[name] = base if k == 0 else _shade(base, _SHADES[(k - 1) % len(_SHADES)])
    return out


_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def _byte_tick(value: float) -> str:
    """A tick label in binary units without needless decimals: 512 B, 4 KiB, 1.5 GiB."""
    for i, unit in enumerate(_BYTE_UNITS):
        scaled = value / 1024**i
        if abs(scaled) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{scaled:.3g} {unit}"
    return f"{value:.3g} B"  # pragma: no cover - the loop always returns


def byte_axis(values: Iterable[Any], *, log: bool = False) -> dict[str, Any]:
    """An axis of byte counts labelled in binary units (KiB, MiB, GiB), as the tables are.

    Plotly's own labels are decimal (SI: "1.07G" for 1 GiB): here the ticks sit on
    powers of two (log) or on steps of a power of two (linear), each labelled in the
    binary unit that fits it.

    Args:
        values: the byte counts drawn on the axis.
        log: a log axis.

    Returns:
        Axis properties (``tickvals``, ``ticktext``, ``type``), for ``update_xaxes`` or
        ``update_yaxes``.
    """
    v = np.asarray([x for x in values if isinstance(x, int | float) and np.isfinite(x)])
    v = v[v > 0]
    axis: dict[str, Any] = {"type": "log" if log else "linear"}
    if not len(v):
        return axis
    low, high = float(v.min()), float(v.max())
    if log:
        first, last = int(np.floor(np.log2(low))), int(np.ceil(np.log2(high)))
        step = max(1, -(-(last - first) // 8))  # at most about 8 ticks
        ticks = [2.0**e for e in range(first, last + 1, step)]
    else:  # steps of a power of two: 0, 256 MiB, 512 MiB, 768 MiB, 1 GiB
        size = 2.0 ** max(0, int(np.ceil(np.log2(max(high / 5, 1.0)))))
        ticks = [size * i for i in range(int(high / size) + 2)]
    axis["tickvals"] = [float(t) for t in ticks]
    axis["ticktext"] = [_byte_tick(t) for t in ticks]
    return axis


def base_figure(
    title: str, *, legend: str = "storage", fig: Any = None, top_px: int = 60, **layout: Any
) -> Any:
    """A figure in the report's look: white template, title at the left, fixed height.

    Args:
        title: the figure's title.
        legend: the legend's title (what one trace is: a storage choice, a placement).
        fig: a figure to style (``make_subplots``); a new one by default.
        top_px: the top margin, room for the title (and subplot titles).
        layout: more layout properties (axes, ``barmode``...).

    Returns:
        The figure.
    """
    fig = go.Figure() if fig is None else fig
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left"},
        height=FIGURE_HEIGHT_PX,
        margin={"l": 70, "r": 30, "t": top_px, "b": 60},
        legend={"title": {"text": legend}},
        **layout,
    )
    return fig


def translucent(color: str, alpha: float = 0.18) -> str:
    """A ``#RRGGBB`` colour as ``rgba(...)`` with opacity ``alpha`` (a confidence band)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def log_axis(values: Iterable[Any], *, bars: bool = False) -> dict[str, Any]:
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
