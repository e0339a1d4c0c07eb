"""The names storsim's pipeline shares: storage choices and file operations, one list each.

Like the legend of a map, printed once and read by every sheet: the scenario format
(YAML), the semantic model, the backends, the records and the reports all name the same
storage choices and the same operations, so each list is written here and nowhere else.
It sits at the top of the package, not inside ``storsim.scenario``, because the semantic
model (:mod:`storsim.fs`) needs it too and must not import the scenario loader.

The ``Literal`` types are the lists (``get_args`` gives the tuples), so that the YAML
validation, the JSON Schema and mypy all see the same names.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

__all__ = [
    "CLOSE",
    "LOCK",
    "OPS",
    "OP_CLASSES",
    "PROBLEMS",
    "Op",
    "OpClass",
    "Problem",
    "ROUND_TRIP_KEYS",
    "RoundTripKey",
    "STORAGES",
    "Storage",
    "UNSUPPORTABLE_OPS",
]

Storage: TypeAlias = Literal[
    "image_layer", "writable_layer", "local_bind", "distributed_bind", "volume", "tmpfs"
]
"""A storage choice (DOMAIN.md's five, plus tmpfs), in the order reports show them."""

STORAGES: tuple[str, ...] = get_args(Storage)
"""The storage choices, in report order."""

Op: TypeAlias = Literal[
    "stat", "open", "read", "write", "append", "create", "unlink", "rename",
    "mkdir", "rmdir", "readdir", "chmod", "setxattr", "getxattr", "fsync", "link",
    "symlink", "mknod", "truncate",
]  # fmt: skip
"""A file operation a workload step performs."""

OPS: tuple[str, ...] = get_args(Op)
"""The file operations a workload step can perform, in the order the docs list them: the
metadata calls after ``chmod`` (``setxattr``/``getxattr``: an extended attribute), the
creators of special entries after ``link`` (``symlink``, ``mknod``: a FIFO or device)."""

LOCK = "lock"
"""The name of a workload's lock (and unlock) call: not a step of its own, but a mount
may refuse it like an operation (``unsupported: [lock]``), and records name it."""

UNSUPPORTABLE_OPS: frozenset[str] = frozenset((*OPS, LOCK))
"""What a mount (a remote profile's ``unsupported_ops``) may refuse."""

Problem: TypeAlias = Literal[
    "data_lost", "orphaned", "lost_updates", "lost_records", "torn", "stale_reads", "errors",
    "lock_errors",
]  # fmt: skip
"""A kind of problem that ranks a placement down in the verdict (``compare.accept`` may
accept some): data lost at ``stop``/``rm``, data left in orphaned volumes, lost updates,
records overwritten whole, torn records, stale reads, failed operations, refused locks."""

PROBLEMS: tuple[str, ...] = get_args(Problem)
"""The problem kinds, in the order the verdict ranks and lists them."""

OpClass: TypeAlias = Literal[
    "meta", "open", "close", "create", "remove", "read", "write", "readdir", "rename",
    "setattr", "commit", "lock",
]  # fmt: skip
"""A class of work a remote file server does for one request: ``meta`` (GETATTR,
LOOKUP, ACCESS, HEAD), ``open`` and ``close`` (an NFSv4 OPEN/CLOSE, an SMB2 CREATE/CLOSE,
an SFTP OPEN), ``create`` (a new directory entry), ``remove``, ``read`` and ``write``
(data), ``readdir`` (one page of a listing), ``rename``, ``setattr``, ``commit`` (to
stable storage) and ``lock``. Each has its own server latency
(``host.remotes.NAME.server_latency``)."""

OP_CLASSES: tuple[str, ...] = get_args(OpClass)
"""The server's classes of work, in the order the docs list them."""

CLOSE = "close"
"""The name of a file's close in a remote profile's ``round_trips`` (what a client
sends when a step closes the file it opened: NFSv4 CLOSE, SMB2 CLOSE): not an
operation of its own. ``open`` names what an open sends."""

RoundTripKey: TypeAlias = Op | Literal["lock", "close"]
"""What a remote profile's ``round_trips`` table has a row for: each operation, the
lock (and unlock) call, and a file's close."""

ROUND_TRIP_KEYS: tuple[str, ...] = (*OPS, LOCK, CLOSE)
"""The rows of a remote profile's ``round_trips`` table."""
