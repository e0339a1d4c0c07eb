"""A scenario's text: read from a regular file within a size limit, parsed as YAML within
budgets.

Like a mail room that X-rays every parcel before it is opened, this module accepts only
what can be handled safely: a regular file (never a FIFO that blocks forever, nor
``/dev/zero`` that never ends) of at most :data:`MAX_FILE_BYTES`, UTF-8 text (else the
line and column of the first bad byte), and YAML whose nesting, expanded size (aliases
included: a "billion laughs" bomb is refused at its first alias too many) and tags are
bounded. No tag is ever constructed: ruamel's round-trip loader builds plain mappings,
lists and scalars only, and any explicit tag (``!!python/object``...) is refused.
Every problem is one :class:`~storsim.errors.ScenarioError` with the file and the line.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable, Mapping
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from ruamel.yaml.reader import ReaderError

from storsim.errors import ScenarioError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_LINE_CHARS",
    "MAX_LINES",
    "MAX_VALUES",
    "check_data",
    "parse_yaml",
    "read_scenario_text",
]

#: The largest scenario file read (1 MiB): the shipped ones are under 8 KiB, and a file
#: listing ten thousand image files one per line is about 400 KiB. ruamel's pure-Python
#: parser reads 100 to 200 KiB a second on the development machine under load, so a
#: file at the limit takes a few seconds.
MAX_FILE_BYTES = 2**20
#: The longest line: the parser's time grows with the square of a comment line's length
#: (a 256 KiB comment took 1.4 s, a 4 MiB one 14 minutes); at 64 Ki characters a line
#: takes 0.2 s at most, and a flow mapping of about a thousand files still fits.
MAX_LINE_CHARS = 65_536
#: The most lines: the parser spends about 25 us on each line, even an empty one, so
#: a file of a million empty lines would take half a minute; 100,000 take 3 s at most.
MAX_LINES = 100_000
#: The deepest nesting of mappings and lists: a scenario needs about 8 levels
#: (services.web.workload[0].ops[0].size.median); 64 leaves room and stays far below
#: Python's recursion limit (1000), which the parser and the validation both use.
MAX_DEPTH = 64
#: The most values (scalars, mappings and lists) a document may expand to, aliases
#: counted at each use: a file of ten thousand files has twenty thousand; composing one
#: value takes about 30 us, so the budget is a few seconds of parsing.
MAX_VALUES = 200_000

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def read_scenario_text(path: str) -> str:
    """The text of a scenario file.

    Args:
        path: the file's path.

    Returns:
        Its content, decoded from UTF-8 (a leading byte-order mark removed).

    Raises:
        ScenarioError: the file cannot be opened, is not a regular file, is larger than
            :data:`MAX_FILE_BYTES`, is not UTF-8 (the message gives the line and column
            of the first bad byte), or has more than :data:`MAX_LINES` lines or a line
            longer than :data:`MAX_LINE_CHARS`.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc.strerror}", file=path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise ScenarioError(
                f"cannot read scenario: it is {kind}, not a regular file", file=path
            )
        chunks = []
        left = MAX_FILE_BYTES + 1  # one byte more tells a file that is too large
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc.strerror}", file=path) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"cannot read scenario: it must be at most {MAX_FILE_BYTES // 2**20} MiB "
            f"(got {info.st_size if info.st_size > MAX_FILE_BYTES else 'more'} bytes)",
            file=path,
        )
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            f"cannot read scenario: not UTF-8 text: byte 0x{data[exc.start]:02x} at column "
            f"{column} (save the file as UTF-8)",
            file=path,
            line=line,
        ) from None
    lines = text.split("\n")
    if len(lines) > MAX_LINES:
        raise ScenarioError(
            f"cannot read scenario: it must have at most {MAX_LINES:,} lines (got {len(lines):,})",
            file=path,
            line=MAX_LINES + 1,
        )
    for number, line_text in enumerate(lines, start=1):
        if len(line_text) > MAX_LINE_CHARS:
            raise ScenarioError(
                f"cannot read scenario: a line must be at most {MAX_LINE_CHARS:,} characters "
                f"(got {len(line_text):,})",
                file=path,
                line=number,
            )
    return text


def parse_yaml(text: str, file: str | None = None, *, what: str = "invalid YAML") -> Any:
    """Parse YAML text with ruamel's round-trip loader, within the budgets above.

    The round-trip containers keep the line of every key and item, for the messages.

    Args:
        text: the YAML text (a scenario file, or one ``--set`` or ``--grid`` value).
        file: the file it came from, for the messages (None for a value of an option).
        what: the start of the message of a syntax error.

    Returns:
        The document: round-trip mappings, lists and scalars.

    Raises:
        ScenarioError: a syntax error, a tag, nesting deeper than :data:`MAX_DEPTH`, an
            alias inside the node it names, or more than :data:`MAX_VALUES` values
            with aliases expanded; with the line where it was found.
    """
    yaml = YAML(typ="rt", pure=True)
    yaml.max_depth = MAX_DEPTH
    yaml.Composer = _BudgetComposer
    try:
        with warnings.catch_warnings():
            # a reused anchor is valid YAML (the later one wins), not a reason to print
            warnings.simplefilter("ignore")
            return yaml.load(StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, MaxDepthExceededError):  # ruamel's text advises a setting
            problem = f"mappings and lists must not be nested more than {MAX_DEPTH} deep"
        raise ScenarioError(f"{what}: {problem}", file=file, line=line) from None
    except ReaderError as exc:  # a character YAML does not allow (NUL, other controls)
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise ScenarioError(
            f"{what}: character {character!r} is not allowed in YAML", file=file, line=line
        ) from None
    except YAMLError as exc:
        raise ScenarioError(f"{what}: {exc}", file=file) from None
    except RecursionError:  # a safety net under MAX_DEPTH; not expected
        raise ScenarioError(f"{what}: nested too deeply", file=file) from None


class _BudgetComposer(Composer):
    """ruamel's composer, counting every value as it is composed (an alias counts the
    values of the node it names) and refusing explicit tags."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False
        self._values = 0
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its values, once complete

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            node = self.anchors.get(event.anchor)
            if node is not None:
                size = self._sizes.get(id(node))
                if size is None:
                    raise ComposerError(
                        None,
                        None,
                        f"alias *{event.anchor} is inside the node it names (a cycle)",
                        event.start_mark,
                    )
                self._count(size, event)
            return super().compose_node(parent, index)
        if isinstance(event, ScalarEvent | CollectionStartEvent) and event.tag is not None:
            tag = str(event.tag)
            if tag != "!":  # "!" is a non-specific tag: the value as if untagged
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise ComposerError(
                    None,
                    None,
                    f"tags are not allowed (got {shown!r}); write the value itself",
                    event.start_mark,
                )
        before = self._values
        self._count(1, event)
        node = super().compose_node(parent, index)
        if node.anchor is not None:
            self._sizes[id(node)] = self._values - before
        return node

    def _count(self, values: int, event: Any) -> None:
        self._values += values
        if self._values > MAX_VALUES:
            raise ComposerError(
                None,
                None,
                f"the document expands to more than {MAX_VALUES:,} values "
                "(aliases counted at each use)",
                event.start_mark,
            )


def check_data(data: Any, where: str) -> Any:
    """Check data given as Python objects (a mapping passed to ``load_scenario``, an
    override's value) against the same budgets as a file: nesting and values.

    Args:
        data: mappings, lists and scalars.
        where: what the data is, for the message (``"the scenario"``, ``"--set x"``).

    Returns:
        ``data``, unchanged.

    Raises:
        ScenarioError: nested more than :data:`MAX_DEPTH` deep (a list that contains
            itself is infinitely deep), or more than :data:`MAX_VALUES` values, each
            shared object counted at each place it appears.
    """
    values = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:  # iterative: a deep structure must not exhaust Python's stack first
        node, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise ScenarioError(f"{where}: must have at most {MAX_VALUES:,} values")
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{where}: mappings and lists must not be nested more than {MAX_DEPTH} deep"
            )
        if isinstance(node, Mapping):
            children: Iterable[Any] = (*node.keys(), *node.values())
        elif isinstance(node, list | tuple | set | frozenset):
            children = node
        else:
            continue
        stack.extend((child, depth + 1) for child in children)
    return data
