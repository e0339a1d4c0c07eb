"""What exists before the simulation starts: files in image layers, volumes and bind sources.

Like the inventory of a warehouse before opening day, a scenario lists the files each
image layer holds (exact paths and sizes, or a generated population: ``count`` files of
a size distribution below a directory), what each layer deletes or replaces, the images
stacked from those layers, and the top-level named volumes (compose ``volumes:``).
"""

# ruff: noqa: RUF012  (pydantic copies a mutable field default for each instance; ruff
# exempts pydantic models only when BaseModel is a base class within the same file)

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from storsim.scenario.fields import AbsPath, Count, EntryPath, LinkTarget, Size, Spec
from storsim.units import MAX_SIZE_BYTES

__all__ = [
    "Content",
    "ExponentialSize",
    "FixedSize",
    "GenerateSpec",
    "ImageSpec",
    "LayerSpec",
    "LognormalSize",
    "SizeSpec",
    "UniformSize",
    "VolumeSpec",
]


class FixedSize(Spec):
    """Every file has the same size."""

    dist: Literal["fixed"] = "fixed"
    size: Size


class LognormalSize(Spec):
    """File sizes spread over orders of magnitude, as real file populations are."""

    dist: Literal["lognormal"]
    median: Size
    sigma: Annotated[float, Field(ge=0, le=10)] = 1.0

    @model_validator(mode="after")
    def _fits(self) -> LognormalSize:
        # A draw is median * e^(sigma * Z), Z standard normal: it must stay a size (the
        # model keeps sizes as 64-bit integers) even 8 standard deviations up, a draw
        # of probability 6e-16, so that no run ever meets one that does not.
        if self.median * math.exp(8 * self.sigma) > MAX_SIZE_BYTES:
            raise ValueError(
                "median * e^(8 * sigma) must be at most 8 PiB (2**53 bytes), so that every "
                f"draw is a size that fits (got median {self.median}, sigma {self.sigma})"
            )
        return self


class UniformSize(Spec):
    """Sizes uniform between ``min`` and ``max``."""

    dist: Literal["uniform"]
    min: Size
    max: Size

    @model_validator(mode="after")
    def _ordered(self) -> UniformSize:
        if self.min > self.max:
            raise ValueError("min must be <= max")
        return self


class ExponentialSize(Spec):
    """Sizes exponentially distributed around ``mean``."""

    dist: Literal["exponential"]
    mean: Size

    @model_validator(mode="after")
    def _fits(self) -> ExponentialSize:
        # A draw exceeds 40 means with probability e^-40 (4e-18): it must still fit.
        if self.mean * 40 > MAX_SIZE_BYTES:
            raise ValueError(
                "mean * 40 must be at most 8 PiB (2**53 bytes), so that every draw is a "
                f"size that fits (got mean {self.mean})"
            )
        return self


def _size_shorthand(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "size": value}
    return value


SizeSpec = Annotated[
    FixedSize | LognormalSize | UniformSize | ExponentialSize,
    Field(discriminator="dist"),
    BeforeValidator(
        _size_shorthand,
        json_schema_input_type=str
        | float
        | FixedSize
        | LognormalSize
        | UniformSize
        | ExponentialSize,
    ),
]


class GenerateSpec(Spec):
    """A generated population of files: ``count`` files below ``dir``, ``fanout`` per directory."""

    dir: AbsPath
    count: Annotated[int, Field(gt=0, le=10_000_000)]
    size: SizeSpec = FixedSize(size=4096)
    fanout: Count = 100
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "f"


class Content(Spec):
    """Files and directories present before the simulation starts."""

    files: dict[EntryPath, Size] = {}
    dirs: list[AbsPath] = []
    symlinks: dict[EntryPath, LinkTarget] = {}
    generate: list[GenerateSpec] = []


class LayerSpec(Content):
    """One image layer (a Dockerfile instruction's result): content plus deletions."""

    name: str | None = None
    delete: list[EntryPath] = []  # whiteouts: files or directories removed by this layer
    opaque: list[EntryPath] = []  # directories replaced (not merged) by this layer


class ImageSpec(Spec):
    """An image: layers from the bottom (base) up, and its Dockerfile ``VOLUME`` paths."""

    layers: Annotated[list[LayerSpec], Field(min_length=1)]
    volumes: list[EntryPath] = []


class VolumeSpec(Spec):
    """A top-level named volume (compose ``volumes:``)."""

    driver: Literal["local"] = "local"
    external: bool = False
    name: str | None = None
    labels: dict[str, str] = {}
