"""The op table: one row per file operation a workload step can perform.

Like the rows of a customs tariff, each naming for one kind of goods which office
inspects it, what duty it pays and which register it goes into: a row names how the
semantic model decides the operation (its call to :mod:`storsim.fs`), how every
backend charges it (:class:`storsim.backends.OpCost`: the parts of it that take time)
and what it accounts in the conflict tracker (:mod:`storsim.run.conflicts`).
:class:`storsim.run.operation.Operation` runs any row the same way: decide -> charge
-> account -> record.

Adding an operation is one row here plus its method of the file systems (and its name
in :data:`storsim.names.OPS`, which the scenario format reads); no local backend
changes, and each remote profile gives it a row of ``round_trips`` (the requests its
protocol sends for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from storsim.backends.base import OpCost
from storsim.fs import Changed, ContainerView
from storsim.run.conflicts import Accounting, AppendAccounting, ReadAccounting, WriteAccounting

if TYPE_CHECKING:
    from storsim.run.operation import OffsetAt, Operation, Where

__all__ = ["OP_TABLE", "Decide", "Decided", "OpRow"]

Decided = tuple[Any, str, int, int]
"""What deciding an operation gives: ``(result, path, offset, nbytes)``: the file
system's result, the path the operation is charged and recorded on (a symlink's: the
new link), the byte offset it happened at and the bytes it moved."""

Decide = Callable[["Operation", "Where", str, "str | None", int, int, "OffsetAt | None"], Decided]
"""``decide(op, where, path, target, offset, nbytes, at)``: asks the semantic model.

Args: the step (:class:`~storsim.run.operation.Operation`: its view, spec and size
draws), where ``path`` lives, the path, the step's second path (``to``, filled in) or
None, the offset and size chosen for a byte range, and for a write whose offset depends
on the file's size, ``at(size, nbytes)`` to choose it from the size its open finds.
Raises :class:`storsim.fs.FsError` when the operation fails.
"""


class OpRow(NamedTuple):
    """How one operation is decided, charged and accounted."""

    decide: Decide
    cost: OpCost
    account: type[Accounting] | None = None  # None: it touches no record's state
    sized: bool = False  # a byte range: a size and an offset, under the workload's lock
    appends: bool = False  # its offset is the end of the file (O_APPEND)
    to: bool = False  # it names a second path (the step's ``to``)


# --- how each operation is decided ------------------------------------------------------
# Reads, writes and stats ask ``where.answer`` (the mounted file system itself when
# routing through the view would give the same: the hot path); the rest ask the view.


def _read(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    result = where.answer.read(where.apath, offset, n)
    return result, path, offset, result.nbytes  # clipped at the end of the file


def _write(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    # with ``at``: the offset from the size the open finds
    result = where.answer.open_write(where.apath, offset, n, append=False, at=at)
    return result, path, result.offset, n


def _append(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    if not op.step.create:  # no O_CREAT: a missing file is ENOENT (open(2)), none is made
        where.answer.stat(where.apath)
    result = where.answer.open_write(where.apath, offset, n, append=True)
    return result, path, result.offset, n  # an append's offset is the size its open finds


def _stat(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    return where.answer.stat(where.apath), path, offset, n


def _create(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    view = op.view
    result = view.open(path, write=True, create=True, excl=True)
    written = op.size() if op.step.size is not None else 0  # drawn only once created
    if written:
        view.write(path, 0, written)
    return result, path, offset, written


def _open(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    flags = op.step.flags  # as fopen(3) modes
    result = op.view.open(path, write=flags != "r", create=flags in ("w", "a"), trunc=flags == "w")
    return result, path, offset, n


def _truncate(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    return op.view.truncate(path, op.size()), path, offset, n


def _chmod(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    return op.view.chmod(path, op.step.mode), path, offset, n


def _setxattr(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    # one byte past XATTR_SIZE_MAX is enough to get E2BIG: never allocate a huge draw
    value = bytes(min(op.size(), 65_537)) if op.step.size is not None else b""
    return op.view.setxattr(path, op.step.xattr, value), path, offset, len(value)


def _getxattr(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    result = op.view.getxattr(path, op.step.xattr)
    return result, path, offset, n


def _mknod(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    return op.view.mknod(path, op.step.node, op.step.mode), path, offset, n


def _symlink(
    op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
) -> Decided:
    assert to is not None
    # the step's path is the link's target; the operation is charged on the new link
    return op.view.symlink(path, to), to, offset, n


def _on_path(call: Callable[[ContainerView, str], Any]) -> Decide:
    """An operation on one path of the view: ``call(view, path)``."""

    def decide(
        op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
    ) -> Decided:
        return call(op.view, path), path, offset, n

    return decide


def _on_two_paths(call: Callable[[ContainerView, str, str], Changed]) -> Decide:
    """An operation from a path to the step's ``to``: ``call(view, path, to)``."""

    def decide(
        op: Operation, where: Where, path: str, to: str | None, offset: int, n: int, at: Any
    ) -> Decided:
        assert to is not None
        return call(op.view, path, to), path, offset, n

    return decide


# --- the table ----------------------------------------------------------------------------

OP_TABLE: Mapping[str, OpRow] = MappingProxyType(
    {
        "stat": OpRow(_stat, OpCost(name="stat", attributes=True)),
        "open": OpRow(_open, OpCost(name="open", opens=True)),
        "read": OpRow(
            _read, OpCost(name="read", reads=True, opens=True), ReadAccounting, sized=True
        ),
        "write": OpRow(
            _write, OpCost(name="write", writes=True, opens=True), WriteAccounting, sized=True
        ),
        "append": OpRow(
            _append,
            OpCost(name="append", writes=True, opens=True),
            AppendAccounting,
            sized=True,
            appends=True,
        ),
        "create": OpRow(
            _create, OpCost(name="create", writes=True, metadata=True, opens=True, creates=True)
        ),
        "unlink": OpRow(
            _on_path(ContainerView.unlink),
            OpCost(name="unlink", discards=True, metadata=True, removes=True),
        ),
        "rename": OpRow(
            _on_two_paths(ContainerView.rename),
            OpCost(name="rename", metadata=True, removes=True, moves=True),
            to=True,
        ),
        "mkdir": OpRow(
            _on_path(ContainerView.mkdir), OpCost(name="mkdir", metadata=True, creates=True)
        ),
        "rmdir": OpRow(
            _on_path(ContainerView.rmdir), OpCost(name="rmdir", metadata=True, removes=True)
        ),
        "readdir": OpRow(
            _on_path(ContainerView.readdir), OpCost(name="readdir", opens=True, lists=True)
        ),
        "chmod": OpRow(_chmod, OpCost(name="chmod", metadata=True)),
        "setxattr": OpRow(_setxattr, OpCost(name="setxattr", metadata=True)),
        "getxattr": OpRow(_getxattr, OpCost(name="getxattr", attributes=True)),
        "fsync": OpRow(
            _on_path(ContainerView.fsync), OpCost(name="fsync", flushes=True, opens=True)
        ),
        "link": OpRow(
            _on_two_paths(ContainerView.link),
            OpCost(name="link", metadata=True),  # charged on its source (no new name)
            to=True,
        ),
        "symlink": OpRow(_symlink, OpCost(name="symlink", metadata=True, creates=True), to=True),
        "mknod": OpRow(_mknod, OpCost(name="mknod", metadata=True, creates=True)),
        "truncate": OpRow(_truncate, OpCost(name="truncate", discards=True, metadata=True)),
    }
)
"""Operation name (:data:`storsim.names.OPS`) -> its row."""
