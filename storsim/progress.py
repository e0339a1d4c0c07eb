"""One status line on stderr, for work that takes a while (a run, a sweep).

Like the departures board at a station: in a terminal or a notebook (both honour a
carriage return) the one line is redrawn in place; written to a log file or CI output,
each status is a line of its own, so the callers write fewer of them there.
"""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["StatusLine"]


class StatusLine:
    """A status line redrawn in place where the stream allows it.

    Args:
        stream: where to write; ``sys.stderr`` (as it is now) by default.

    Attributes:
        live: whether the line is redrawn in place (a terminal or a notebook).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stderr if stream is None else stream
        isatty = getattr(self._stream, "isatty", lambda: False)
        self.live = bool(isatty()) or "ipykernel" in sys.modules
        self._width = 0  # of the live line drawn last; 0: none

    def show(self, text: str) -> None:
        """Show ``text``: over the previous status when live, else on a line of its own."""
        if self.live:  # pad over the end of a longer previous line
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        """End a live line, so that what is written next starts on a line of its own."""
        if self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0
