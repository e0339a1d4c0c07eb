"""Output files written whole or not at all.

Like a letter that is sealed before it is posted: a report or a JSON summary is written
to a temporary file next to its destination and renamed into place only when complete,
so an error or an interrupted run never leaves half a file behind.
"""

from __future__ import annotations

import os
import tempfile

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) atomically.

    Args:
        path: the destination; its folder must exist.
        text: the whole content.

    Raises:
        OSError: the folder is missing or not writable (nothing is left behind).
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".storsim-", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600): give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
