"""Overload: which devices of a run could not keep up with what was asked of them.

Like a checkout whose line is longer at closing time than at noon, and was longer at
noon than in the morning: a till that is busy all day serves a long line, but a line
that keeps growing means customers arrive faster than any till can serve them, and
their waits say nothing about the till and everything about the arrivals. An
open-loop workload that asks more of a disk or a file server than it can serve (an
arrival rate above its service rate, so that its utilisation is at 1) builds a queue
that grows for as long as the run lasts (Kleinrock, *Queueing Systems* vol. 1,
1975: above the service rate no stationary distribution exists); the latencies of such a run are a
property of its length, not of the storage, and the verdict must say so instead of
ranking them.

A device counts as overloaded when, over the run, its servers were busy at least
:data:`BUSY` of the time (slots, or its transfer stage when its bytes share one
bandwidth) and its queue grew through the second half of the run: at the end it is at
least twice as long as at the middle and longer by at least :data:`MIN_GROWTH` requests
(or twice the device's number of servers, if more). A closed-loop workload cannot do
that: its queue is bounded by its threads. A busy device whose queue comes and goes is
only busy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

from storsim.devices.station import Station

if TYPE_CHECKING:
    from storsim.run.context import Host

__all__ = ["BUSY", "MIN_GROWTH", "OVERLOAD_COLUMNS", "overload_frame", "overloaded_names"]

BUSY = 0.9
"""Utilisation at or above which a device with a growing queue is overloaded."""

MIN_GROWTH = 10
"""Requests by which a queue must grow over the run's second half, at least."""

OVERLOAD_COLUMNS: tuple[str, ...] = (
    "device", "kind", "utilisation", "queue_growth_per_s", "overloaded",
)  # fmt: skip
"""The columns of ``Result.overload``, one row per device: its name, its kind (``cpu``,
``disk``, ``remote``, ``link``), the busy fraction of its servers over the run (0 to 1),
the requests per simulated second by which its queue grew over the second half of the
run, and whether it could not keep up."""


def _stations(host: Host) -> Iterator[tuple[str, str, Station]]:
    yield "cpu", "cpu", host.cpu.station
    yield "disk", "disk", host.disk.station
    for name, server in host.remotes.items():
        yield f"remote {name} ({server.params.protocol})", "remote", server.station
        yield f"link {name}", "link", server.link.station


def overload_frame(host: Host, span_s: float) -> pd.DataFrame:
    """The overload frame of a finished run (:data:`OVERLOAD_COLUMNS`).

    Args:
        host: the run's host, its devices as the run left them.
        span_s: simulated seconds of the run.

    Returns:
        One row per device (the CPUs, the disk, each remote server and its link).
    """
    rows = []
    for device, kind, station in _stations(host):
        busy = station.utilisation(span_s) if span_s > 0 else 0.0
        if station.bandwidth is not None:
            busy = max(busy, station.bandwidth_utilisation(span_s))
        busy = min(busy, 1.0)
        half_s = span_s / 2
        at_half = station.marks.before(half_s)[1]
        at_end = station.queued
        growth = at_end - at_half
        per_s = growth / (span_s - half_s) if span_s > 0 else 0.0
        grew = growth >= max(MIN_GROWTH, 2 * station.capacity) and at_end >= 2 * at_half
        rows.append(
            {
                "device": device,
                "kind": kind,
                "utilisation": float(busy),
                "queue_growth_per_s": float(per_s),
                "overloaded": bool(busy >= BUSY and grew),
            }
        )
    return pd.DataFrame(rows, columns=list(OVERLOAD_COLUMNS))


def overloaded_names(frame: pd.DataFrame | None) -> list[str]:
    """The devices of an overload frame that could not keep up, in its order."""
    if frame is None or not len(frame):
        return []
    return [str(d) for d in frame.loc[frame["overloaded"].astype(bool), "device"]]
