"""storsim: a discrete-event simulator of container storage.

Where should each path of a containerised application live: in the image layers, the
container's writable layer, a local or distributed bind mount, a volume or a tmpfs?
storsim runs the application's file operations against a model of each choice and
reports latency, errors, copy-ups and data lost.

>>> import storsim
>>> result = storsim.simulate(storsim.load_scenario("scenarios/ch06-lab.yaml"))
>>> result.summary  # doctest: +SKIP
"""

from importlib import metadata as _metadata

from storsim.errors import ModelError, OutputError, RunawayError, ScenarioError, StorsimError
from storsim.report import write_report
from storsim.scenario import STORAGE_CHOICES, Scenario, load_scenario, scenario_schema
from storsim.simulation import Result, simulate
from storsim.sweeps import summarize, sweep

try:
    __version__ = _metadata.version("storsim")
except _metadata.PackageNotFoundError:  # a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "ModelError",
    "OutputError",
    "Result",
    "RunawayError",
    "STORAGE_CHOICES",
    "Scenario",
    "ScenarioError",
    "StorsimError",
    "__version__",
    "load_scenario",
    "scenario_schema",
    "simulate",
    "summarize",
    "sweep",
    "write_report",
]
