"""A comparison of placements: the same scenario with one path on each storage choice.

Like a fitting room where the same outfit is tried in several sizes, ``compare:`` names
one path and the storage choices to try it on (image layer, writable layer, local or
distributed bind, volume, tmpfs); a run of the scenario then runs one variant per choice
as well and reports them side by side (``Result.comparison``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator

from storsim.names import Problem, Storage
from storsim.scenario.content import Content
from storsim.scenario.fields import EntryPath, Spec, one_or_list

__all__ = ["CompareSpec"]


class CompareSpec(Spec):
    """Run the same scenario with ``path`` placed on each storage choice in turn."""

    path: EntryPath
    """The path to place on each storage choice in turn (``/var/lib/app``): a mount of
    that kind is put at it, or the image's files are kept there (``image_layer``)."""
    choices: Annotated[list[Storage], Field(min_length=1)]
    """The storage choices to compare, each once (``[writable_layer, volume, tmpfs]``)."""
    service: str | None = None
    """The service whose ``path`` is placed (default: every service)."""
    server: (
        Annotated[list[str], BeforeValidator(one_or_list, json_schema_input_type=str | list[str])]
        | None
    ) = None
    """For ``distributed_bind``: the server(s) under ``host.remotes`` to place ``path`` on,
    one placement each (``nas`` or ``[nas, s3]``; default: the first declared)."""
    content: Content | None = None
    """What lives at ``path`` at the start in every placement (default: the image's files
    there)."""
    accept: list[Problem] = []  # noqa: RUF012 (pydantic copies a mutable default)
    """Problems this comparison accepts: shown in the verdict, but they do not rank a
    placement down (``[data_lost]`` for a cache that may be lost at ``rm``). Kinds:
    data_lost, orphaned, lost_updates, lost_records, torn, stale_reads, errors,
    lock_errors."""

    @field_validator("choices")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a storage choice")
        return value
