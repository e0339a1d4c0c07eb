"""What every importer hands back: scenario data, the notes of what it could not map, and
the comments that mark the numbers a user should fill in.

Like a removal company's inventory, an import lists what went into the van (the
scenario data, as plain dicts and lists that :func:`storsim.load_scenario` accepts),
what stayed behind and why (:class:`Note`, one line each, ``FILE:LINE: where: why``),
and the boxes marked "check me" (comments on the YAML lines whose numbers are guesses).
:meth:`Imported.to_yaml` writes all three as one scenario file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

__all__ = [
    "DataPath",
    "Imported",
    "Note",
    "format_duration",
    "format_rate",
    "format_size",
    "render_yaml",
]

#: A path into scenario data: keys and list indices, e.g. ("services", "db", "workload", 0).
DataPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Note:
    """Something an importer could not map, and why: one line, like a compiler's warning.

    Attributes:
        where: dotted path of the input it concerns, e.g. ``"services.db.read_only"``.
        message: what could not be mapped and why (and what storsim did instead).
        file: the input file, if known.
        line: 1-based line in ``file``, if known.
    """

    where: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        prefix = ""
        if self.file is not None:
            prefix = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        return f"{prefix}{self.where}: {self.message}"


@dataclass(slots=True)
class Imported:
    """An imported scenario (or a part of one, from ``docker inspect``).

    Attributes:
        data: the scenario as plain data (what :func:`storsim.load_scenario` accepts).
        notes: what could not be mapped, and why.
        comments: end-of-line comments for the YAML output, by path into ``data``
            (``"TODO: ..."`` where the user should fill in a number).
        header: comment lines at the top of the YAML output.
    """

    data: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    comments: dict[DataPath, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """The scenario as YAML text, with the header, the notes and the comments."""
        header = list(self.header)
        if self.notes:
            header += ["", "Not mapped (storsim init printed these too):"]
            header += [f"  - {_strip_file(note)}" for note in self.notes]
        return render_yaml(self.data, self.comments, header)


def _strip_file(note: Note) -> str:
    line = f"line {note.line}: " if note.line is not None else ""
    return f"{line}{note.where}: {note.message}"


# --- quantities as people write them ---------------------------------------------------

_BINARY = (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def format_size(nbytes: int) -> str | int:
    """``4096`` -> ``"4 KiB"``: the largest binary unit that divides the size exactly.

    Sizes that no unit divides (``1000``) stay plain numbers of bytes, which the scenario
    format reads as bytes, so nothing is rounded.
    """
    for unit, factor in _BINARY:
        if nbytes >= factor and nbytes % factor == 0:
            return f"{nbytes // factor} {unit}"
    return nbytes


def format_duration(seconds: float) -> str:
    """``0.5`` -> ``"500 ms"``: the largest of s, ms, us that gives a whole number."""
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        value = seconds / factor
        if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)) and value >= 1:
            return f"{round(value)} {unit}"
    return f"{seconds:g} s"


def format_rate(per_second: float) -> str:
    """``100.0`` -> ``"100/s"``."""
    if math.isfinite(per_second) and per_second == round(per_second):
        return f"{round(per_second)}/s"
    return f"{per_second:g}/s"


# --- YAML output ---------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./{}*-]*$")


def render_yaml(
    data: Mapping[str, Any], comments: Mapping[DataPath, str], header: Sequence[str]
) -> str:
    """Scenario data as YAML: block style, small leaf mappings in flow style, comments.

    A mapping or list is written in flow style (``{op: read, size: 4 KiB}``) when it holds
    only scalars, is short, and no comment is attached inside it (flow collections cannot
    carry end-of-line comments on their items).
    """
    commented = {path[:i] for path in comments for i in range(len(path) + 1)}
    tree = _build(data, (), commented)
    for path, text in comments.items():
        _attach(tree, path, text)
    if header:
        tree.yaml_set_start_comment("\n".join(header))
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _flow_ok(node: Mapping[str, Any] | Sequence[Any]) -> bool:
    values: Iterable[Any] = node.values() if isinstance(node, Mapping) else node
    values = list(values)
    if not all(_scalar(v) for v in values):
        return False
    text = ", ".join(str(v) for v in values)
    if isinstance(node, Mapping):
        text += ", ".join(str(k) for k in node)
    return len(text) <= 70 and len(values) <= 6


def _build(node: Any, path: DataPath, commented: set[DataPath]) -> Any:
    if isinstance(node, Mapping):
        out = CommentedMap()
        for key, value in node.items():
            out[key] = _build(value, (*path, key), commented)
        if path and path not in commented and node and _flow_ok(node):
            out.fa.set_flow_style()
        return out
    if isinstance(node, list | tuple):
        seq = CommentedSeq()
        for i, value in enumerate(node):
            seq.append(_build(value, (*path, i), commented))
        if path not in commented and _flow_ok(node):
            seq.fa.set_flow_style()
        return seq
    return node


def _attach(tree: Any, path: DataPath, text: str) -> None:
    node = tree
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if isinstance(node, CommentedMap | CommentedSeq):
        node.yaml_add_eol_comment(text if text.startswith("#") else f"# {text}", last)
