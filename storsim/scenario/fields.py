"""Field types of scenario objects: quantities with units, absolute paths, a frozen base.

Like the boxes of a printed form, each labelled with its unit ("kg", "dd/mm/yyyy"), these
types say what a scenario value must look like: ``"4 KiB"`` for a size, ``"2 ms"`` for a
duration, ``"/data"`` for a path, ``"/tmp/{i}.json"`` for a path template. Every spec
module (host, content, services, compare) builds its objects from them, so that one
quantity is parsed one way everywhere, and every number and path is known to be usable
before a run starts: finite and in range, absolute, at most ``PATH_MAX`` long, with only
the template fields the workloads fill in.
"""

from __future__ import annotations

import posixpath
import re
import string
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from storsim import units

__all__ = [
    "AbsPath",
    "Bandwidth",
    "Count",
    "Duration",
    "EntryPath",
    "LinkTarget",
    "PathPattern",
    "PositiveDuration",
    "Rate",
    "Size",
    "Spec",
    "TEMPLATE_FIELDS",
    "check_template",
    "one_or_list",
]

#: The fields a workload fills in a path template: the iteration, the thread, the
#: replica, the replica's n-th ``docker run`` and the container's n-th start.
TEMPLATE_FIELDS = ("i", "thread", "replica", "run", "start")

#: Linux's PATH_MAX, in bytes with the final NUL: a longer path is ENAMETOOLONG.
_PATH_MAX = 4096
# A format spec for an integer field: fill/align, sign, zero padding, width (two
# digits: a path component of 99 characters at most), grouping, base; e.g. "04d", ">8".
_INT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?#?0?(?:[1-9][0-9]?)?[,_]?[bdoxX]?")


def _unit(parse: Any, example: str) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return parse(value)
        raise ValueError(f"must be a quantity such as {example}")

    return BeforeValidator(validate)


def _quantity_schema(kind: str, examples: list[str], unit: str) -> WithJsonSchema:
    # The string's pattern is the parser's (units.pattern): an editor flags "4 KB/s" as a
    # size or "2 sec s" as a duration while it is typed; the range is checked at load.
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": units.pattern(kind), "examples": examples},
                {"type": "number", "minimum": 0, "description": f"in {unit}"},
            ]
        }
    )


Size = Annotated[
    int,
    _unit(units.parse_size, "'4 KiB'"),
    _quantity_schema("size", ["4 KiB", "1.5 GB", "512"], "bytes"),
]
Duration = Annotated[
    float,
    _unit(units.parse_duration, "'2 ms'"),
    _quantity_schema("duration", ["2 ms", "150 us", "1.5 s", "2 min"], "seconds"),
]
Bandwidth = Annotated[
    float,
    _unit(units.parse_bandwidth, "'500 MB/s'"),
    _quantity_schema("bandwidth", ["500 MB/s", "1 GiB/s"], "bytes per second"),
]
Rate = Annotated[
    float,
    _unit(units.parse_rate, "'100/s'"),
    _quantity_schema("rate", ["100/s", "5 per ms", "3/min"], "events per second"),
]
#: A duration that must be longer than zero: how long a scenario or a workload lasts.
PositiveDuration = Annotated[Duration, Field(gt=0)]


def _path_text(value: str, what: str = "an absolute path starting with '/'") -> None:
    if not value.startswith("/"):
        raise ValueError(f"must be {what}")
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    if len(value.encode("utf-8", "surrogatepass")) >= _PATH_MAX:
        raise ValueError(f"must be shorter than {_PATH_MAX} bytes (PATH_MAX)")


def _abs_path(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    _path_text(value)
    # "/a/../b" -> "/b", "//a" -> "/a": the lexical normalisation the file systems use
    return "/" + posixpath.normpath(value).lstrip("/")


def _entry_path(value: Any) -> Any:
    value = _abs_path(value)
    if value == "/":
        raise ValueError("must name a path below '/' (the root itself cannot be one)")
    return value


def _link_target(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value or "\x00" in value:
        raise ValueError("must be a non-empty path without NUL characters")
    if len(value.encode("utf-8", "surrogatepass")) >= _PATH_MAX:
        raise ValueError(f"must be shorter than {_PATH_MAX} bytes (PATH_MAX)")
    return value


def _path_pattern(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    _path_text(value, "an absolute path, glob or template starting with '/'")
    if "{" in value or "}" in value:
        check_template(value)
    return value


def check_template(text: str) -> None:
    """Check a path template: braces balanced, only :data:`TEMPLATE_FIELDS` as fields,
    each with at most an integer format (``{i:04d}``).

    Raises:
        ValueError: a rule is broken (the message says which).
    """
    fields = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(
            f"must be a template with balanced braces ({exc}); write {{{{ or }}}} for a "
            "brace itself"
        ) from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            raise ValueError(f"must use only the template fields {fields} (got {{{field}}})")
        if conversion is not None or not _INT_SPEC.fullmatch(spec or ""):
            shown = "{" + field + (f"!{conversion}" if conversion else "") + f":{spec}}}"
            raise ValueError(
                f"must format a template field as an integer, such as {{i:04d}} (got {shown})"
            )


#: An absolute path, normalised lexically (``"/a/../b"`` -> ``"/b"``); may be ``"/"``.
AbsPath = Annotated[str, BeforeValidator(_abs_path)]
#: An absolute path below the root: a file, a mount target, a deleted entry...
EntryPath = Annotated[str, BeforeValidator(_entry_path)]
#: What a symlink points at: any path, relative or absolute, but not empty.
LinkTarget = Annotated[str, BeforeValidator(_link_target)]
#: A workload's path: exact, a glob (``/usr/lib/*``) or a template (``/tmp/{i}.json``).
PathPattern = Annotated[str, BeforeValidator(_path_pattern)]
#: A count of things that can be very many (operations, files): at most 2**53, which
#: floats still count exactly.
Count = Annotated[int, Field(gt=0, le=2**53)]


def one_or_list(value: Any) -> Any:
    """Shorthand for a list of strings: one string stands for a list of one (compose's
    ``tmpfs: /tmp``)."""
    return [value] if isinstance(value, str) else value


class Spec(BaseModel):
    """Base of every scenario object: frozen, unknown keys are errors, and a float field
    refuses infinities and NaN (YAML's ``.inf`` and ``.nan``).

    A string literal right under a field is its documentation: pydantic reads it
    (``use_attribute_docstrings``) into the field's description, which ``storsim
    schema`` shows editors. Write the unit, the default and its source there.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True
    )
