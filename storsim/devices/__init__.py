"""Storage devices as queues: disks, the page cache, network links and remote servers.

A disk is like a post office with a few counters: each customer (an I/O request) waits
for a free counter (one of the device's ``queue_depth`` slots), is served for a time
that grows with the size of the parcel (``latency + nbytes / bandwidth``) and leaves.
A remote server is a post office in another town: first the trip there and back (the
network round trip), then its own counters, then the parcel's ride home on the one
road every customer shares (the link).

Every access is a generator that the calling process runs with ``yield from``::

    def reader(env, disk):
        yield from disk.read(4096)   # waits for a slot, then holds it while served

The package, one concept a module:

* ``station``: ``Station(env, capacity, factors=None)`` (also named ``Slots``), the one FIFO
  multi-server queue under the disk, the server, the link's wire and the locks:
  ``request(mean_s)`` (served by the station, one event), ``acquire()`` -> None or an
  event to yield, ``release(held_s=0.0)``; ``busy_s``, ``completed``, ``utilisation()``.
* ``disk``: ``Disk(env, params, rng, name)``: ``read(nbytes)``, ``write(nbytes)``,
  ``meta()``, and ``submit_read``/``submit_write``/``submit_meta`` (one event each);
  ``busy_s``, ``completed``, ``utilisation()``.
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

from storsim.devices.caches import AttrCache, PageCache
from storsim.devices.disk import Disk
from storsim.devices.params import DiskParams, PageCacheParams, RemoteParams
from storsim.devices.remote import Link, RemoteServer
from storsim.devices.station import ProcessGen, Slots, Station

__all__ = [
    "AttrCache",
    "Disk",
    "DiskParams",
    "Link",
    "PageCache",
    "PageCacheParams",
    "ProcessGen",
    "RemoteParams",
    "RemoteServer",
    "Slots",
    "Station",
]
