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

from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

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
    "SourceSpec",
    "UniformSize",
    "VolumeSpec",
]


class FixedSize(Spec):
    """Every file has the same size."""

    dist: Literal["fixed"] = "fixed"
    """The distribution: ``fixed`` (a size alone, ``4 KiB``, is this)."""
    size: Size
    """Every file's size (bytes, or with a unit: ``4 KiB``)."""


class LognormalSize(Spec):
    """File sizes spread over orders of magnitude, as real file populations are."""

    dist: Literal["lognormal"]
    """The distribution: ``lognormal``."""
    median: Size
    """The median size (bytes, or with a unit: ``48 KiB``)."""
    sigma: Annotated[float, Field(ge=0, le=10)] = 1.0
    """The standard deviation of the size's natural logarithm (1.5: a tenth of the files
    are 7 times the median or more)."""

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
    """The distribution: ``uniform``."""
    min: Size
    """The smallest size (bytes, or with a unit: ``1 KiB``)."""
    max: Size
    """The largest size (bytes, or with a unit: ``1 MiB``), at least ``min``."""

    @model_validator(mode="after")
    def _ordered(self) -> UniformSize:
        if self.min > self.max:
            raise ValueError("min must be <= max")
        return self


class ExponentialSize(Spec):
    """Sizes exponentially distributed around ``mean``."""

    dist: Literal["exponential"]
    """The distribution: ``exponential``."""
    mean: Size
    """The mean size (bytes, or with a unit: ``64 KiB``)."""

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
    """The directory the files are generated below (``/usr/lib``)."""
    count: Annotated[int, Field(gt=0, le=10_000_000)]
    """How many files (``{dir}/{prefix}000000`` on)."""
    size: SizeSpec = FixedSize(size=4096)
    """The files' sizes: a size (``4 KiB``) or a distribution (``{dist: lognormal,
    median: 16 KiB, sigma: 1.5}``)."""
    fanout: Count = 100
    """Files per directory: past ``fanout`` files they go into ``dNNNN`` subdirectories."""
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "f"
    """The start of every file's name (``f`` gives ``f000000``, ``f000001``...)."""


class Content(Spec):
    """Files and directories present before the simulation starts."""

    files: dict[EntryPath, Size] = {}
    """Files by path, each with its size (``{/app/main.py: 8 KiB}``); their parent
    directories exist."""
    dirs: list[AbsPath] = []
    """Directories, empty unless files are below them (``[/var/log/app]``)."""
    symlinks: dict[EntryPath, LinkTarget] = {}
    """Symbolic links by path, each with its target (``{/etc/localtime:
    /usr/share/zoneinfo/UTC}``)."""
    generate: list[GenerateSpec] = []
    """Generated populations of files (``[{dir: /usr/lib, count: 2000}]``)."""


class SourceSpec(Content):
    """What a named volume or a bind source holds at the start: a directory's content,
    or, with ``file``, one host file."""

    file: Size | None = None
    """The source is a single host file of this size (``./nginx.conf: {file: 2 KiB}``),
    not a directory: a bind of it is a single-file bind mount, which shows the file at its
    target and leaves the target's siblings the image's. (A file inside a directory source
    is bound by its path: ``./conf/nginx.conf:/etc/nginx/nginx.conf`` with ``./conf:
    {files: {/nginx.conf: 2 KiB}}``, the same file as the directory's bind shows.)"""

    @model_validator(mode="after")
    def _one_file(self) -> SourceSpec:
        if self.file is not None and (self.files or self.dirs or self.symlinks or self.generate):
            raise ValueError(
                "file is a single host file: it has no files, dirs, symlinks or generate"
            )
        return self


#: The most copies of one layer entry: the kernel's own limit on the layers of one
#: overlay mount (500 [K2]); the image's layer count is checked against
#: ``host.overlay.max_layers`` (128, Docker's [D8]) once the copies are made.
MAX_REPEAT = 500


class LayerSpec(Content):
    """One image layer (a Dockerfile instruction's result): content plus deletions."""

    name: str | None = None
    """The layer's name, for messages and reports (``layer{n}`` when none is given). With
    ``repeat``, ``{i}`` in it is the copy's number from 0 (``base-{i}``: ``base-0``,
    ``base-1``...); a name without ``{i}`` gets ``-{i}`` appended."""
    delete: list[EntryPath] = []
    """Whiteouts: files or directories of the layers below that this layer removes."""
    opaque: list[EntryPath] = []
    """Directories this layer replaces (opaque: the layers below are not merged in)."""
    repeat: Annotated[int, Field(ge=1, le=MAX_REPEAT)] = 1
    """How many layers this entry stands for, stacked one above the other, each with the
    same content (``repeat: 60`` for a 60-layer image of ``generate:`` populations); each
    copy draws its generated sizes of its own. The copies count against
    ``host.overlay.max_layers`` and their files against the work budget."""

    _entry: int = PrivateAttr(default=0)
    _origin: LayerSpec | None = PrivateAttr(default=None)

    @property
    def entry(self) -> int:
        """The position of this layer's entry in the file's ``layers:`` list (copies of a
        ``repeat`` share it): the messages name the entry, not the copy."""
        return self._entry

    @property
    def origin(self) -> LayerSpec:
        """The first copy of this layer's entry (itself unless it is a later copy)."""
        return self._origin or self


class ImageSpec(Spec):
    """An image: layers from the bottom (base) up, and its Dockerfile ``VOLUME`` paths."""

    layers: Annotated[list[LayerSpec], Field(min_length=1)]
    """The image's layers, base first as a Dockerfile builds them; an entry with
    ``repeat: N`` is N layers here, once validated."""
    volumes: list[EntryPath] = []
    """The image's Dockerfile ``VOLUME`` paths: a new anonymous volume at each of them
    in every ``docker run``."""

    @field_validator("layers", mode="after")
    @classmethod
    def _repeat(cls, layers: list[LayerSpec]) -> list[LayerSpec]:
        # counted before any copy is made: 60,000 entries of `repeat: 500` would be 30
        # million copies (an image beyond the kernel's 500 layers cannot be mounted)
        total = sum(layer.repeat for layer in layers)
        if total > MAX_REPEAT:
            raise ValueError(
                f"must stack at most {MAX_REPEAT} layers, repeats included, the kernel's "
                f"overlayfs limit (got {total})"
            )
        stack: list[LayerSpec] = []
        for entry, layer in enumerate(layers):
            if layer.repeat == 1:
                layer._entry = entry
                stack.append(layer)
                continue
            for i in range(layer.repeat):
                name = layer.name
                if name is not None:
                    name = name.replace("{i}", str(i)) if "{i}" in name else f"{name}-{i}"
                # a shallow copy: the copies share the entry's file tables (one in memory)
                copy = layer.model_copy(update={"name": name, "repeat": 1})
                copy._entry = entry
                copy._origin = stack[-1].origin if i else None
                stack.append(copy)
        return stack


class VolumeSpec(Spec):
    """A top-level named volume (compose ``volumes:``)."""

    driver: Literal["local"] = "local"
    """The volume driver: ``local`` (on the host's disk)."""
    external: bool = False
    """compose ``external``: created outside the project (it is there at the start)."""
    name: str | None = None
    """compose ``name``: the volume's name in Docker (default: the key)."""
    labels: dict[str, str] = {}
    """compose ``labels``: accepted, not modelled."""
