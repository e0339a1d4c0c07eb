"""Field types of scenario objects: quantities with units, absolute paths, a frozen base.

Like the boxes of a printed form, each labelled with its unit ("kg", "dd/mm/yyyy"), these
types say what a scenario value must look like: ``"4 KiB"`` for a size, ``"2 ms"`` for a
duration, ``"/data"`` for a path. Every spec module (host, content, services, compare)
builds its objects from them, so that one quantity is parsed one way everywhere.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from storsim import units

__all__ = ["AbsPath", "Bandwidth", "Duration", "Rate", "Size", "Spec", "one_or_list"]


def _unit(parse: Any, example: str) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return parse(value)
        raise ValueError(f"must be a quantity such as {example}")

    return BeforeValidator(validate)


def _quantity_schema(example: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [{"type": "string", "examples": [example]}, {"type": "number", "minimum": 0}]}
    )


Size = Annotated[int, _unit(units.parse_size, "'4 KiB'"), _quantity_schema("4 KiB")]
Duration = Annotated[float, _unit(units.parse_duration, "'2 ms'"), _quantity_schema("2 ms")]
Bandwidth = Annotated[
    float, _unit(units.parse_bandwidth, "'500 MB/s'"), _quantity_schema("500 MB/s")
]
Rate = Annotated[float, _unit(units.parse_rate, "'100/s'"), _quantity_schema("100/s")]


def _abs_path(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value.startswith("/"):
        raise ValueError("must be an absolute path starting with '/'")
    normal = os.path.normpath(value)
    return "/" if normal == "//" else normal


AbsPath = Annotated[str, BeforeValidator(_abs_path)]


def one_or_list(value: Any) -> Any:
    """Shorthand for a list of strings: one string stands for a list of one (compose's
    ``tmpfs: /tmp``)."""
    return [value] if isinstance(value, str) else value


class Spec(BaseModel):
    """Base of every scenario object: frozen, and unknown keys are errors.

    A string literal right under a field is its documentation: pydantic reads it
    (``use_attribute_docstrings``) into the field's description, which ``storsim
    schema`` shows editors. Write the unit, the default and its source there.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
