"""The shipped notebooks run from top to bottom and draw their figures."""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def test_sweep_notebook_runs_and_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """notebooks/sweep.ipynb executes without an error and outputs plotly figures, each as
    plotly's JSON and as self-loading HTML."""
    # The kernel is a new process: let it import storsim from this tree, installed or not.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    notebook = nbformat.read(NOTEBOOKS / "sweep.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on an error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    figures = [out for out in outputs if "application/vnd.plotly.v1+json" in out.get("data", {})]
    assert len(figures) == 2
    # each figure also as HTML that loads plotly.js itself: it shows without a kernel
    # (nbviewer, an exported page), where the plotly mimetype alone is a blank cell
    for out in figures:
        html = out["data"]["text/html"]
        assert "https://cdn.plot.ly/plotly-" in html
        assert "Plotly.newPlot(" in html
    traces = figures[0]["data"]["application/vnd.plotly.v1+json"]["data"]
    assert {t["name"] for t in traces} == {"writable_layer", "image_layer", "volume", "tmpfs"}
