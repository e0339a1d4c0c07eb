"""Interop: scenarios from the files users already have, and results in fio's layout.

Like a travel adapter, this package lets storsim plug into what is already on a
user's desk: a docker compose file, ``docker inspect`` and ``docker history`` output,
fio job files, and the dashboards that read ``fio --output-format=json``.

- :mod:`storsim.interop.compose`: compose file -> scenario data (+ what could not be mapped);
- :mod:`storsim.interop.inspect`: ``docker inspect`` / ``history`` JSON -> scenario parts;
- :mod:`storsim.interop.remotes`: NFS and CIFS volume options -> ``host.remotes``;
- :mod:`storsim.interop.starter`: starter workloads and ``compare:`` for imported scenarios;
- :mod:`storsim.interop.fio`: fio job files -> workloads;
- :mod:`storsim.interop.fio_json`: a :class:`storsim.Result` -> fio's JSON layout;
- :mod:`storsim.interop.cli`: ``storsim init``.
"""

from storsim.interop.common import Imported, Note
from storsim.interop.compose import compose_to_scenario, load_compose
from storsim.interop.fio import FioWorkloads, fio_scenario, load_fio, parse_fio
from storsim.interop.fio_json import fio_document, placement_results

__all__ = [
    "FioWorkloads",
    "Imported",
    "Note",
    "compose_to_scenario",
    "fio_document",
    "fio_scenario",
    "load_compose",
    "load_fio",
    "parse_fio",
    "placement_results",
]
