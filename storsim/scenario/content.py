"""What exists before the simulation starts: files in image layers, volumes and bind sources.

Like the inventory of a warehouse before opening day, a scenario lists the files each
image layer holds (exact paths and sizes, or a generated population: ``count`` files of
a size distribution below a directory), what each layer deletes or replaces, the images
stacked from those layers, and the top-level named volumes (compose ``volumes:``).
"""

# ruff: noqa: RUF012  (pydantic copies a mutable field default for each instance; ruff
# exempts pydantic models only when BaseModel is a base class within the same file)

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from storsim.scenario.fields import AbsPath, Size, Spec

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
    fanout: Annotated[int, Field(gt=0)] = 100
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "f"


class Content(Spec):
    """Files and directories present before the simulation starts."""

    files: dict[AbsPath, Size] = {}
    dirs: list[AbsPath] = []
    symlinks: dict[AbsPath, str] = {}
    generate: list[GenerateSpec] = []


class LayerSpec(Content):
    """One image layer (a Dockerfile instruction's result): content plus deletions."""

    name: str | None = None
    delete: list[AbsPath] = []  # whiteouts: files or directories removed by this layer
    opaque: list[AbsPath] = []  # directories replaced (not merged) by this layer


class ImageSpec(Spec):
    """An image: layers from the bottom (base) up, and its Dockerfile ``VOLUME`` paths."""

    layers: Annotated[list[LayerSpec], Field(min_length=1)]
    volumes: list[AbsPath] = []


class VolumeSpec(Spec):
    """A top-level named volume (compose ``volumes:``)."""

    driver: Literal["local"] = "local"
    external: bool = False
    name: str | None = None
    labels: dict[str, str] = {}
