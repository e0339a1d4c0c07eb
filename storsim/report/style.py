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
    "log_axis",
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
        name: a storage choice, or a placement label such as ``"distributed_bind:nas"``
            (coloured as the choice before the colon).

    Returns:
        A ``#RRGGBB`` colour; grey for a name that is not a storage choice.
    """
    return STORAGE_COLORS.get(name.split(":", 1)[0], _OTHER_COLOR)


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
