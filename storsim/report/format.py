"""Number formatting: the one place that says how storsim writes bytes, times and counts.

Like a style sheet for a newspaper's figures (thousands separated, units after the
number, a dash where there is no value): the report's tables and the command line's
tables write the same number the same way. Units follow a column's name: ``*_ms`` is
milliseconds, a name holding ``bytes`` is a byte count, ``*_ops_s`` a rate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "cell_text",
    "column_label",
    "format_bytes",
    "format_count",
    "format_duration",
    "format_ms",
    "format_sig",
    "format_text",
    "short_label",
]


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


def format_ms(x: Any) -> str:
    """Milliseconds for a fixed-width table: 3 decimals below 10 ms, 1 above; NaN ``"-"``."""
    x = float(x)
    if not math.isfinite(x):
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def format_duration(ms: Any) -> str:
    """A duration with its unit, three significant digits: ``0.0123 -> "12.3 us"``,
    ``0.355 -> "0.355 ms"``, ``1377.6 -> "1.38 s"``; NaN ``"-"``.

    Args:
        ms: milliseconds.
    """
    x = float(ms)
    if not math.isfinite(x):
        return "-"
    if x >= 1000:
        return f"{format_sig(x / 1000)} s"
    if 0 < x < 0.1:
        return f"{format_sig(x * 1000)} us"
    return f"{format_sig(x)} ms"


def format_count(x: float) -> str:
    """A count or a mean of counts: whole numbers (and any from 100 up) without decimals."""
    if not math.isfinite(x):
        return "-"
    return f"{x:.0f}" if x == round(x) or abs(x) >= 100 else f"{x:.1f}"


def format_sig(x: float) -> str:
    """Three significant digits, thousands separated: 0.00511, 41.3, 1,376."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_text(value: Any) -> str:
    """A label cell: ``"-"`` for a missing value (None or NaN), else its text."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


_LABELS = {
    "ops": "operations",
    "p999_ms": "p99.9 (ms)",
    "p9999_ms": "p99.99 (ms)",
    "std_ms": "std dev (ms)",
    "locks": "lock calls",
    "lost_records": "lost records",
    "startup_ms": "start-up (ms)",
    "startup_max_ms": "slowest start-up (ms)",
    "copy_bytes": "copied into volumes",
    "torn_writes": "torn records",
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


_STATISTICS = (("_mean", "mean"), ("_ci_low", "95% CI low"), ("_ci_high", "95% CI high"))


#: Terminal headings of the summary's columns, short enough for an 80-column table.
_SHORT = {
    "ops": "ops", "throughput_ops_s": "ops/s", "bytes_read": "read",
    "bytes_written": "written", "copy_ups": "copy-ups", "copy_up_bytes": "copied",
    "errors": "errors", "lost_updates": "lost upd", "lost_records": "lost rec",
    "torn_writes": "torn",
    "stale_reads": "stale", "locks": "locks", "lock_waits": "waits",
    "lock_wait_p50_ms": "wait p50 ms", "lock_wait_p99_ms": "wait p99 ms",
    "lock_errors": "lock err", "data_lost_bytes": "data lost",
    "orphaned_volumes": "orph vols", "orphaned_bytes": "orphaned", "min_ms": "min",
    "mean_ms": "mean", "std_ms": "std", "p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99",
    "p999_ms": "p99.9", "p9999_ms": "p99.99", "max_ms": "max",
}  # fmt: skip


def short_label(column: str, *, unit: bool = False) -> str:
    """A column's heading in a terminal table: ``p999_ms -> "p99.9"`` (``"p99.9 ms"``
    with ``unit``, for a table whose title does not say milliseconds); unknown columns
    get :func:`column_label`."""
    label = _SHORT.get(column)
    if label is None:
        return column_label(column)
    if unit and column.endswith("_ms") and not label.endswith(" ms"):
        return f"{label} ms"
    return label


def column_label(column: str) -> str:
    """A readable column heading: ``p99_ms -> "p99 (ms)"``, ``p99_ms_ci_low -> "p99 (ms)
    95% CI low"``; unknown columns still render."""
    for suffix, words in _STATISTICS:
        if column.endswith(suffix) and len(column) > len(suffix):
            return f"{column_label(column[: -len(suffix)])} {words}"
    if column in _LABELS:
        return _LABELS[column]
    for suffix, unit in (("_ops_s", "ops/s"), ("_ms", "ms"), ("_s", "s")):
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return column.replace("_", " ")


def cell_text(column: str, value: Any) -> tuple[str, str, bool]:
    """One table cell of a report: ``(text, tooltip, numeric)``, units from the column's name.

    Args:
        column: the column's name.
        value: the cell's value.

    Returns:
        The text shown, a tooltip (the exact byte count or float; ``""`` for none), and
        whether the cell is a number (right-aligned).
    """
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
        return format_sig(x), repr(x), True
    return str(value), "", False
