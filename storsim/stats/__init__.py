"""Statistics: records in, summary tables out, exact or streamed.

Like a referee's score sheet, the summary turns a match's every move into the few
numbers people compare. Six rooms:

- :mod:`~storsim.stats.summary`: the exact tables from the DataFrame of every operation
  (:func:`summarize_ops`, :func:`summarize_by_service`, :func:`errors_by_errno`), their
  columns (:data:`SUMMARY_COLUMNS`), and each container's start-up (:func:`startup_table`);
- :mod:`~storsim.stats.streaming`: the same tables from running totals, fed chunk by
  chunk (:class:`StreamingSummary`, :class:`GroupStats`): bounded memory;
- :mod:`~storsim.stats.sketch`: the mergeable quantile sketch under them
  (:class:`LogHistogram`, a DDSketch, 0.5 % relative error);
- :mod:`~storsim.stats.intervals`: Student-t confidence intervals of means over
  replications (:func:`mean_intervals`, :func:`t_quantile`), which sweeps summarise with;
- :mod:`~storsim.stats.series`: the storage choices split by remote where one name hides
  two backends (:func:`~storsim.stats.series.series_summary`);
- :mod:`~storsim.stats.diagnostics`: where errors come from, and which workloads stopped
  working at their first error.
"""

from storsim.stats.intervals import mean_intervals, t_quantile
from storsim.stats.sketch import LogHistogram
from storsim.stats.streaming import GroupStats, StreamingSummary
from storsim.stats.summary import (
    CONFLICT_COLUMNS,
    LATENCY_COLUMNS,
    LIFECYCLE_COLUMNS,
    STARTUP_COLUMNS,
    SUMMARY_COLUMNS,
    errors_by_errno,
    startup_table,
    summarize_by_service,
    summarize_ops,
)

__all__ = [
    "CONFLICT_COLUMNS",
    "GroupStats",
    "LATENCY_COLUMNS",
    "LIFECYCLE_COLUMNS",
    "LogHistogram",
    "STARTUP_COLUMNS",
    "SUMMARY_COLUMNS",
    "StreamingSummary",
    "errors_by_errno",
    "mean_intervals",
    "startup_table",
    "summarize_by_service",
    "summarize_ops",
    "t_quantile",
]
