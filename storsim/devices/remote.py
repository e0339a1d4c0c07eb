"""Remote storage: a network file server behind a link that its clients share.

A post office in another town: first the trip there and back (the network round trip),
then its own counters (the server's threads, a
:class:`~storsim.devices.station.Station`), then the parcel's ride home on the one road
every customer shares (the link, a station with one slot: its wire).
"""

from __future__ import annotations

import numpy as np
import simpy

from storsim.devices.params import OP_CLASSES, RemoteParams
from storsim.devices.station import ProcessGen, QueuedDevice, Station, service_factors

__all__ = ["Link", "RemoteServer"]

# Operation classes whose payload travels server -> client; every other payload is an
# upload (client -> server) and is served at the server's write bandwidth.
_DOWNLOADS = frozenset({"meta", "read", "readdir"})


class Link(QueuedDevice):
    """A network link shared by all clients of one server.

    A round trip is pure delay (requests fly in parallel); payloads are serialised on
    the wire one after another (FIFO) at the link's bandwidth.

    Args:
        env: the simulation environment.
        rtt_s: round-trip time, s.
        bytes_per_s: bandwidth, bytes/s.
        name: label for reports.

    Raises:
        ValueError: negative ``rtt_s`` or non-positive ``bytes_per_s``.

    Attributes:
        station: the wire, a station with one slot that the payloads queue for
            (``busy_s`` is the time it spent transferring).
        bytes_sent: payload bytes transferred.
    """

    __slots__ = ("_env", "_s_per_byte", "bytes_per_s", "bytes_sent", "name", "rtt_s", "station")

    def __init__(
        self, env: simpy.Environment, rtt_s: float, bytes_per_s: float, name: str = "link"
    ) -> None:
        if not rtt_s >= 0:
            raise ValueError(f"rtt_s must be >= 0 (got {rtt_s!r})")
        if not bytes_per_s > 0:
            raise ValueError(f"bytes_per_s must be > 0 (got {bytes_per_s!r})")
        self.name = name
        self.rtt_s = rtt_s
        self.bytes_per_s = bytes_per_s
        self.bytes_sent = 0
        self.station = Station(env, 1)  # the wire
        self._env = env
        self._s_per_byte = 1.0 / bytes_per_s

    def round_trip(self) -> ProcessGen:
        """One request/response exchange without payload: ``rtt_s`` of delay."""
        yield self._env.timeout(self.rtt_s)

    def transfer(self, nbytes: int) -> ProcessGen:
        """Send ``nbytes`` over the wire, after the payloads queued before it.

        Args:
            nbytes: payload bytes; 0 or less takes no time.

        Returns:
            A generator to ``yield from``.
        """
        if nbytes <= 0:
            return
        wire = self.station
        turn = wire.acquire()
        if turn is not None:
            yield turn
        duration_s = nbytes * self._s_per_byte
        yield self._env.timeout(duration_s)
        wire.release(duration_s)
        self.bytes_sent += nbytes

    def __repr__(self) -> str:
        return f"Link({self.name!r}, rtt_s={self.rtt_s!r}, bytes_per_s={self.bytes_per_s!r})"


class RemoteServer(QueuedDevice):
    """A network file server (NFS, SMB, S3) behind a link shared by all its clients.

    One request costs, in order: a round trip on the link; for an upload, the payload's
    transfer on the link; a wait for one of ``server_queue_depth`` server slots; the
    server's work ``server_latency_s[op_class]`` (scaled by a draw of its service shape)
    ``+ nbytes / bandwidth``; for a download,
    the payload's transfer on the link. Transfers are store-and-forward: a backend
    that wants pipelining splits a large transfer into several requests (as the NFS
    client does with ``rsize``/``wsize`` [K9]).

    Args:
        env: the simulation environment.
        params: the server's profile.
        rng: random generator, drawn from unless ``params.service`` is fixed.
        name: label for reports.
        link: the network link to share; a new one from ``params`` if None.

    Attributes:
        link: the link every client of this server shares.
        station: the server's ``server_queue_depth`` slots and their queue (``busy_s``,
            ``completed`` and ``utilisation()`` are its figures).
    """

    __slots__ = (
        "_env",
        "_latency_s",
        "_read_s_per_byte",
        "_write_s_per_byte",
        "link",
        "name",
        "params",
        "station",
    )

    def __init__(
        self,
        env: simpy.Environment,
        params: RemoteParams,
        rng: np.random.Generator,
        name: str = "remote",
        link: Link | None = None,
    ) -> None:
        self.params = params
        self.name = name
        self.link = (
            Link(env, params.rtt_s, params.link_bytes_per_s, name=f"{name}.link")
            if link is None
            else link
        )
        self.station = Station(env, params.server_queue_depth, service_factors(params.service, rng))
        self._env = env
        self._latency_s = dict(params.server_latency_s)
        self._read_s_per_byte = 1.0 / params.server_bytes_per_s
        write_bytes_per_s = params.server_write_bytes_per_s or params.server_bytes_per_s
        self._write_s_per_byte = 1.0 / write_bytes_per_s

    def request(self, op_class: str, nbytes: int = 0) -> ProcessGen:
        """One request to the server.

        Args:
            op_class: one of ``OP_CLASSES`` (``"meta"``, ``"read"``, ``"write"``...).
            nbytes: payload bytes: received for ``meta``, ``read`` and ``readdir``, sent
                for every other class (``write``, ``create``, ``commit``...).

        Returns:
            A generator to ``yield from``; it ends when the reply has arrived.

        Raises:
            ValueError: unknown ``op_class`` (raised at once, not when run).
        """
        latency_s = self._latency_s.get(op_class)
        if latency_s is None:
            raise ValueError(f"op_class must be one of {', '.join(OP_CLASSES)} (got {op_class!r})")
        return self._serve(op_class, latency_s, nbytes)

    def _serve(self, op_class: str, latency_s: float, nbytes: int) -> ProcessGen:
        env, link = self._env, self.link
        yield env.timeout(link.rtt_s)
        upload = op_class not in _DOWNLOADS
        if upload:
            yield from link.transfer(nbytes)
            bytes_s = nbytes * self._write_s_per_byte
        else:
            bytes_s = nbytes * self._read_s_per_byte
        # Held, not timed (station.request(mean_s)): a timed request would start the next
        # waiter's service in the completion callback, not in the waiter's process, which
        # reorders same-instant events and the draws from the host's shared generator.
        station = self.station
        slot = station.acquire()
        if slot is not None:
            yield slot
        # The work varies around its mean (the service shape); its bytes at the server's
        # bandwidth do not, as on a disk (storsim.devices.service).
        service_s = station.service_s(latency_s) + bytes_s
        yield env.timeout(service_s)
        station.release(service_s)
        if not upload:
            yield from link.transfer(nbytes)

    def __repr__(self) -> str:
        return f"RemoteServer({self.name!r}, protocol={self.params.protocol!r})"
