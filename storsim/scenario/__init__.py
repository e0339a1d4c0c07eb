"""Scenario files: what is simulated, validated once at the edge.

A scenario is to storsim what a docker compose file is to Docker: it names the images
and their layers, the volumes, the services with their replicas and mounts, and, beyond
compose, the host's devices, the workload each container runs and the placements to
compare. The container part speaks compose's language (``services``, ``image``,
``deploy.replicas``, ``volumes`` in short ``name:/path:ro`` and long
``type/source/target/read_only`` syntax, ``tmpfs``, top-level named ``volumes``) so that
users recognise it at once.

Everything that can be wrong with a scenario is found here, before any
``simpy.Environment`` exists, and reported as one :class:`~storsim.errors.ScenarioError`
whose text is ``FILE:LINE: yaml.path: what is wrong (got VALUE)``. The model code then
works on the validated, frozen objects below and never re-checks them.

One concept per module, in the order a file goes through them: :mod:`.load` (read and
parse), :mod:`.overrides` (``--set``), :mod:`.model` (the Scenario and the rules across
its parts), :mod:`.messages` (pydantic errors -> one line); the specs :mod:`.fields`
(units, paths), :mod:`.host`, :mod:`.content`, :mod:`.services`, :mod:`.compare`; and
:mod:`.schema` (the JSON Schema). The names of operations and storage choices are
:mod:`storsim.names`'s.
"""

from __future__ import annotations

from storsim import names
from storsim.names import STORAGES, Op, Storage
from storsim.scenario.compare import CompareSpec
from storsim.scenario.content import (
    Content,
    ExponentialSize,
    FixedSize,
    GenerateSpec,
    ImageSpec,
    LayerSpec,
    LognormalSize,
    SizeSpec,
    UniformSize,
    VolumeSpec,
)
from storsim.scenario.host import DiskSpec, HostSpec, OverlaySpec, RemoteSpec
from storsim.scenario.load import load_scenario
from storsim.scenario.model import Scenario
from storsim.scenario.schema import scenario_schema
from storsim.scenario.services import (
    COMPOSE_IGNORED_KEYS,
    BindOptions,
    Deploy,
    LifecycleEvent,
    MountSpec,
    ServiceSpec,
    Step,
    TmpfsOptions,
    VolumeOptions,
    WorkloadSpec,
)

__all__ = [
    "BindOptions",
    "COMPOSE_IGNORED_KEYS",
    "CompareSpec",
    "Content",
    "Deploy",
    "DiskSpec",
    "ExponentialSize",
    "FixedSize",
    "GenerateSpec",
    "HostSpec",
    "ImageSpec",
    "LayerSpec",
    "LifecycleEvent",
    "LognormalSize",
    "MountSpec",
    "OPS",
    "Op",
    "OverlaySpec",
    "RemoteSpec",
    "STORAGE_CHOICES",
    "Scenario",
    "ServiceSpec",
    "SizeSpec",
    "Step",
    "Storage",
    "TmpfsOptions",
    "UniformSize",
    "VolumeOptions",
    "VolumeSpec",
    "WorkloadSpec",
    "load_scenario",
    "scenario_schema",
]

#: The storage choices, in the order reports show them (listed once, in storsim.names).
STORAGE_CHOICES: tuple[str, ...] = STORAGES
#: File operations a workload step can perform (listed once, in storsim.names).
OPS: tuple[str, ...] = names.OPS
