"""HTML reports: one self-contained page per run, complete, small for large runs, atomic."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

import storsim
from storsim.cli import main
from storsim.report import (
    CDF_POINTS,
    STORAGE_COLORS,
    Html,
    Section,
    figure_latency_ccdf,
    figure_throughput,
    format_bytes,
    result_sections,
    table_html,
    write_html,
)

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
ALWAYS = (
    "Verdict",
    "Summary",
    "Latency distribution",
    "Latency percentiles",
    "Throughput",
    "Copy-ups",
    "Errors",
    "Conflicts",
    "Mounts",
    "Scenario",
)
PLOTLY_JS = get_plotlyjs()


@pytest.fixture(scope="module")
def results(shipped_results: dict[str, Any]) -> dict[str, Any]:
    """Every shipped scenario's result (simulated once per session, see conftest)."""
    for p in SCENARIOS:
        shipped_results[p.stem]
    return shipped_results


def headings(page: str) -> list[str]:
    """The section headings (h2) of a report page."""
    return re.findall(r"<h2>([^<]*)</h2>", page)


def big_ops(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic operation records on two storage choices over 100 simulated seconds."""
    rng = np.random.default_rng(seed)
    t_start = np.sort(rng.uniform(0, 100, n))
    latency = rng.lognormal(mean=-8, sigma=1.5, size=n)
    copied = np.zeros(n, dtype=bool)
    copied[:5] = True

    def category(*values: str, codes: np.ndarray | None = None) -> pd.Categorical:
        return pd.Categorical.from_codes(np.zeros(n, dtype=int) if codes is None else codes, values)

    return pd.DataFrame(
        {
            "t_start_s": t_start,
            "t_end_s": t_start + latency,
            "container": category("web-1"),
            "service": category("web"),
            "workload": category("w"),
            "op": category("write"),
            "path": np.full(n, "/data/f", dtype=object),
            "storage": category("volume", "writable_layer", codes=rng.integers(0, 2, n)),
            "nbytes": np.full(n, 4096),
            "outcome": category("ok"),
            "copied_up": copied,
            "copy_up_bytes": np.where(copied, 2**20, 0),
            "layers_visited": np.zeros(n, dtype=int),
            "latency_s": latency,
        }
    )


@pytest.fixture(scope="module")
def million_ops() -> pd.DataFrame:
    """10^6 synthetic operation records."""
    return big_ops(1_000_000)


@pytest.mark.parametrize("stem", [p.stem for p in SCENARIOS])
def test_report_for_every_scenario(stem: str, results: dict[str, Any], tmp_path: Path) -> None:
    """Every shipped scenario's report is self-contained and has every section it should."""
    result = results[stem]
    out = storsim.write_report(result, tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", page), "a script loaded from elsewhere"
    assert not re.search(r"<link[^>]*\bhref=[\"']https?:", page), "a stylesheet from the web"
    assert page.count(PLOTLY_JS) == 1, "plotly's JavaScript inlined exactly once"
    expected = list(ALWAYS)
    expected.insert(8, "Lifecycle")  # every shipped scenario runs a container
    if result.comparison is not None:
        expected.insert(-1, "Placement comparison")
    if result.by_service["service"].nunique() > 1:
        expected.insert(-1, "By service")
    assert headings(page) == expected
    assert f"storsim report: {result.scenario.name}" in page
    assert f"<dd>{result.seed}</dd>" in page
    for choice in result.summary["storage"]:
        assert f"</span>{choice}" in page  # a coloured row in the summary table
    assert '<section id="verdict" class="box">' in page
    n_figures = page.count('class="plotly-graph-div"')
    assert n_figures >= 3
    assert page.count("Plotly.newPlot(") == n_figures


def test_cli_run_writes_report(tmp_path: Path) -> None:
    """``storsim run SCENARIO --report FILE`` writes the report and exits 0."""
    out = tmp_path / "ch06.html"
    path = str(SCENARIOS[0].parent / "ch06-lab.yaml")
    assert main(["run", path, "--report", str(out), "--quiet"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "storsim report: ch06-lab" in page
    assert "EROFS" in page  # the write to the read-only config


def test_bad_scenario_writes_no_report(
    tmp_path: Path, write_yaml: Any, tiny: dict[str, Any]
) -> None:
    """A scenario that fails validation exits 2 and leaves no report, partial or whole."""
    tiny["duration"] = "ten seconds"
    bad = write_yaml(tiny, "bad.yaml")
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    assert main(["run", str(bad), "--report", str(out), "--quiet"]) == 2
    assert list(out.parent.iterdir()) == []


def test_failed_write_keeps_the_old_report(
    tmp_path: Path, results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing fails, an existing report is left as it was and no temporary file remains."""
    out = tmp_path / "report.html"
    out.write_text("old report")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("storsim.files.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        storsim.write_report(results["ch06-lab"], out)
    assert out.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_ccdf_of_a_million_ops_is_a_few_hundred_points(million_ops: pd.DataFrame) -> None:
    """A latency tail of 10^6 operations keeps ~500 real samples per curve, from the fastest
    (every operation at least that slow) to the slowest (1 in 10^6)."""
    ops = million_ops
    fig = figure_latency_ccdf(ops)
    assert {t.name for t in fig.data} == {"volume", "writable_layer"}
    for trace in fig.data:
        x, y = np.asarray(trace.x), np.asarray(trace.y)
        mine = ops.loc[ops["storage"] == trace.name, "latency_s"].to_numpy() * 1e3
        assert len(x) <= CDF_POINTS
        assert y[0] == 1.0
        assert y[-1] == 1 / len(mine)
        assert np.all(np.diff(y) < 0)
        assert np.all(np.diff(x) > 0)
        assert x[-1] == mine.max()
        assert np.isin(x, mine).all()  # every plotted point is a real operation's latency
        # the fraction at least as slow as p99 is 1 %
        p99 = np.percentile(mine, 99)
        assert np.interp(p99, x, y) == pytest.approx(0.01, abs=0.002)
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis.type == "log"


def test_ccdf_of_few_ops_keeps_every_point() -> None:
    """A small sample is drawn exactly: one step per operation, each at the fraction of the
    operations at least that slow."""
    ops = big_ops(7)
    for trace in figure_latency_ccdf(ops).data:
        n = int((ops["storage"] == trace.name).sum())
        assert len(trace.x) == n
        assert list(trace.y) == pytest.approx([(n - i) / n for i in range(n)])


def test_throughput_bins_count_every_op() -> None:
    """Throughput bins have a round width and their rates add back up to the operation count."""
    ops = big_ops(100_000)
    fig = figure_throughput(ops, span_s=100.0)
    for trace in fig.data:
        x, rate = np.asarray(trace.x), np.asarray(trace.y)
        width = x[1] - x[0]
        assert width == pytest.approx(0.5)  # 100 s in at most 200 bins: 0.5 s
        assert len(x) <= 202
        assert rate[:-1].sum() * width == pytest.approx((ops["storage"] == trace.name).sum())


def test_report_of_a_million_ops_stays_small(
    results: dict[str, Any], million_ops: pd.DataFrame, tmp_path: Path
) -> None:
    """A run of 10^6 operations gives a report a few hundred KB bigger than plotly's JS."""
    result = dataclasses.replace(results["ch06-lab"], ops=million_ops)
    out = storsim.write_report(result, tmp_path / "big.html")
    assert out.stat().st_size < len(PLOTLY_JS) + 400_000


def test_each_series_has_one_colour(results: dict[str, Any]) -> None:
    """Every figure draws the first series of a storage choice in its colour from
    STORAGE_COLORS, and two series of one choice (an NFS and an S3-FUSE bind) in two."""
    checked = 0
    for result in results.values():
        for section in result_sections(result):
            for fig in (p for p in section.parts if isinstance(p, go.Figure)):
                colors: dict[str, str] = {}
                for trace in fig.data:
                    if not trace.name:
                        continue
                    color = trace.line.color if trace.type == "scatter" else None
                    colors[trace.name] = color or trace.marker.color
                firsts: dict[str, str] = {}
                for name, color in colors.items():
                    base = name.split(" (")[0].split(":")[0]
                    if base in STORAGE_COLORS and base not in firsts:
                        assert color == STORAGE_COLORS[base], (section.title, name)
                        firsts[base] = name
                        checked += 1
                assert len(set(colors.values())) == len(colors), (section.title, colors)
    assert checked > 20
    split = results["bind-local-vs-distributed"]
    names = {t.name for s in result_sections(split) for p in s.parts if isinstance(p, go.Figure)
             for t in p.data}  # fmt: skip
    assert {"distributed_bind (nas, nfs)", "distributed_bind (bucket, s3-fuse)"} <= names


def test_every_summary_column_is_rendered(results: dict[str, Any], tmp_path: Path) -> None:
    """Columns the report does not know yet (future conflict counts) still show, readably."""
    result = results["copy-up"]
    summary = result.summary.assign(conflicts_eexist=3, stale_reads=0, fsync_wait_ms=1.5)
    out = storsim.write_report(dataclasses.replace(result, summary=summary), tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    for heading in ("conflicts eexist", "stale reads", "fsync wait (ms)", "p99 (ms)"):
        assert f"<th>{heading}</th>" in page


def test_cells_use_readable_units() -> None:
    """Bytes show in binary units with the exact count as a tooltip; NaN shows as a dash."""
    table = table_html(
        pd.DataFrame({"storage": ["volume"], "copy_up_bytes": [3 * 2**20], "p50_ms": [math.nan]})
    )
    assert '<td class="num" title="3,145,728 bytes">3.0 MiB</td>' in table
    assert '<td class="num">-</td>' in table
    assert [format_bytes(n) for n in (0, 1536, 2**30, 5 * 2**40)] == [
        "0 B", "1.5 KiB", "1.0 GiB", "5.0 TiB",
    ]  # fmt: skip


def test_text_is_escaped(tiny: dict[str, Any], tmp_path: Path) -> None:
    """Names from the scenario cannot inject markup into the page."""
    tiny["name"] = "<img src=x onerror=alert(1)>"
    result = storsim.simulate(storsim.load_scenario(tiny))
    page = storsim.write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_write_html_assembles_any_sections(tmp_path: Path) -> None:
    """write_html binds figures, tables, markup and text into one page (for sweep reports)."""
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="volume"))
    df = pd.DataFrame({"storage": ["tmpfs"], "p99_ms": [0.25]})
    out = write_html(
        [Section("One", [fig, df], intro="why"), Section("Two", [Html("<em>x</em>"), "a & b"])],
        tmp_path / "page.html",
        title="A sweep",
        meta={"seed": "1"},
    )
    page = out.read_text(encoding="utf-8")
    assert headings(page) == ["One", "Two"]
    assert '<a href="#one">One</a>' in page
    assert "<em>x</em>" in page
    assert "a &amp; b" in page
    with pytest.raises(TypeError, match="a report part must be"):
        write_html([Section("Bad", [object()])], tmp_path / "bad.html", title="x")
    assert not (tmp_path / "bad.html").exists()
