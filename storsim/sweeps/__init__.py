"""Parameter sweeps: a grid of scenario variants, each run several times, in one tidy table.

Like a wind-tunnel campaign: the same model is tested at every combination of wind speed
and angle, several times each, and every run is logged on one line of the same sheet.
Five rooms, in the order a sweep goes through them:

- :mod:`~storsim.sweeps.grid`: the grid's points, their seeds and the frame's columns
  (:func:`parse_grid`, :func:`run_seed`, :func:`grid_columns`);
- :mod:`~storsim.sweeps.campaign`: :func:`sweep`, which runs them all into one frame;
- :mod:`~storsim.sweeps.executors`: where the runs go (this process, a process pool,
  Dask) and what one run sends back;
- :mod:`~storsim.sweeps.runlog`: the JSON-lines file that lets a sweep resume;
- :mod:`~storsim.sweeps.summary`: :func:`summarize`, mean and confidence interval per
  grid point (wide, or long for plotting), and :func:`shown_metrics`.
"""

from storsim.sweeps.campaign import sweep
from storsim.sweeps.grid import RUN_COLUMNS, grid_columns, parse_grid, run_seed
from storsim.sweeps.summary import shown_metrics, summarize

__all__ = [
    "RUN_COLUMNS",
    "grid_columns",
    "parse_grid",
    "run_seed",
    "shown_metrics",
    "summarize",
    "sweep",
]
