"""Output files written whole or not at all, and never over anything but a regular file.

Like a letter that is sealed before it is posted: a report or a JSON summary is written
to a temporary file next to its destination and renamed into place only when complete,
so an error or an interrupted run never leaves half a file behind. Several outputs of
one run are one letter: inside :func:`output_unit`, every :func:`write_atomic` waits
until all are written, then all are renamed into place, and if one rename fails the
ones already done are undone (the old files come back), so a failure never leaves a new
JSON beside an old report. Before anything runs, :func:`check_outputs` checks every
destination: its folder exists and is writable, no two outputs name the same file, and
a destination that exists is a regular file (renaming over ``/dev/null`` as root would
replace the device with a file).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from storsim.errors import OutputError

__all__ = ["check_outputs", "output_unit", "write_atomic"]

# The unit being written, if any: (temporary file, destination) pairs waiting to be renamed.
_UNIT: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar(
    "storsim_output_unit", default=None
)


def check_outputs(outputs: Mapping[str, str | os.PathLike[str] | None]) -> None:
    """Check destinations before anything is computed or written.

    Args:
        outputs: what each output is called in messages (``"--json"``) -> its path, or
            None when that output is not wanted.

    Raises:
        OutputError: a folder is missing or not a writable folder, a destination exists
            but is not a regular file (nor a symlink to one), or two outputs name the
            same file.
    """
    seen: dict[str, str] = {}
    for name, given in outputs.items():
        if given is None:
            continue
        path = os.fspath(given)
        _check_target(path, name)
        real = os.path.realpath(path)
        if real in seen:
            raise OutputError(f"{name} {path}: {seen[real]} writes the same file")
        seen[real] = name


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) atomically.

    Inside :func:`output_unit`, the file is written now and renamed into place when the
    unit ends, with the unit's other files.

    Args:
        path: the destination; its folder must exist; if it exists, it must be a
            regular file (or a symlink to one), which is replaced.
        text: the whole content.

    Raises:
        OutputError: the folder is missing or not writable, the destination is not a
            regular file, or writing fails (nothing is left behind).
    """
    target = os.fspath(path)
    _check_target(target, None)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".storsim-", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        # mkstemp makes the file private (0600): give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        unit = _UNIT.get()
        if unit is not None:
            unit.append((tmp, target))
            return
        _check_target(target, None)  # again: it may have changed while the text was written
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise


@contextlib.contextmanager
def output_unit() -> Iterator[None]:
    """Write every :func:`write_atomic` inside the block as one unit: all or none.

    The files are written during the block and renamed into place at its end; an error
    (or an interrupt) in the block leaves every destination as it was, and so does an
    error while renaming (the renames already done are undone).

    Raises:
        OutputError: a rename failed (every destination is back as it was).
    """
    staged: list[tuple[str, str]] = []
    token = _UNIT.set(staged)
    try:
        yield
    except BaseException:
        for tmp, _ in staged:
            _remove(tmp)
        raise
    finally:
        _UNIT.reset(token)
    _commit(staged)


def _commit(staged: list[tuple[str, str]]) -> None:
    """Rename every staged file into place; on a failure, put the old files back."""
    done: list[tuple[str, str | None]] = []  # (destination, backup of the old file)
    try:
        for tmp, target in staged:
            _check_target(target, None)
            backup = None
            if os.path.lexists(target):
                folder = os.path.dirname(os.path.abspath(target))
                backup = os.path.join(folder, f".storsim-old-{secrets.token_hex(8)}.tmp")
                try:  # a second name for the old file, so that it can come back
                    os.link(target, backup, follow_symlinks=False)
                except OSError:
                    backup = None  # a file system without hard links: no way back
            try:
                os.replace(tmp, target)
            except BaseException:
                if backup is not None:
                    _remove(backup)  # the old file is still in place under its name
                raise
            done.append((target, backup))
    except BaseException as exc:
        for target, backup in reversed(done):
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.replace(backup, target)
            else:
                _remove(target)
        for tmp, _ in staged:
            _remove(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            what = exc.filename or "an output"
            raise OutputError(f"cannot write {what}: {exc.strerror}") from None
        raise
    finally:
        for _, backup in done:
            if backup is not None:
                _remove(backup)


def _check_target(path: str, name: str | None) -> None:
    """The destination's folder exists and is writable; an existing destination is a
    regular file (or a symlink to one)."""
    label = f"{name} {path}" if name else path
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"{label}: folder {folder} does not exist")
    # access() honours a read-only mount even for root (EROFS)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: folder {folder} is not writable")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise OutputError(f"{label}: is a symlink to nothing") from None
        return
    except OSError as exc:
        raise OutputError(f"{label}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device or special file"
        raise OutputError(f"{label}: is {kind}, not a regular file; name a file to write")


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        Path(path).unlink()
