"""The verdict: the answer first, in a few lines, before any table.

Like the summary a structural engineer writes on the first page of a survey ("beam B is
safe; beam A carries the load but sags 4 cm; beam C cracks at the joint"), before the
pages of measurements: :func:`judge` reads a :class:`~storsim.simulation.Result` and
says, for a scenario with a ``compare:`` section, each placement of ``compare.path`` in
one line, best first, the best one named and why each other one loses; without one, what
each storage choice the run used did. It also collects the warnings a reader must not
miss (no operation at all, a workload that stopped working at its first error, mass
errors and where they come from, a device that cannot keep up). The command line, the
``--json`` document and the HTML report all print this one :class:`Verdict`.

The ranking rule (:data:`RULE`), correctness first:

1. a placement with no operation on the path ranks last (it answers nothing);
2. a placement that loses data (at ``docker stop`` or ``rm``), leaves data behind in
   orphaned anonymous volumes, loses updates, tears records, serves stale reads, fails
   operations or has its lock calls refused ranks below every placement that does none
   of these, unless the scenario accepts that problem (``accept``); among placements
   with problems, fewer kinds of problem first;
3. then the latency tail: p99, then p99.9;
4. then throughput (higher first);
5. then the median and the mean latency, then the name.

Latencies and throughputs within :data:`TOLERANCE` (5 %) of the best of a group count as
equal and leave the decision to the next key, so that float noise between two equally
good placements does not pick a winner.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from storsim.report.format import format_bytes, format_duration
from storsim.report.placements import (
    describe_placement,
    describe_storage,
    placement_label,
)
from storsim.run.overload import OVERLOAD_COLUMNS as _OVERLOAD_COLUMNS
from storsim.stats.diagnostics import error_sources, workload_health
from storsim.stats.series import REMOTE_STORAGE, mount_series, remote_profiles, series_summary
from storsim.stats.summary import plain_value

__all__ = [
    "OVERLOAD_COLUMNS",
    "PROBLEMS",
    "RULE",
    "TOLERANCE",
    "Verdict",
    "VerdictRow",
    "VerdictWarning",
    "error_lines",
    "judge",
    "verdict_json",
    "verdict_lines",
]

#: Relative difference under which two latencies (or throughputs) count as equal.
TOLERANCE = 0.05

#: The ranking rule, as printed with every verdict.
RULE = (
    "correctness first (losing data at stop/rm, data left in orphaned volumes, lost "
    "updates, lost records, torn records, stale reads, failed operations or refused locks "
    "rank below none of these, unless the scenario accepts them), then the p99 and p99.9 latency, "
    f"then throughput, then p50 and mean; values within {TOLERANCE:.0%} count as equal"
)

#: The correctness problems, in the order they are named: (kind, summary column).
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("data_lost", "data_lost_bytes"),
    ("orphaned", "orphaned_bytes"),
    ("lost_updates", "lost_updates"),
    ("lost_records", "lost_records"),
    ("torn", "torn_writes"),
    ("stale_reads", "stale_reads"),
    ("errors", "errors"),
    ("lock_errors", "lock_errors"),
)

#: Columns of an overload frame (``Result.overload``, one row per device or server:
#: :mod:`storsim.run.overload`). A comparison row carries an ``overload`` column naming
#: the devices that could not keep up in that placement.
OVERLOAD_COLUMNS = _OVERLOAD_COLUMNS

#: The metrics each verdict row carries (summary columns).
ROW_METRICS: tuple[str, ...] = (
    "ops", "p50_ms", "p99_ms", "p999_ms", "mean_ms", "throughput_ops_s", "copy_ups",
    "copy_up_bytes", "errors", "lock_errors", "lost_updates", "lost_records", "torn_writes",
    "stale_reads", "data_lost_bytes", "orphaned_volumes", "orphaned_bytes",
)  # fmt: skip

# A workload "has mass errors" from this many failures, or from half its operations
# (and at least _MASS_MIN): one failed config write is a demonstration, 58,942 are a bug.
_MASS_COUNT = 1000
_MASS_MIN = 10


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One placement (or storage choice) in the verdict.

    Attributes:
        rank: 1 for the best placement; None for the storage choices of a run without
            ``compare:`` (they are listed, not ranked).
        name: the placement as ``Result.comparison`` names it (``"distributed_bind:nas"``),
            or the series (``"distributed_bind (nas, nfs)"``).
        label: the display name (``"distributed_bind (nas, nfs)"``).
        description: what the placement means (:mod:`storsim.report.placements`).
        metrics: :data:`ROW_METRICS` -> value (NaN where there is none).
        problems: the correctness problems, in words (``"loses 9.0 MiB at rm"``).
        accepted: the problems the scenario accepts (named, not ranked on).
        why: for the best, why it wins; for the others, why they lose to it.
        overload: devices that could not keep up in this placement.
    """

    rank: int | None
    name: str
    label: str
    description: str
    metrics: dict[str, float]
    problems: tuple[str, ...]
    accepted: tuple[str, ...] = ()
    why: str = ""
    overload: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VerdictWarning:
    """Something the reader must not miss: ``kind`` is ``"no_operations"``,
    ``"stopped_after_error"``, ``"mass_errors"`` or ``"overload"``."""

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of a run, first.

    Attributes:
        kind: ``"placements"`` (a ``compare:`` section) or ``"storage"``.
        question: the question answered, in words.
        path: the compared path (None without ``compare:``).
        rows: the placements, best first; or the storage choices used, in storage order.
        best: the best placement's label (None without ``compare:`` or placements).
        headline: one line: the best placement and why; or what the run found.
        rule: how the placements are ranked (:data:`RULE`).
        warnings: what must not be missed.
        errors: the failed operations, one line per storage choice and errno, with the
            workloads and paths they come from.
        overload: the overload frame's rows (:data:`OVERLOAD_COLUMNS`) of devices that
            could not keep up.
        caveats: what the run could not show (a tmpfs that is never stopped).
    """

    kind: str
    question: str
    path: str | None
    rows: tuple[VerdictRow, ...]
    best: str | None
    headline: str
    rule: str = RULE
    warnings: tuple[VerdictWarning, ...] = ()
    errors: tuple[str, ...] = ()
    overload: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    caveats: tuple[str, ...] = ()


# --- building ------------------------------------------------------------------------


def judge(
    result: Any,
    *,
    accept: Collection[str] | None = None,
    overload: pd.DataFrame | None = None,
) -> Verdict:
    """The verdict of a run.

    Args:
        result: a :class:`storsim.Result`.
        accept: problem kinds (:data:`PROBLEMS`) the scenario accepts: they are shown
            but do not rank a placement down. By default ``compare.accept`` if the
            scenario has one, else none.
        overload: the overload frame (:data:`OVERLOAD_COLUMNS`); by default
            ``result.overload`` if the Result has one.

    Returns:
        The :class:`Verdict`.

    Raises:
        ValueError: ``accept`` names a problem kind that :data:`PROBLEMS` lacks.
    """
    scenario = result.scenario
    if accept is None:
        accept = getattr(scenario.compare, "accept", None) or ()
    unknown = set(accept) - {kind for kind, _ in PROBLEMS}
    if unknown:
        kinds = ", ".join(kind for kind, _ in PROBLEMS)
        raise ValueError(f"accept must name problems of {kinds} (got {sorted(unknown)!r})")
    if overload is None:
        overload = getattr(result, "overload", None)
    hot = _overloaded(overload)
    warnings = _warnings(result, hot)
    errors = tuple(error_lines(result))
    if result.comparison is not None and scenario.compare is not None:
        rows, best, headline = _placements(result, frozenset(accept))
        path = scenario.compare.path
        question = f"where should {path} live? (the operations on {path}, best first)"
        kind = "placements"
        for row in rows:
            if row.metrics.get("ops", 0) == 0:
                warnings.append(
                    VerdictWarning(
                        "no_operations", f"placement {row.label}: no operation on {path}"
                    )
                )
    else:
        rows, headline = _storages(result, frozenset(accept))
        best, path, kind = None, None, "storage"
        question = "what each storage choice of the run did"
    return Verdict(
        kind=kind,
        question=question,
        path=path,
        rows=tuple(rows),
        best=best,
        headline=headline,
        warnings=tuple(warnings),
        errors=errors,
        overload=tuple(hot),
        caveats=tuple(_caveats(result, best) if kind == "placements" else ()),
    )


def _metrics(row: Mapping[Any, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for column in ROW_METRICS:
        value = row.get(column)
        try:
            out[column] = float(value) if value is not None else math.nan
        except (TypeError, ValueError):
            out[column] = math.nan
    if math.isnan(out["ops"]):
        out["ops"] = 0.0
    return out


def _count(metrics: dict[str, float], column: str) -> int:
    value = metrics.get(column, 0.0)
    return int(value) if math.isfinite(value) else 0


def _problems(metrics: dict[str, float], name: str) -> list[tuple[str, str]]:
    """(kind, words) of each correctness problem of a row."""
    choice = name.split(":", 1)[0].split(" (", 1)[0]
    when = {"writable_layer": "rm", "tmpfs": "stop"}.get(choice, "stop/rm")
    out = []
    for kind, column in PROBLEMS:
        n = _count(metrics, column)
        if n <= 0:
            continue
        if kind == "data_lost":
            text = f"loses {format_bytes(n)} at {when}"
        elif kind == "orphaned":
            vols = _count(metrics, "orphaned_volumes")
            text = f"leaves {format_bytes(n)} behind in {vols} orphaned anonymous volume" + (
                "s" if vols != 1 else ""
            )
        else:
            text = {
                "lost_updates": f"loses {n:,} update{'s' if n != 1 else ''}",
                "lost_records": f"overwrites {n:,} appended record{'s' if n != 1 else ''}",
                "torn": f"tears {n:,} record{'s' if n != 1 else ''}",
                "stale_reads": f"serves {n:,} stale read{'s' if n != 1 else ''}",
                "errors": f"fails {n:,} operation{'s' if n != 1 else ''}",
                "lock_errors": f"refuses {n:,} lock call{'s' if n != 1 else ''}",
            }[kind]
        out.append((kind, text))
    return out


#: What usually causes each problem, and what avoids it (shown for a run's storage).
HINTS: dict[str, str] = {
    "data_lost": "the data goes with the container: keep it on a volume",
    "orphaned": "a Dockerfile VOLUME makes a new anonymous volume at every run: name it",
    "lost_updates": "read-modify-writes overlapped: take a lock (lock: flock or fcntl)",
    "lost_records": "appends that seek to the end and then write raced to the same end of "
    "file, one record replacing the other: open with O_APPEND (one host) or take a lock "
    "(across NFS clients)",
    "torn": "concurrent writers damaged part of each other's records: take a lock",
    "stale_reads": "a client cache served data older than the last write (close-to-open, "
    "attribute cache)",
    "errors": "see the errors below",
    "lock_errors": "the mount refuses locks (ENOLCK): the updates were abandoned",
}

# (metric, higher is better, words) in ranking order after correctness
_KEYS: tuple[tuple[str, bool, str], ...] = (
    ("p99_ms", False, "p99"),
    ("p999_ms", False, "p99.9"),
    ("throughput_ops_s", True, "throughput"),
    ("p50_ms", False, "p50"),
    ("mean_ms", False, "mean"),
)


def _equal(a: float, b: float) -> bool:
    """Within :data:`TOLERANCE` (or both missing); 1 ns of slack for zero values."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b)) + 1e-6


@dataclass(slots=True)
class _Candidate:
    name: str
    metrics: dict[str, float]
    problems: list[tuple[str, str]]
    accept: frozenset[str]

    @property
    def ranked_problems(self) -> list[str]:
        return [kind for kind, _ in self.problems if kind not in self.accept]

    def correctness(self) -> tuple[int, int, int]:
        no_ops = 1 if self.metrics["ops"] == 0 else 0
        kinds = len(self.ranked_problems)
        return no_ops, 1 if kinds else 0, kinds


def _value(c: _Candidate, metric: str, higher: bool) -> float:
    v = c.metrics.get(metric, math.nan)
    return -v if higher and math.isfinite(v) else v


def _rank(cands: list[_Candidate], keys: Sequence[tuple[str, bool, str]]) -> list[_Candidate]:
    """Candidates ordered by ``keys`` in turn, values within the tolerance of the best of
    their group tied and ordered by the next key (a chain from the group's best, so the
    order does not depend on the input's)."""
    if len(cands) <= 1 or not keys:
        return sorted(cands, key=lambda c: c.name)
    metric, higher, _ = keys[0]

    def sort_key(c: _Candidate) -> tuple[bool, float, str]:
        v = _value(c, metric, higher)
        return (math.isnan(v), 0.0 if math.isnan(v) else v, c.name)

    ordered = sorted(cands, key=sort_key)
    out: list[_Candidate] = []
    i = 0
    while i < len(ordered):
        first = ordered[i].metrics.get(metric, math.nan)
        j = i + 1
        while j < len(ordered) and _equal(ordered[j].metrics.get(metric, math.nan), first):
            j += 1
        out += _rank(ordered[i:j], keys[1:])
        i = j
    return out


def rank_rows(
    rows: Sequence[dict[str, Any]], *, accept: Collection[str] = ()
) -> list[tuple[str, list[str]]]:
    """Rank summary rows by :data:`RULE`.

    Args:
        rows: dicts with a ``placement`` (or ``name``) and the summary columns.
        accept: problem kinds that do not rank a row down.

    Returns:
        ``(name, ranked problem kinds)`` per row, best first.
    """
    cands = []
    for row in rows:
        name = str(row.get("placement", row.get("name")))
        metrics = _metrics(row)
        cands.append(_Candidate(name, metrics, _problems(metrics, name), frozenset(accept)))
    return [(c.name, c.ranked_problems) for c in _order(cands)]


def _order(cands: list[_Candidate]) -> list[_Candidate]:
    groups: dict[tuple[int, int, int], list[_Candidate]] = {}
    for c in cands:
        groups.setdefault(c.correctness(), []).append(c)
    return [c for key in sorted(groups) for c in _rank(groups[key], _KEYS)]


def _decisive(row: _Candidate, best: _Candidate) -> tuple[str, bool, str] | None:
    """The first key (after correctness) on which ``row`` is worse than ``best``."""
    for metric, higher, words in _KEYS:
        a, b = row.metrics.get(metric, math.nan), best.metrics.get(metric, math.nan)
        if _equal(a, b):
            continue
        if math.isnan(a) or (a < b if higher else a > b):
            return metric, higher, words
        return None  # better on the first key that differs: lost on correctness only
    return None


def _metric_words(metric: str, value: float) -> str:
    if metric == "throughput_ops_s":
        return f"{value:,.0f} ops/s" if math.isfinite(value) else "-"
    return format_duration(value)


def _why_loses(row: _Candidate, best: _Candidate, best_label: str) -> str:
    parts = [text for kind, text in row.problems if kind not in row.accept]
    copy_text = ""
    copied = _count(row.metrics, "copy_up_bytes")
    if copied:
        n = _count(row.metrics, "copy_ups")
        each = format_bytes(copied / n) if n > 1 else format_bytes(copied)
        copy_text = f"copies {each} up on first write" + (f", {n:,} times" if n > 1 else "")
    decisive = _decisive(row, best) if row.correctness() == best.correctness() else None
    detail = ""
    if decisive is not None:
        metric, _, words = decisive
        detail = (
            f"{words} {_metric_words(metric, row.metrics[metric])} vs "
            f"{_metric_words(metric, best.metrics[metric])}"
        )
    if copy_text:
        parts.append(f"{copy_text} ({detail})" if detail else copy_text)
    elif detail:
        parts.append(detail)
    if row.metrics["ops"] == 0:
        parts.insert(0, "no operation on the path")
    if not parts:
        parts.append(f"ties with {best_label} within {TOLERANCE:.0%}")
    return "; ".join(parts)


def _why_wins(best: _Candidate, others: list[_Candidate]) -> str:
    if best.metrics["ops"] == 0:
        return "no placement did any operation on the path"
    problems = [text for kind, text in best.problems if kind not in best.accept]
    head = (
        "the least bad: it still " + "; ".join(problems)
        if problems
        else ("nothing lost, no conflict, no error")
    )
    tail = (
        f"p99 {format_duration(best.metrics['p99_ms'])}, "
        f"p99.9 {format_duration(best.metrics['p999_ms'])}, "
        f"{_metric_words('throughput_ops_s', best.metrics['throughput_ops_s'])}"
    )
    ties = [
        o.name
        for o in others
        if o.correctness() == best.correctness() and _decisive(o, best) is None
    ]
    if ties:
        tail += f" (ties with {', '.join(ties)} within {TOLERANCE:.0%})"
    return f"{head}; {tail}"


def _placements(result: Any, accept: frozenset[str]) -> tuple[list[VerdictRow], str | None, str]:
    scenario = result.scenario
    cands, overload = [], {}
    for row in result.comparison.to_dict("records"):
        name = str(row["placement"])
        metrics = _metrics(row)
        cands.append(_Candidate(name, metrics, _problems(metrics, name), accept))
        overload[name] = _overload_names(row.get("overload"))
    ordered = _order(cands)
    if not ordered:
        return [], None, "no placement was run"
    best = ordered[0]
    labels = {c.name: placement_label(c.name, scenario) for c in ordered}
    rows = []
    for rank, c in enumerate(ordered, start=1):
        why = _why_wins(c, ordered[1:]) if rank == 1 else _why_loses(c, best, labels[best.name])
        rows.append(
            VerdictRow(
                rank=rank,
                name=c.name,
                label=labels[c.name],
                description=describe_placement(c.name, scenario),
                metrics=c.metrics,
                problems=tuple(text for kind, text in c.problems if kind not in accept),
                accepted=tuple(text for kind, text in c.problems if kind in accept),
                why=why,
                overload=overload[c.name],
            )
        )
    headline = f"best: {labels[best.name]} ({rows[0].description}): {rows[0].why}"
    return rows, labels[best.name], headline


def _storages(result: Any, accept: frozenset[str]) -> tuple[list[VerdictRow], str]:
    table = series_summary(result)
    where = _where_used(result)
    rows = []
    flawed = []
    for row in table.to_dict("records"):
        name = str(row["series"])
        metrics = _metrics(row)
        problems = _problems(metrics, name)
        description = describe_storage(name)
        if where.get(name):
            description += f" ({where[name]})"
        ranked = [(kind, text) for kind, text in problems if kind not in accept]
        if ranked:
            flawed.append(f"{name} " + ", ".join(text for _, text in ranked))
        why = "; ".join(f"{text}: {HINTS[kind]}" for kind, text in ranked)
        rows.append(
            VerdictRow(
                rank=None,
                name=name,
                label=name,
                description=description,
                metrics=metrics,
                problems=tuple(text for _, text in ranked),
                accepted=tuple(text for kind, text in problems if kind in accept),
                why=why or "nothing lost, no conflict, no error",
            )
        )
    if not rows:
        headline = "no storage choice was used: the run did no file operation"
    elif flawed:
        headline = "problems: " + "; ".join(flawed)
    else:
        used = ", ".join(r.label for r in rows)
        headline = f"no data lost, no conflict, no error on {used}"
    return rows, headline


def _caveats(result: Any, best: str | None) -> list[str]:
    """What the run could not show about the best placement, and what its ranking
    leaves out (a container start-up spent filling a new volume)."""
    out = _startup_caveat(result, best)
    choice = (best or "").split(" (", 1)[0]
    if choice not in ("tmpfs", "writable_layer"):
        return out
    scenario = result.scenario
    services = [scenario.compare.service] if scenario.compare.service else scenario.services
    actions = {e.action for s in services for e in scenario.services[s].lifecycle}
    if ("stop" if choice == "tmpfs" else "rm") in actions:
        return []
    event = "docker stop" if choice == "tmpfs" else "docker rm"
    return [
        *out,
        f"{choice} keeps its data only until {event}, which this scenario never does: "
        "no loss could be counted (add it to the services' lifecycle to see it)",
    ]


def _startup_caveat(result: Any, best: str | None) -> list[str]:
    """The best placement's slowest container start-up, when Docker had to fill a new
    volume from the image first (the latencies ranked above do not include it)."""
    comparison = getattr(result, "comparison", None)
    if best is None or comparison is None or "startup_max_ms" not in comparison:
        return []
    rows = comparison[comparison["placement"] == best]
    slowest = float(rows["startup_max_ms"].max()) if len(rows) else 0.0
    if not slowest > 0:
        return []
    return [
        f"{best}: a container waits up to {format_duration(slowest)} at start-up while Docker "
        "copies the image's files into the new, empty volume (not in the latencies "
        "above; `volume: {nocopy: true}` skips the copy)"
    ]


def _where_used(result: Any) -> dict[str, str]:
    """Series -> the mount targets that use it (``"at /data"``)."""
    out: dict[str, str] = {}
    mounts = result.mounts
    if not len(mounts):
        return out
    remote = mount_series(mounts, remote_profiles(result.scenario))
    series = dict(zip(remote["target"], remote["series"], strict=True))
    for m in mounts.drop_duplicates(["target", "storage"]).to_dict("records"):
        name = str(m["storage"])
        if name == REMOTE_STORAGE:
            name = series.get(m["target"], name)
        targets = out.get(name)
        out[name] = f"{targets}, {m['target']}" if targets else f"at {m['target']}"
    return out


def _overload_names(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def _overloaded(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    hot = frame[frame["overloaded"].astype(bool)] if "overloaded" in frame else frame
    return [{str(k): plain_value(v) for k, v in row.items()} for row in hot.to_dict("records")]


# --- warnings and errors ------------------------------------------------------------


def _warnings(result: Any, hot: list[dict[str, Any]]) -> list[VerdictWarning]:
    out = []
    summary = result.summary
    if int(summary["ops"].sum()) == 0 and int(summary["locks"].sum()) == 0:
        out.append(
            VerdictWarning(
                "no_operations",
                "the scenario simulated no operation: check each workload's duration, "
                "count and start, and the services' lifecycle",
            )
        )
    if result.ops_mode == "full" and len(result.ops):
        out += _health_warnings(result.ops)
    for row in hot:
        util = row.get("utilisation")
        growth = row.get("queue_growth_per_s")
        detail = []
        if isinstance(util, int | float):
            detail.append(f"utilisation {util:.0%}")
        if isinstance(growth, int | float):
            detail.append(f"queue grows by {growth:,.1f} requests/s")
        out.append(
            VerdictWarning(
                "overload",
                f"{row.get('device', 'a device')} cannot keep up"
                + (f" ({', '.join(detail)})" if detail else "")
                + ": its latencies are the queue's, not the storage's",
            )
        )
    return out


def _health_warnings(ops: pd.DataFrame) -> list[VerdictWarning]:
    health = workload_health(ops)
    out = []
    stopped: set[tuple[str, str]] = set()
    for (service, workload), g in health.groupby(["service", "workload"], sort=False):
        dead = g[g["ok_after_error"] == 0]
        if dead.empty:
            continue
        stopped.add((str(service), str(workload)))
        first = dead.iloc[0]
        where = f"{first['first_errno']} on {first['first_error_path']}"
        runs = f" in {len(dead)} containers" if len(dead) > 1 else f" in {first['container']}"
        never = (dead["ops"] == dead["failed_after_error"]).all()
        if never:
            n = int(dead["errors"].sum())
            text = f"workload '{workload}'{runs}: every operation failed ({n:,} of {n:,}, {where})"
        else:
            text = (
                f"workload '{workload}'{runs} stopped working at its first error "
                f"(t = {first['first_error_t_s']:.6g} s, {where}): its "
                f"{int(dead['failed_after_error'].sum()):,} operations from then on all failed"
            )
        out.append(VerdictWarning("stopped_after_error", text))
    sources = error_sources(ops)
    if len(sources):
        totals = ops.groupby(["service", "workload"], observed=True).size()
        for (service, workload), g in sources.groupby(["service", "workload"], sort=False):
            failed = int(g["count"].sum())
            total = int(totals.get((service, workload), failed))
            if (str(service), str(workload)) in stopped:
                continue
            if failed >= _MASS_COUNT or (failed >= _MASS_MIN and 2 * failed >= total):
                top = g.iloc[0]
                out.append(
                    VerdictWarning(
                        "mass_errors",
                        f"errors: {top['storage']} {top['errno']} x{int(top['count'])} "
                        f"(workload '{workload}', {top['path']}); {failed:,} of its "
                        f"{total:,} operations failed",
                    )
                )
    return out


def error_lines(result: Any) -> list[str]:
    """The failed operations of a run, one line per storage choice and errno, each with
    the workloads and paths it comes from:
    ``"writable_layer ENOENT x58942 (workload 'wal', /var/lib/pg/wal/...)"``.

    With ``ops="summary"`` no rows are kept, and the lines say so instead.
    """
    errors = result.errors
    if errors.empty:
        return []
    if result.ops_mode != "full" or not len(result.ops):
        return [
            f"{r['storage']} {r['errno']} x{int(r['count'])} (workloads and paths: run "
            "with --ops full)"
            for r in errors.to_dict("records")
        ]
    sources = error_sources(result.ops)
    lines = []
    for r in errors.to_dict("records"):
        mine = sources[(sources["storage"] == r["storage"]) & (sources["errno"] == r["errno"])]
        parts = []
        for s in mine.head(2).to_dict("records"):
            op = f"{s['op']} " if s["op"] == "lock" else ""
            share = f" x{int(s['count'])}" if len(mine) > 1 else ""
            parts.append(f"{op}workload '{s['workload']}'{share}, {s['path']}")
        if len(mine) > 2:
            parts.append(f"{len(mine) - 2} more")
        lines.append(f"{r['storage']} {r['errno']} x{int(r['count'])} ({'; '.join(parts)})")
    return lines


# --- rendering -----------------------------------------------------------------------


def verdict_lines(v: Verdict) -> list[str]:
    """The verdict's sentences after its table: the headline, why each other placement
    loses (or what each storage choice did), errors, overload and warnings."""
    lines = [v.headline]
    if v.kind == "placements":
        for row in v.rows[1:]:
            lines.append(f"  {row.rank}. {row.label}: {row.why}")
        accepted = [f"{r.label} {', '.join(r.accepted)}" for r in v.rows if r.accepted]
        if accepted:
            lines.append("accepted by the scenario: " + "; ".join(accepted))
    else:
        for row in v.rows:
            lines.append(f"  {row.label}: {row.why}")
    lines += [f"note: {c}" for c in v.caveats]
    for row in v.rows:
        if row.overload:
            lines.append(f"  {row.label}: cannot keep up: {', '.join(row.overload)}")
    for line in v.errors:
        lines.append(f"errors: {line}")
    for w in v.warnings:
        if w.kind != "mass_errors":  # the errors lines above already say where from
            lines.append(f"warning: {w.message}")
    return lines


def _json_row(row: VerdictRow) -> dict[str, Any]:
    out: dict[str, Any] = {"rank": row.rank, "name": row.name, "label": row.label}
    out["description"] = row.description
    out.update({k: plain_value(v) for k, v in row.metrics.items()})
    for k in ("ops", "copy_ups", "copy_up_bytes", "errors", "lock_errors", "lost_updates",
              "lost_records", "torn_writes", "stale_reads", "data_lost_bytes", "orphaned_volumes",
              "orphaned_bytes"):  # fmt: skip
        out[k] = _count(row.metrics, k)
    out["problems"] = list(row.problems)
    out["accepted"] = list(row.accepted)
    out["why"] = row.why
    out["overload"] = list(row.overload)
    return out


def verdict_json(v: Verdict) -> dict[str, Any]:
    """The verdict as plain JSON values (the ``verdict`` object of ``--json``)."""
    return {
        "kind": v.kind,
        "question": v.question,
        "path": v.path,
        "best": v.best,
        "headline": v.headline,
        "rule": v.rule,
        "rows": [_json_row(r) for r in v.rows],
        "errors": list(v.errors),
        "warnings": [{"kind": w.kind, "message": w.message} for w in v.warnings],
        "overload": list(v.overload),
        "caveats": list(v.caveats),
    }


#: Metrics of the verdict table; a problem column is shown only when some row has it.
VERDICT_COLUMNS: tuple[str, ...] = (
    "p50_ms", "p99_ms", "p999_ms", "throughput_ops_s", "copy_up_bytes", "errors",
    "lock_errors", "lost_updates", "lost_records", "torn_writes", "stale_reads",
    "data_lost_bytes", "orphaned_bytes",
)  # fmt: skip
_ALWAYS = ("p50_ms", "p99_ms", "p999_ms", "throughput_ops_s")


def verdict_frame(v: Verdict) -> tuple[pd.DataFrame, list[str]]:
    """The verdict table: one row per placement (or storage choice), and the columns
    left out because every row has 0 there (named in a note under the table).

    Returns:
        A frame with ``rank`` (placements only), ``placement`` (or ``storage``),
        ``description`` and the metrics of :data:`VERDICT_COLUMNS` that some row has;
        the metrics (summary columns) left out.
    """
    first = "placement" if v.kind == "placements" else "storage"
    records = []
    for row in v.rows:
        rec: dict[str, Any] = {"rank": row.rank} if v.kind == "placements" else {}
        rec[first] = row.label
        rec["description"] = row.description
        rec.update({m: row.metrics.get(m, math.nan) for m in VERDICT_COLUMNS})
        records.append(rec)
    frame = pd.DataFrame(records)
    dropped = []
    for metric in VERDICT_COLUMNS:
        if metric in _ALWAYS or not len(frame):
            continue
        values = pd.to_numeric(frame[metric], errors="coerce").fillna(0)
        if not (values != 0).any():
            frame = frame.drop(columns=metric)
            dropped.append(metric)
    return frame, dropped
