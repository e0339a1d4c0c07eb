"""Backends: one per storage choice, each turning a file operation into simulated time.

Like the different carriers a parcel service hands a parcel to, each backend delivers
the same operation (read 4 KiB of this file) by its own route and at its own cost: the
page cache or the local disk, an overlay copy-up first, a network round trip to a
remote server. The *semantics* (does the file exist, is it copied up, which error) are
decided before, by :mod:`storsim.fs`; a backend only charges time for them.

- :mod:`~storsim.backends.base`: the :class:`Backend` protocol, :class:`OpCost` (how an
  operation is charged) and :class:`Attachment` (what a backend is built for);
- :mod:`~storsim.backends.registry`: ``BACKENDS``, storage choice -> backend factory;
- one module per data path: :mod:`~storsim.backends.local` (volumes and local binds),
  :mod:`~storsim.backends.overlay` (the root: image and writable layers, with
  :mod:`~storsim.backends.copyup`), :mod:`~storsim.backends.remote` (distributed binds),
  :mod:`~storsim.backends.tmpfs`;
- :mod:`~storsim.backends.instant`: a zero-cost double for tests.
"""

from __future__ import annotations

from storsim.backends.base import (
    Attachment,
    Backend,
    BackendFactory,
    Cost,
    OpCost,
    ProcessGen,
    Served,
    Version,
    spend,
)
from storsim.backends.registry import BACKENDS, backend_factory

__all__ = [
    "BACKENDS",
    "Attachment",
    "Backend",
    "BackendFactory",
    "Cost",
    "OpCost",
    "ProcessGen",
    "Served",
    "Version",
    "backend_factory",
    "spend",
]
