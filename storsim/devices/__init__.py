"""Storage devices as queues: disks, the page cache, network links and remote servers.

A disk is like a post office with a few counters: each customer (an I/O request) waits
for a free counter (one of the device's ``queue_depth`` slots), is attended to for a
while (its latency, which varies around its mean) and then puts its parcel on the one
conveyor belt that every counter shares (the bandwidth).
A remote server is a post office in another town: first the trip there and back (the
network round trip), then its own counters, then the parcel's ride home on the one
road every customer shares (the link).

Every access is a generator that the calling process runs with ``yield from``::

    def reader(env, disk):
        yield from disk.read(4096)   # waits for a slot, then holds it while served

The package, one concept a module:

* ``station``: ``Station(env, capacity, factors=None, bandwidth=False)`` (also named
  ``Slots``), the one FIFO multi-server queue under the CPUs, the disk, the server, the
  link's wire and the locks: ``request(mean_s, transfer_s=0.0)`` (served by the station,
  one event), ``acquire()`` -> None or an event to yield, ``release(held_s=0.0)``;
  ``busy_s``, ``completed``, ``utilisation()``, ``peak_queued``, ``marks`` (the queue's
  length at a few instants: is it growing?).
* ``bandwidth``: ``SharedBandwidth``, a station's transfer stage: the bytes of the
  requests transferring at once share the device's bandwidth (processor sharing).
* ``service``: the service-time shapes (``fixed``, ``exponential``, ``h2`` for flash,
  ``hdd`` for a disk head), each a stream of factors of mean 1, with their sources.
* ``cpu``: ``Cpu(env, cores)``: ``compute(seconds)`` -> an event when the burst has run.
* ``disk``: ``Disk(env, params, rng, name)``: ``read(nbytes)``, ``write(nbytes)``,
  ``meta()``, ``flush()``, and ``submit_read``/``submit_write``/``submit_meta``/
  ``submit_flush`` (one event each); ``busy_s``, ``completed``, ``utilisation()``.
* ``remote``: ``Link(env, rtt_s, bytes_per_s, name)``: ``round_trip()``,
  ``transfer(nbytes)``; ``RemoteServer(env, params, rng, name, link=None)``:
  ``request(op_class, nbytes=0)``.
* ``caches``: ``PageCache(params)``: ``lookup(key)``, ``insert(key, nbytes)``,
  ``access(key, nbytes)`` (lookup, and insert on a miss), ``invalidate(key)``; ``hits``,
  ``misses``, ``evictions``, ``used_bytes`` (no time: callers charge hits).
  ``AttrCache(min_s, max_s)``: ``fresh(key, now)``, ``fill(key, now, version)``,
  ``invalidate(key)``.
* ``params``: ``DiskParams``, ``PageCacheParams``, ``RemoteParams`` (validated when made),
  ``LatencyTable``, the server's operation classes.
* ``profiles``: the named profiles (``DISK_PROFILES``, ``REMOTE_PROFILES``,
  ``PAGE_CACHE``), each figure with its source.

Devices never record or print: the backends that call them write the records.
"""

from storsim.devices.bandwidth import SharedBandwidth
from storsim.devices.caches import AttrCache, PageCache
from storsim.devices.cpu import Cpu
from storsim.devices.disk import Disk
from storsim.devices.params import DiskParams, PageCacheParams, RemoteParams
from storsim.devices.remote import Link, RemoteServer
from storsim.devices.service import ServiceShape, service_shape
from storsim.devices.station import ProcessGen, Slots, Station

__all__ = [
    "AttrCache",
    "Cpu",
    "Disk",
    "DiskParams",
    "Link",
    "PageCache",
    "PageCacheParams",
    "ProcessGen",
    "RemoteParams",
    "RemoteServer",
    "ServiceShape",
    "SharedBandwidth",
    "Slots",
    "Station",
    "service_shape",
]
