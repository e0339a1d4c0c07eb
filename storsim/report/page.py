"""The report page: titled sections of figures and tables, bound into one HTML file.

Like a binder with a contents page: each section is a sheet (plotly figures, tables,
notes), :func:`write_html` punches them into one self-contained file that carries its
own ink (plotly's JavaScript inlined), so it opens offline and can be mailed. The page's
skeleton and style are package data, ``page.html`` and ``report.css`` next to this
module; a run's report and a sweep's report are bound by the same binder.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import pandas as pd
import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from storsim.files import write_atomic
from storsim.report.format import cell_text, column_label
from storsim.report.style import FIGURE_HEIGHT_PX, storage_color

__all__ = [
    "TABLE_COLUMNS",
    "TABLE_ROWS",
    "TABLE_WIDTH_PX",
    "Html",
    "Section",
    "render_html",
    "table_html",
    "write_html",
]

#: Most rows shown in one table.
TABLE_ROWS = 500

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


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
        box: draw the section in a box (the verdict, at the top of a report).
    """

    title: str
    parts: Sequence[Any] = field(default_factory=tuple)
    intro: str = ""
    box: bool = False


#: Most columns in one rendered table: a wider frame is split into several tables that
#: each repeat its label columns, so that no table is wider than the page.
TABLE_COLUMNS = 12

#: The width a table may take, in CSS pixels: the page's 1280 less the margins.
TABLE_WIDTH_PX = 1150

# A text cell longer than this may wrap (a description, a path), within a fixed width.
_WRAP_CHARS = 40
# Estimates of the rendered size (report.css: 0.9em of the 16 px system font): the
# widest of digits and letters, the cell's padding and border, a storage swatch.
_CHAR_PX = 8.0
_CELL_PX = 17.0
_SWATCH_PX = 20.0
_WRAP_PX = 30 * 16 * 0.9  # td.wrap's max-width: 30em


def _column_px(df: pd.DataFrame, column: str) -> float:
    """About how wide a column renders: its widest cell, or its heading's longest word
    (headings wrap), or the wrapping width of a long text column."""
    texts = [cell_text(column, v)[0] for v in df[column].tolist()]
    widest = max((len(t) for t in texts), default=1)
    word = max((len(w) for w in column_label(column).split()), default=1)
    px = max(widest, word) * _CHAR_PX + _CELL_PX
    if column in ("storage", "series", "placement"):
        px += _SWATCH_PX
    return min(px, _WRAP_PX + _CELL_PX) if widest > _WRAP_CHARS else px


def _column_groups(
    df: pd.DataFrame, labels: list[str], rest: list[str], max_columns: int
) -> list[list[str]]:
    """The columns of each table: the labels, then as many others as fit the page."""
    if not rest:
        return [labels]
    base = sum(_column_px(df, c) for c in labels)
    groups: list[list[str]] = []
    group: list[str] = []
    used = base
    for c in rest:
        px = _column_px(df, c)
        if group and (used + px > TABLE_WIDTH_PX or len(labels) + len(group) >= max_columns):
            groups.append(labels + group)
            group, used = [], base
        group.append(c)
        used += px
    groups.append(labels + group)
    return groups


def table_html(
    df: pd.DataFrame, *, max_rows: int = TABLE_ROWS, max_columns: int = TABLE_COLUMNS
) -> Html:
    """A DataFrame as HTML tables with readable headings and units.

    Every column is rendered, known or not: a name ending in ``_ms`` is milliseconds, one
    containing ``bytes`` is shown in KiB/MiB/GiB (the exact count in the tooltip), and
    ``storage``, ``series`` or ``placement`` cells get their storage choice's colour
    (:func:`storsim.report.format.cell_text`). A frame of more than ``max_columns``
    columns is split into tables of at most that many, each starting with the frame's
    label columns (its leading text columns), and so is one that would be wider than
    :data:`TABLE_WIDTH_PX` as estimated from its cells, so that a table fits the page;
    long text cells wrap.

    Args:
        df: the table.
        max_rows: rows shown at most; a note says how many were left out.
        max_columns: columns per table at most.

    Returns:
        The markup.
    """
    shown = df.head(max_rows)
    shown.columns = [str(c) for c in df.columns]
    columns = list(shown.columns)
    labels = _label_columns(shown, columns)
    rest = [c for c in columns if c not in labels]
    tables = [
        _one_table(shown, group) for group in _column_groups(shown, labels, rest, max_columns)
    ]
    more = ""
    if len(df) > max_rows:
        more = f'<p class="note">First {max_rows:,} of {len(df):,} rows.</p>'
    return Html("".join(tables) + more)


def _label_columns(df: pd.DataFrame, columns: list[str]) -> list[str]:
    """The leading text columns that name a row (at most 3)."""
    out = []
    for c in columns[:3]:
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            break
        out.append(c)
    return out


def _one_table(df: pd.DataFrame, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(column_label(c))}</th>" for c in columns)
    body = []
    for row in df[columns].itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, row, strict=True):
            text, tip, numeric = cell_text(column, value)
            classes = ["num"] if numeric else (["wrap"] if len(text) > _WRAP_CHARS else [])
            attrs = f' class="{" ".join(classes)}"' if classes else ""
            if tip:
                attrs += f' title="{html.escape(tip)}"'
            content = html.escape(text)
            if column in ("storage", "series", "placement") and text not in ("-", ""):
                swatch = html.escape(storage_color(text))
                content = f'<span class="swatch" style="background:{swatch}"></span>{content}'
            cells.append(f"<td{attrs}>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


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
        height = part.layout.height or FIGURE_HEIGHT_PX
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


@lru_cache(maxsize=1)
def _skeleton() -> tuple[Template, str]:
    """The page template and its style sheet, read once from the package's data files."""
    here = resources.files("storsim.report")
    page = here.joinpath("page.html").read_text(encoding="utf-8")
    return Template(page), here.joinpath("report.css").read_text(encoding="utf-8")


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
        box = ' class="box"' if section.box else ""
        parts = [f'<section id="{slug}"{box}><h2>{html.escape(section.title)}</h2>']
        if section.intro:
            parts.append(f'<p class="intro">{html.escape(section.intro)}</p>')
        for part in section.parts:
            n += 1
            parts.append(_render_part(part, f"figure-{n}"))
        parts.append("</section>")
        body.append("\n".join(parts))
    from storsim import __version__  # here: storsim/__init__ imports this module

    template, css = _skeleton()
    return template.substitute(
        version=html.escape(__version__),
        title=html.escape(title),
        css=css,
        plotlyjs=get_plotlyjs(),
        subtitle=f'<p class="description">{html.escape(subtitle)}</p>' if subtitle else "",
        meta=meta_html,
        toc=toc,
        body="\n".join(body),
    )


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

    Raises:
        TypeError: a section holds a part that is not a figure, DataFrame, Html or str.
        OSError: the file cannot be written.
    """
    text = render_html(sections, title=title, subtitle=subtitle, meta=meta)
    write_atomic(path, text)
    return Path(path)
