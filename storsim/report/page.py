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

__all__ = ["TABLE_ROWS", "Html", "Section", "render_html", "table_html", "write_html"]

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
    """

    title: str
    parts: Sequence[Any] = field(default_factory=tuple)
    intro: str = ""


def table_html(df: pd.DataFrame, *, max_rows: int = TABLE_ROWS) -> Html:
    """A DataFrame as an HTML table with readable headings and units.

    Every column is rendered, known or not: a name ending in ``_ms`` is milliseconds, one
    containing ``bytes`` is shown in KiB/MiB/GiB (the exact count in the tooltip), and
    ``storage`` or ``placement`` cells get their storage choice's colour
    (:func:`storsim.report.format.cell_text`).

    Args:
        df: the table.
        max_rows: rows shown at most; a note says how many were left out.

    Returns:
        The markup.
    """
    columns = [str(c) for c in df.columns]
    head = "".join(f"<th>{html.escape(column_label(c))}</th>" for c in columns)
    body = []
    for row in df.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for column, value in zip(columns, row, strict=True):
            text, tip, numeric = cell_text(column, value)
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
        parts = [f'<section id="{slug}"><h2>{html.escape(section.title)}</h2>']
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
