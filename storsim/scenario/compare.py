"""A comparison of placements: the same scenario with one path on each storage choice.

Like a fitting room where the same outfit is tried in several sizes, ``compare:`` names
one path and the storage choices to try it on (image layer, writable layer, local or
distributed bind, volume, tmpfs); a run of the scenario then runs one variant per choice
as well and reports them side by side (``Result.comparison``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator

from storsim.names import Storage
from storsim.scenario.content import Content
from storsim.scenario.fields import EntryPath, Spec, one_or_list

__all__ = ["CompareSpec"]


class CompareSpec(Spec):
    """Run the same scenario with ``path`` placed on each storage choice in turn."""

    path: EntryPath
    choices: Annotated[list[Storage], Field(min_length=1)]
    service: str | None = None  # default: every service
    # remote server(s) for distributed_bind, one placement each; default: the first declared
    server: (
        Annotated[list[str], BeforeValidator(one_or_list, json_schema_input_type=str | list[str])]
        | None
    ) = None
    content: Content | None = None  # what lives at path at start; default: the image's

    @field_validator("choices")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a storage choice")
        return value
