"""Printed tables: one description of a table, written as text, CSV or Markdown.

Like a typesetter who sets the same copy for a newspaper column, a poster or a telegram:
a :class:`Table` says what the columns are (their values, headings and units), and
:func:`render` writes it for an 80-column terminal (``table``: columns aligned, a table
too wide for the terminal split into blocks that each repeat the first column), for a
spreadsheet (``csv``: raw numbers, one header row, ``# title`` lines between tables) or
for a document (``markdown``: pipe tables under ``###`` headings). Lines of prose (the
verdict's sentences, notes) are plain strings between the tables, wrapped to the width.
"""

from __future__ import annotations

import csv
import math
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import pandas as pd

from storsim.report.format import format_bytes, format_count, format_ms, format_text
from storsim.stats.summary import plain_value

__all__ = ["FORMATS", "Column", "Table", "kind_of", "render", "terminal_width"]

#: The ``--format`` values of the printed tables (``json`` is the ``--json`` document).
FORMATS = ("table", "csv", "markdown", "json")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: the frame's ``key``, its ``heading`` and how its values are written.

    ``kind`` is ``"text"``, ``"int"``, ``"ms"`` (milliseconds, 3 decimals below 10),
    ``"bytes"`` (binary units), ``"rate"`` (one decimal), or ``"ci"``: a sweep metric
    ``key`` written as ``key_mean`` and the half width of its interval (``key_ci_high``);
    in CSV, ``key_mean``, ``key_ci_low`` and ``key_ci_high``.
    """

    key: str
    heading: str
    kind: str = "text"


def kind_of(column: str) -> str:
    """How a summary column's values are written, from its name (units in names)."""
    if column.endswith("_ms"):
        return "ms"
    if "bytes" in column:
        return "bytes"
    if column.endswith("_ops_s"):
        return "rate"
    return "int"


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table (``frame`` holds raw values; ``columns`` what is shown; the first
    ``keys`` columns name a row)."""

    title: str
    frame: pd.DataFrame
    columns: Sequence[Column]
    notes: Sequence[str] = field(default_factory=tuple)
    keys: int = 1  # leading columns that name a row, repeated when the table is split


def terminal_width() -> int:
    """The terminal's width in columns (80 when the output is not a terminal)."""
    return shutil.get_terminal_size((80, 24)).columns


def _cell(column: Column, row: Mapping[Any, Any]) -> str:
    value = row.get(column.key)
    kind = column.kind
    if kind == "ci":
        mean = _float(row.get(f"{column.key}_mean"))
        high = _float(row.get(f"{column.key}_ci_high"))
        ms = column.key.endswith("_ms")
        text = format_ms(mean) if ms else format_count(mean)
        half = high - mean
        if math.isfinite(half) and half > 1e-9 * abs(mean):  # not float noise
            text += " ±" + (format_ms(half) if ms else format_count(half))
        return text
    if kind == "text" or value is None:
        return format_text(value)
    x = _float(value)
    if not math.isfinite(x):
        return "-"
    if kind == "ms":
        return format_ms(x)
    if kind == "bytes":
        return format_bytes(x)
    if kind == "rate":
        return f"{x:.1f}"
    return f"{int(x)}"


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def render(parts: Sequence[Table | str], fmt: str, out: TextIO, *, width: int = 80) -> None:
    """Write tables and lines of prose in one format.

    Args:
        parts: tables and lines, in order; ``""`` is a blank line.
        fmt: ``"table"``, ``"csv"`` or ``"markdown"``.
        out: where to write.
        width: the terminal's width, for ``table`` (tables are split, prose wrapped).

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in ("table", "csv", "markdown"):
        raise ValueError(f"fmt must be table, csv or markdown (got {fmt!r})")
    for part in parts:
        if isinstance(part, Table):
            {"table": _text, "csv": _csv, "markdown": _markdown}[fmt](part, out, width)
        elif fmt == "csv":
            if part:
                out.write(f"# {part}\n")
        elif fmt == "markdown":
            if part.startswith("VERDICT: "):
                part = f"## Verdict: {part.removeprefix('VERDICT: ')}"
            out.write(f"{part}\n" if not part.startswith("  ") else f"- {part.strip()}\n")
        else:
            out.write(_wrap(part, width) + "\n")


def _wrap(line: str, width: int) -> str:
    """A line of prose wrapped to ``width``, continuation lines indented under its text."""
    if len(line) <= width:
        return line
    lead = len(line) - len(line.lstrip(" "))
    return textwrap.fill(
        line,
        width=width,
        subsequent_indent=" " * (lead + 4),
        break_on_hyphens=False,
        break_long_words=False,
    )


def _text(table: Table, out: TextIO, width: int) -> None:
    rows = table.frame.to_dict("records")
    cells = [[_cell(c, r) for c in table.columns] for r in rows]
    headings = [c.heading for c in table.columns]
    left = [c.kind == "text" for c in table.columns]
    widths = [max(len(x) for x in [h, *(row[i] for row in cells)]) for i, h in enumerate(headings)]
    if table.title:
        out.write(f"{table.title}\n\n")
    # two spaces between columns; one where that makes the table fit; else split it
    gap = 2 if sum(widths) + 2 * (len(widths) - 1) <= width else 1
    keys = list(range(min(max(table.keys, 1), len(widths))))
    if sum(widths) + gap * (len(widths) - 1) > width and (
        sum(widths[i] for i in keys) + gap * len(keys) > width // 2
    ):
        # the row names are too wide to repeat in every block: number the rows instead
        headings = ["#", *headings]
        cells = [[str(n), *row] for n, row in enumerate(cells, start=1)]
        widths = [len(str(len(cells))), *widths]
        left = [False, *left]
        keys = [0]
    for n, block in enumerate(_blocks(widths, width, gap, len(keys))):
        if n:
            out.write("\n")
        sizes = [widths[i] for i in block]
        aligned = [left[i] or i == 0 for i in block]
        out.write(_line([headings[i] for i in block], sizes, aligned, gap) + "\n")
        out.write((" " * gap).join("-" * w for w in sizes) + "\n")
        for row in cells:
            out.write(_line([row[i] for i in block], sizes, aligned, gap) + "\n")
    for note in table.notes:
        out.write(_wrap(note, width) + "\n")


def _blocks(widths: list[int], width: int, gap: int, keys: int) -> list[list[int]]:
    """Column indices per block: every block starts with the ``keys`` leading columns and
    fits ``width`` (a block holds at least one more column, however wide)."""
    head = list(range(keys))
    blocks: list[list[int]] = []
    block = list(head)
    used = sum(widths[:keys]) + gap * (keys - 1)
    for i in range(keys, len(widths)):
        if used + gap + widths[i] > width and len(block) > keys:
            blocks.append(block)
            block, used = list(head), sum(widths[:keys]) + gap * (keys - 1)
        block.append(i)
        used += gap + widths[i]
    blocks.append(block)
    return blocks


def _line(values: list[str], widths: list[int], left: list[bool], gap: int) -> str:
    """One row: text left-aligned, numbers right-aligned."""
    return (
        (" " * gap)
        .join(
            v.ljust(w) if is_left else v.rjust(w)
            for v, w, is_left in zip(values, widths, left, strict=True)
        )
        .rstrip()
    )


def _csv(table: Table, out: TextIO, width: int) -> None:
    if table.title:
        out.write(f"# {table.title}\n")
    keys: list[str] = []
    whole: set[str] = set()  # counts and bytes: written as integers
    for c in table.columns:
        keys += (
            [f"{c.key}_{s}" for s in ("mean", "ci_low", "ci_high")] if c.kind == "ci" else [c.key]
        )
        if c.kind in ("int", "bytes"):
            whole.add(c.key)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    for row in table.frame.to_dict("records"):
        values = [plain_value(row.get(k)) for k in keys]
        writer.writerow([_csv_value(v, k in whole) for k, v in zip(keys, values, strict=True)])
    for note in table.notes:
        out.write(f"# {note}\n")
    out.write("\n")


def _csv_value(value: Any, whole: bool) -> Any:
    """A CSV cell: empty for a missing value, a whole count without its ``.0``."""
    if value is None:
        return ""
    if whole and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _markdown(table: Table, out: TextIO, width: int) -> None:
    if table.title:
        out.write(f"### {table.title}\n\n")
    out.write("| " + " | ".join(c.heading for c in table.columns) + " |\n")
    align = ["---" if c.kind == "text" else "---:" for c in table.columns]
    out.write("| " + " | ".join(align) + " |\n")
    for row in table.frame.to_dict("records"):
        cells = [_cell(c, row).replace("|", "\\|") for c in table.columns]
        out.write("| " + " | ".join(cells) + " |\n")
    for note in table.notes:
        out.write(f"\n{note}\n")
    out.write("\n")
