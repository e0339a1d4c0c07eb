"""Reports: a run's or a sweep's tables and plotly figures, bound into one HTML page.

Like a printed lab report stapled together, its conclusion on the first page. Eight rooms:

- :mod:`~storsim.report.format`: how numbers, bytes and times are written (shared with
  the command line's tables);
- :mod:`~storsim.report.style`: one colour per storage choice, one frame per figure;
- :mod:`~storsim.report.placements`: what each placement and storage choice means, in
  words (the same in the verdict, the tables, the JSON and the README);
- :mod:`~storsim.report.verdict`: the verdict (:func:`judge`): the placements ranked,
  best first, why the others lose, and the warnings; the one place the command line,
  the JSON and the HTML report take it from;
- :mod:`~storsim.report.figures`: a run's figures (latency tail, percentiles,
  throughput, copy-ups, errors, placements);
- :mod:`~storsim.report.page`: the page binder (:class:`Section`, :func:`table_html`,
  :func:`write_html`; its skeleton and style sheet are package data, ``page.html`` and
  ``report.css``);
- :mod:`~storsim.report.run`: a run's report (:func:`write_report`);
- :mod:`~storsim.report.sweep`: a sweep's report (:func:`sweep_report`).
"""

from storsim.report.figures import (
    CDF_POINTS,
    SCATTER_POINTS,
    THROUGHPUT_BINS,
    figure_comparison,
    figure_copy_ups,
    figure_errors,
    figure_latency_ccdf,
    figure_percentiles,
    figure_throughput,
)
from storsim.report.format import format_bytes
from storsim.report.page import (
    TABLE_COLUMNS,
    TABLE_ROWS,
    Html,
    Section,
    render_html,
    table_html,
    write_html,
)
from storsim.report.run import result_sections, write_report
from storsim.report.style import STORAGE_COLORS, series_colors, storage_color
from storsim.report.sweep import (
    DEFAULT_METRICS,
    figure_sweep_metric,
    sweep_report,
    sweep_sections,
)
from storsim.report.verdict import Verdict, judge

__all__ = [
    "CDF_POINTS",
    "DEFAULT_METRICS",
    "Html",
    "SCATTER_POINTS",
    "STORAGE_COLORS",
    "Section",
    "TABLE_COLUMNS",
    "TABLE_ROWS",
    "THROUGHPUT_BINS",
    "Verdict",
    "figure_comparison",
    "figure_copy_ups",
    "figure_errors",
    "figure_latency_ccdf",
    "figure_percentiles",
    "figure_sweep_metric",
    "figure_throughput",
    "format_bytes",
    "render_html",
    "result_sections",
    "series_colors",
    "storage_color",
    "sweep_report",
    "sweep_sections",
    "table_html",
    "judge",
    "write_html",
    "write_report",
]
