"""Validation: each measured experiment simulated with a host profile, and compared.

Like a weather service that scores its forecasts against the next day's readings, and
only on days it did not tune the model on, ``storsim validate`` builds for each measured
point a tiny scenario that does what the benchmark did (a copy-up of a lower file of
that size, stats through that many layers, fio's loop of 4 KiB writes...), simulates it
with the profile's host, and compares the distributions: the medians (the error), the
shape along the experiment's sweep (does the predicted time grow over the sizes, layers
or writers as the measured one does?), and DiskSim's *demerit figure*: the root mean
square horizontal distance between the measured and the simulated latency CDFs (here
over the 1st to 99th percentiles), as a share of the measured mean.

The points a profile was fitted on (its ``fit:`` block) are marked and left out of the
error figure: the last line's median error is on held-out points only.

Experiments the model has no counterpart for are listed with the reason
(:data:`NOT_SIMULATED`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from storsim.calibrate.datapath import PREPARE_WRITE_BYTES
from storsim.calibrate.fit import point_key
from storsim.calibrate.plan import FULL, QUICK
from storsim.calibrate.plan import Plan as MeasurePlan
from storsim.calibrate.schema import Experiment, Measurements, Point
from storsim.scenario import load_scenario
from storsim.simulation import simulate

__all__ = [
    "NOT_SIMULATED",
    "PointResult",
    "SeriesResult",
    "Validation",
    "demerit",
    "print_table",
    "validate",
    "write_validation_report",
]

NOT_SIMULATED = {
    "timer": "the clock's own cost: no storage operation to simulate",
    "rmw": "per-cycle times of several processes need iteration ids the op table lacks",
    "append_race": "per-append times of several processes (as rmw)",
    "remote_ops": "no remote measured",
    "remote_staleness": "no remote measured",
}
"""Experiments measured but not simulated, and why."""

# How far a shape may drift: at every point of a sweep, the predicted growth (its
# median over the first point's) within this factor of the measured growth. Every
# point, not the last alone: the fit's calibration points along a sweep are its first
# and last (storsim.calibrate.fit.fit_points), so a shape judged at the ends only would
# be judged on fitted points and could hardly fail; the held-out points between them
# are what tests it. There is no "both flat" pass either: a sweep measured x1.9 and
# predicted x0.55 differs by 3.5 and goes the other way.
SHAPE_FACTOR = 2.0
# A sweep's growth under this factor is described as "flat" (a word in the table only).
FLAT_GROWTH = 2.0
# The percentiles the demerit figure compares (DiskSim: the whole CDF; the extreme
# tails of a few samples say little).
_QUANTILES = np.linspace(0.01, 0.99, 99)


def demerit(measured: Sequence[float], simulated: Sequence[float]) -> float:
    """DiskSim's demerit figure, relative: the RMS distance between the two latency
    distributions' quantile functions (1st to 99th percentile), over the measured mean.

    Raises:
        ValueError: either sample is empty.
    """
    if not measured or not simulated:
        raise ValueError("demerit needs samples on both sides")
    m = np.quantile(np.asarray(measured, dtype=float), _QUANTILES)
    s = np.quantile(np.asarray(simulated, dtype=float), _QUANTILES)
    return float(np.sqrt(np.mean((m - s) ** 2)) / max(float(np.mean(measured)), 1e-12))


# ---------------------------------------------------------------------------------------
# The tiny scenarios: one builder per experiment, from a point's params and the plan the
# measurements were made with (how many paths a lookup pass takes...).

PLANS = {"quick": QUICK, "full": FULL}


@dataclass(frozen=True, slots=True)
class Plan:
    """How to simulate one point: a scenario per repetition, and which rows to take.

    Attributes:
        scenario: the scenario mapping (its ``host`` is filled in later).
        take: picks the rows whose ``latency_s`` are the point's samples.
        reps: scenarios to run, seeds 1..reps (a fresh host each: cold states).
    """

    scenario: dict[str, Any]
    take: Callable[[Any], Any]
    reps: int = 1


def _rows(workload: str, op: str, skip: int = 0) -> Callable[[Any], Any]:
    def take(ops: Any) -> Any:
        rows = ops[(ops["workload"] == workload) & (ops["op"] == op)]
        return rows.iloc[skip:]["latency_s"]

    return take


def _scenario(**parts: Any) -> dict[str, Any]:
    return {"name": "validate", "seed": 1, "duration": "1000 s", **parts}


def _layers_image(layers: int, per_layer: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """An image of ``layers`` layers, base first; ``per_layer(i)`` gives layer i's
    content, i = 0 the bottom."""
    return {"layers": [{"name": f"l{i}", **per_layer(i)} for i in range(layers)]}


def _copy_up(p: Mapping[str, Any], quick: bool, plan: MeasurePlan) -> Plan:
    size = int(p["size_bytes"])
    ops: list[dict[str, Any]] = [{"op": "write", "size": 1, "offset": "start"}]
    if p["cache"] == "cached":  # the real run read the file just before
        ops.insert(0, {"op": "read", "size": size, "offset": "start"})
    else:  # cold: its data pages dropped, its inode and dentry still cached (a stat)
        ops.insert(0, {"op": "stat"})
    image = {"layers": [{"name": "base", "files": {"/data/f": size}}]}
    service = {
        "image": "img",
        "workload": [{"name": "w", "path": "/data/f", "count": 1, "ops": ops}],
    }
    return Plan(
        _scenario(images={"img": image}, services={"s": service}),
        _rows("w", "write"),
        3 if quick else 5,
    )


def _copy_up_meta(p: Mapping[str, Any], quick: bool, plan: MeasurePlan) -> Plan:
    size = int(p["size_bytes"])
    op = {"op": "chmod", "mode": 0o600} if p["op"] == "chmod" else {"op": "open", "flags": "w"}
    ops = [{"op": "read", "size": size, "offset": "start"}, op]
    image = {"layers": [{"name": "base", "files": {"/data/f": size}}]}
    service = {
        "image": "img",
        "workload": [{"name": "w", "path": "/data/f", "count": 1, "ops": ops}],
    }
    host = {"overlay": {"metacopy": p["metacopy"] == "on", "redirect_dir": p["metacopy"] == "on"}}
    return Plan(
        _scenario(images={"img": image}, services={"s": service}, host=host),
        _rows("w", str(op["op"])),
        3 if quick else 5,
    )


def _lookup_like(
    layers: int,
    state: str,
    per_layer: Callable[[int], dict[str, Any]],
    paths: Sequence[str],
    op: str,
    quick: bool,
) -> Plan:
    """A lookup-like operation (stat, readdir) on each of ``paths`` in turn, one pass as
    the benchmark makes it (:mod:`storsim.calibrate.lookups`), through ``layers`` layers
    (0: a volume at ``/v`` holding the bottom layer's content), in a state: ``cold`` (a
    pass on a fresh host: the layers' roots are read by its first operation and cached
    for the others), ``fresh`` (a pass in a second container, after one in another),
    ``warm`` (a second pass in the same container)."""
    n = len(paths)
    warm = state == "warm"

    def work(name: str, start: str = "0 s") -> dict[str, Any]:
        steps = [{"op": op, "path": path} for path in paths]
        return {"name": name, "path": paths[0], "count": 2 if warm else 1, "ops": steps,
                "start": start}  # fmt: skip

    if layers == 0:
        image = {"layers": [{"name": "base", "files": {"/etc/hostname": 1}}]}
        service: dict[str, Any] = {
            "image": "img",
            "volumes": ["vol:/v"],
            "prefill": {"/v": _under("/v", per_layer(0))},
            "workload": [work("w")],
        }
        services = {"s": service}
        extra: dict[str, Any] = {"volumes": {"vol": {}}}
    else:
        image = _layers_image(layers, per_layer)
        services = {"s": {"image": "img", "workload": [work("w")]}}
        extra = {}
    if state == "fresh" and layers > 0:
        services = {
            "a": {"image": "img", "workload": [work("a")]},
            "s": {"image": "img", "workload": [work("w", "1 s")]},
        }
    reps = 1 if warm else (2 if quick else 3)
    return Plan(
        _scenario(images={"img": image}, services=services, **extra),
        _rows("w", op, n if warm else 0),
        reps,
    )


def _under(mount: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """A layer's content as a prefill of the volume at ``mount`` (paths made relative)."""
    files = {k.removeprefix(mount): v for k, v in content.get("files", {}).items()}
    dirs = [d.removeprefix(mount) for d in content.get("dirs", []) if d != mount]
    return {"files": files, "dirs": dirs} if dirs else {"files": files}


def _lookup(p: Mapping[str, Any], quick: bool, plan: MeasurePlan) -> Plan:
    """stat of ``h<k>/f`` (hit: ``f`` in the bottom layer, ``h<k>`` in every layer) or of
    ``m<k>/x`` (miss: ``x`` nowhere, ``m<k>`` in every layer), ``lookup_paths`` of them."""
    layers = int(p["layers"])
    root = "/v" if layers == 0 else ""
    k = range(plan.lookup_paths)

    def content(i: int) -> dict[str, Any]:
        dirs = [f"{root}/h{j}" for j in k] + [f"{root}/m{j}" for j in k]
        files = {f"{root}/h{j}/f": 1 for j in k} if i == 0 else {}
        return {"files": files, "dirs": dirs}

    hit = p["result"] == "hit"
    names = [f"{root}/h{j}/f" if hit else f"{root}/m{j}/x" for j in k]
    return _lookup_like(layers, str(p["state"]), content, names, "stat", quick)


def _lookup_depth(p: Mapping[str, Any], quick: bool, plan: MeasurePlan) -> Plan:
    """stat of ``p<k>/c/.../f`` of ``depth`` components, every directory in every layer,
    ``f`` in the bottom one (depth 1: ``p<k>`` itself, a file of the bottom layer)."""
    depth, layers = int(p["depth"]), int(p["layers"])
    names = [
        "/" + "/".join([f"p{j}", *["c"] * (depth - 2), "f"] if depth > 1 else [f"p{j}"])
        for j in range(plan.lookup_paths)
    ]

    def content(i: int) -> dict[str, Any]:
        dirs = [name.rpartition("/")[0] for name in names if depth > 1]
        return {"files": {name: 1 for name in names} if i == 0 else {}, "dirs": dirs}

    return _lookup_like(layers, str(p["state"]), content, names, "stat", quick)


def _readdir(p: Mapping[str, Any], quick: bool, plan: MeasurePlan) -> Plan:
    """Listing ``readdir_dirs`` directories of ``entries`` names each, entry i in layer
    i mod layers (every directory in every layer)."""
    layers, entries = int(p["layers"]), int(p["entries"])
    per = max(layers, 1)
    root = "/v" if layers == 0 else ""
    dirs = [f"{root}/r{j}" for j in range(plan.readdir_dirs)]

    def content(i: int) -> dict[str, Any]:
        files = {f"{d}/e{e}": 1 for d in dirs for e in range(i, entries, per)}
        return {"files": files, "dirs": dirs}

    return _lookup_like(layers, str(p["state"]), content, dirs, "readdir", quick)


def _data_path(p: Mapping[str, Any], quick: bool, plan: MeasurePlan) -> Plan:
    size = int(p["size_bytes"])
    append = p.get("pattern") == "append" or "append" in str(p.get("case", ""))
    op: dict[str, Any] = {"op": "append", "size": size} if append else {"op": "write", "size": size}
    count = min(int(p.get("ops_per_rep", 100)), 100 if quick else 400)
    if p["op"] == "read":
        op = {"op": "read", "size": size}
    steps = [op] if p["op"] != "fsync" else [op, {"op": "fsync"}]
    target = p["target"]
    where = {"backing": "/d", "tmpfs": "/t", "overlay_upper": "/u"}[str(target)]
    path = f"{where}/f"
    file_bytes = int(p.get("file_bytes") or 0)
    work: list[dict[str, Any]] = []
    start = "0 s"
    files: dict[str, int] = {}
    if file_bytes and not append:
        # The file was just made as calibrate makes it, so its pages are cached in the
        # folios that made them (storsim.backends.local.folio_bytes): written in 1 MiB
        # writes and fsynced, or, in an overlay's upper layer, written in a lower layer
        # and copied up (an open for writing, then the fsync).
        if target == "overlay_upper":
            files = {path: file_bytes}
            ops: list[dict[str, Any]] = [{"op": "open", "flags": "r+"}, {"op": "fsync"}]
            writes = 1
        else:
            ops = [{"op": "append", "size": PREPARE_WRITE_BYTES}, {"op": "fsync"}]
            writes = -(-file_bytes // PREPARE_WRITE_BYTES)
        work.append(
            {"name": "prepare", "path": path, "count": writes, "ops": ops, "keep_open": True}
        )
        start = "100 s"
    # fio opens its file once and keeps it open: no path walk per operation
    work.append(
        {"name": "w", "path": path, "count": count, "start": start, "ops": steps, "keep_open": True}
    )
    prefill = {} if files else {where: {"files": {"/f": 0}}}
    service = {
        "image": "img",
        "volumes": ["vol:/d"],
        "tmpfs": ["/t"],
        "prefill": prefill,
        "workload": work,
    }
    image = {"layers": [{"name": "base", "dirs": ["/u"], "files": files}]}
    scenario = _scenario(images={"img": image}, volumes={"vol": {}}, services={"s": service})
    return Plan(scenario, _rows("w", str(steps[-1]["op"])), 1)


BUILDERS: dict[str, tuple[Callable[[Mapping[str, Any], bool, MeasurePlan], Plan], str, str]] = {
    "copy_up": (_copy_up, "size_bytes", "affine in size"),
    "copy_up_meta": (_copy_up_meta, "size_bytes", "flat in size with metacopy or O_TRUNC"),
    "lookup": (_lookup, "layers", "linear in layers cold and fresh, flat warm"),
    "lookup_depth": (_lookup_depth, "depth", "linear in depth"),
    "readdir": (_readdir, "entries", "linear in entries"),
    "data_path": (_data_path, "size_bytes", "affine in size"),
    "data_path_tmpfs": (_data_path, "size_bytes", "affine in size"),
    "data_path_overlay": (_data_path, "size_bytes", "affine in size"),
}
"""Per experiment: the scenario builder, the sweep param, and the expected shape."""


# ---------------------------------------------------------------------------------------
# Results


@dataclass(slots=True)
class PointResult:
    """One point measured and simulated.

    Attributes:
        experiment: its experiment.
        params: its params.
        key: its :func:`point_key`.
        measured_s: the measured median (s).
        predicted_s: the simulated median (s).
        error: predicted over measured, less 1 (0.12: 12 % too slow).
        demerit: the relative demerit figure (see :func:`demerit`).
        calibration: whether the profile was fitted on it.
        measured: the measured samples; simulated: the simulated ones.
    """

    experiment: str
    params: dict[str, Any]
    key: str
    measured_s: float
    predicted_s: float
    error: float
    demerit: float
    calibration: bool
    measured: list[float] = field(repr=False, default_factory=list)
    simulated: list[float] = field(repr=False, default_factory=list)


@dataclass(slots=True)
class SeriesResult:
    """One sweep of an experiment (the other params fixed): does the shape hold?

    Attributes:
        experiment: its experiment.
        label: the fixed params, ``cache=cold``.
        along: the swept param.
        measured_growth: last over first measured median along the sweep.
        predicted_growth: the same, simulated.
        holds: the shapes agree: at every point, the predicted growth from the first
            point within :data:`SHAPE_FACTOR` of the measured growth (False when a
            first median is not positive: no growth to compare).
        points: the points, in sweep order.
        worst: the point whose predicted growth strays furthest (its along value).
    """

    experiment: str
    label: str
    along: str
    measured_growth: float
    predicted_growth: float
    holds: bool
    points: list[PointResult]
    worst: Any = None

    @property
    def shape(self) -> str:
        """The measured shape in words."""
        g = self.measured_growth
        return "flat" if 1 / FLAT_GROWTH < g < FLAT_GROWTH else f"x{g:.3g}"


@dataclass(slots=True)
class Validation:
    """The whole validation: points, series, what was not simulated."""

    points: list[PointResult]
    series: list[SeriesResult]
    not_simulated: dict[str, str]
    calibration_keys: set[str]

    @property
    def held_out(self) -> list[PointResult]:
        """The points not used to fit."""
        return [p for p in self.points if not p.calibration]

    def summary(self) -> str:
        """The last line: ``validation: 27 of 29 shapes hold, median error 12 % on held-out
        points``."""
        holds = sum(s.holds for s in self.series)
        held = self.held_out
        # a held-out point the model could not simulate counts as missed, not as absent
        errors = [abs(p.error) if math.isfinite(p.error) else math.inf for p in held]
        median = statistics.median(errors) * 100 if errors else math.nan
        return (
            f"validation: {holds} of {len(self.series)} shapes hold, median error "
            f"{median:.0f} % on {len(held)} held-out points"
        )


def _samples(plan: Plan, host: Mapping[str, Any]) -> list[float]:
    scenario = dict(plan.scenario)
    merged = _merge(dict(host), plan.scenario.get("host", {}))
    scenario["host"] = merged
    loaded = load_scenario(scenario)
    out: list[float] = []
    for seed in range(1, plan.reps + 1):
        result = simulate(loaded, seed=seed, compare=False, max_ops=None)
        out.extend(float(x) for x in plan.take(result.ops))
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def _series_label(params: Mapping[str, Any], along: str, experiment: str) -> str:
    skip = {along, "fs_type", "file_bytes", "ops_per_rep", "reps", "case"}
    if experiment.startswith("data_path"):
        skip |= {"target"}
    return ",".join(f"{k}={v}" for k, v in params.items() if k not in skip)


def validate(
    doc: Measurements,
    host: Mapping[str, Any],
    calibration: Iterable[str] = (),
    *,
    quick: bool = False,
    progress: TextIO | None = None,
) -> Validation:
    """Simulate every point of every experiment that has a builder, and compare.

    Args:
        doc: the measurements.
        host: the profile's ``host:`` mapping (:func:`~storsim.scenario.profile.read_host_profile`).
        calibration: the keys of the points the profile was fitted on.
        quick: fewer simulated repetitions.
        progress: where to say which experiment runs (None: nowhere).
    """
    used = set(calibration)
    points: list[PointResult] = []
    series: list[SeriesResult] = []
    skipped = {
        e.name: NOT_SIMULATED.get(e.name, "no scenario builder")
        for e in doc.experiments
        if e.name not in BUILDERS
    }
    for s in doc.skipped:
        skipped.setdefault(s.name, f"not measured: {s.reason}")
    for experiment in doc.experiments:
        if experiment.name not in BUILDERS:
            continue
        if progress is not None:
            print(
                f"  simulating {experiment.name} ({len(experiment.points)} points)",
                file=progress,
                flush=True,
            )
        done = _experiment(experiment, host, used, quick, PLANS[doc.mode])
        points.extend(done)
        series.extend(_series(experiment.name, done))
    return Validation(points, series, skipped, used)


def _experiment(
    experiment: Experiment,
    host: Mapping[str, Any],
    used: set[str],
    quick: bool,
    plan: MeasurePlan,
) -> list[PointResult]:
    build = BUILDERS[experiment.name][0]
    out = []
    for point in experiment.points:
        sim = _samples(build(point.params, quick, plan), host)
        out.append(_compare(experiment.name, point, sim, used))
    return out


def _compare(name: str, point: Point, sim: list[float], used: set[str]) -> PointResult:
    key = point_key(name, point.params)
    measured = _median(point.samples_s)
    predicted = _median(sim)
    error = predicted / measured - 1 if measured > 0 and sim else math.nan
    score = demerit(point.samples_s, sim) if sim and point.samples_s else math.nan
    return PointResult(
        name,
        dict(point.params),
        key,
        measured,
        predicted,
        error,
        score,
        key in used,
        list(point.samples_s),
        sim,
    )


def _series(name: str, done: list[PointResult]) -> list[SeriesResult]:
    along = BUILDERS[name][1]
    groups: dict[str, list[PointResult]] = {}
    for p in done:
        groups.setdefault(_series_label(p.params, along, name), []).append(p)
    out = []
    for label, members in groups.items():
        members.sort(key=lambda p: float(p.params[along]))
        if len({p.params[along] for p in members}) < 2:
            continue
        first, last = members[0], members[-1]
        if not (first.measured_s > 0 and first.predicted_s > 0):  # nothing to compare:
            out.append(SeriesResult(name, label, along, math.nan, math.nan, False, members))
            continue  # a shape that cannot be checked does not hold
        gm = last.measured_s / first.measured_s
        gp = last.predicted_s / first.predicted_s
        drift = {
            p.params[along]: abs(
                math.log((p.predicted_s / first.predicted_s) / (p.measured_s / first.measured_s))
            )
            if p.predicted_s > 0 and p.measured_s > 0
            else math.inf
            for p in members[1:]
        }
        worst = max(drift, key=lambda k: drift[k])
        holds = drift[worst] <= math.log(SHAPE_FACTOR)
        out.append(SeriesResult(name, label, along, gm, gp, holds, members, worst))
    return out


# ---------------------------------------------------------------------------------------
# Output


def _t(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x * 100:+.0f} %"


def table_rows(v: Validation) -> list[list[str]]:
    """One row per point: experiment, point, measured, predicted, error, demerit, role."""
    rows = []
    for p in v.points:
        label = _series_label(p.params, "", p.experiment) or "-"
        rows.append(
            [
                p.experiment,
                label,
                _t(p.measured_s),
                _t(p.predicted_s),
                _pct(p.error),
                "-" if not math.isfinite(p.demerit) else f"{p.demerit * 100:.0f} %",
                "fit" if p.calibration else "held-out",
            ]
        )
    return rows


def print_table(v: Validation, stream: TextIO) -> None:
    """Print the points, the shapes, what was not simulated, and the summary line."""
    head = ["experiment", "point", "measured", "predicted", "error", "demerit", "role"]
    rows = table_rows(v)
    widths = [
        max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i])
        for i in range(len(head))
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print(line, file=stream)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)), file=stream)
    print(file=stream)
    print("shapes (growth = last / first median along the sweep):", file=stream)
    for s in v.series:
        verdict = "holds" if s.holds else f"FAILS (at {s.along}={s.worst})"
        print(
            f"  {s.experiment} [{s.label}] along {s.along}: measured {s.shape} "
            f"(x{s.measured_growth:.3g}), predicted x{s.predicted_growth:.3g}: {verdict}",
            file=stream,
        )
    for name, reason in v.not_simulated.items():
        print(f"  {name}: not simulated ({reason})", file=stream)
    print(
        "per experiment: held-out points, their median |error|, the median demerit "
        "figure (of the measured mean) over all its points, shapes holding:",
        file=stream,
    )
    for name in dict.fromkeys(p.experiment for p in v.points):
        mine = [p for p in v.points if p.experiment == name]
        held = [
            abs(p.error) if math.isfinite(p.error) else math.inf for p in mine if not p.calibration
        ]
        scores = [p.demerit for p in mine if math.isfinite(p.demerit)]
        shapes = [s for s in v.series if s.experiment == name]
        error = f"{statistics.median(held) * 100:.0f} %" if held else "-"
        score = f"{statistics.median(scores) * 100:.0f} %" if scores else "-"
        print(
            f"  {name}: {len(held)} held out, error {error}, demerit {score}, "
            f"shapes {sum(s.holds for s in shapes)} of {len(shapes)}",
            file=stream,
        )
    print(
        f"calibration points (excluded from the error): {len(v.points) - len(v.held_out)}",
        file=stream,
    )
    print(v.summary(), file=stream)


def write_validation_report(v: Validation, path: str | Path, *, title: str) -> Path:
    """The HTML report: per experiment, measured and predicted medians along its sweep
    (one line each per series), and the CDFs of its held-out points; then the table."""
    import pandas as pd
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    from storsim.report.page import Section, write_html

    sections = [Section("Summary", [v.summary()], box=True)]
    by_exp: dict[str, list[SeriesResult]] = {}
    for s in v.series:
        by_exp.setdefault(s.experiment, []).append(s)
    for name, members in by_exp.items():
        fig = go.Figure()
        along = members[0].along
        for s in members:
            xs = [float(p.params[along]) for p in s.points]
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[p.measured_s for p in s.points],
                    mode="lines+markers",
                    name=f"{s.label} measured",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=[p.predicted_s for p in s.points],
                    mode="lines+markers",
                    line={"dash": "dash"},
                    name=f"{s.label} predicted",
                )
            )
        log_x = along != "layers" or all(
            float(p.params[along]) > 0 for s in members for p in s.points
        )
        fig.update_layout(
            xaxis_title=along,
            yaxis_title="median latency (s)",
            xaxis_type="log" if log_x else "linear",
            yaxis_type="log",
        )
        cdf = go.Figure()
        for p in [p for p in v.points if p.experiment == name and not p.calibration][:6]:
            for label, data, dash in (
                ("measured", p.measured, None),
                ("predicted", p.simulated, "dash"),
            ):
                ordered = np.sort(np.asarray(data))
                cdf.add_trace(
                    go.Scatter(
                        x=ordered,
                        y=np.arange(1, len(ordered) + 1) / len(ordered),
                        mode="lines",
                        line={"dash": dash},
                        name=f"{_series_label(p.params, '', name)} {label}",
                    )
                )
        cdf.update_layout(xaxis_title="latency (s)", yaxis_title="CDF", xaxis_type="log")
        sections.append(
            Section(
                name,
                [fig, cdf],
                intro="Solid: measured; dashed: simulated with the profile. Expected "
                f"shape: {BUILDERS[name][2]}.",
            )
        )
    frame = pd.DataFrame(
        table_rows(v),
        columns=["experiment", "point", "measured", "predicted", "error", "demerit", "role"],
    )
    sections.append(Section("All points", [frame]))
    return write_html(sections, path, title=title)
