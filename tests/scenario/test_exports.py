"""The scenario package's names: what the rest of storsim and its users import from it."""

from __future__ import annotations

import storsim.scenario


def test_all_is_sorted_and_complete() -> None:
    """storsim.scenario.__all__ is sorted and every name in it exists."""
    assert storsim.scenario.__all__ == sorted(storsim.scenario.__all__)
    for name in storsim.scenario.__all__:
        assert hasattr(storsim.scenario, name), name


def test_names_other_modules_import_are_exported() -> None:
    """The spec types the model, the records and the reports import stay in __all__."""
    imported = {
        "COMPOSE_IGNORED_KEYS", "Content", "LayerSpec", "MountSpec", "OPS", "STORAGE_CHOICES",
        "Scenario", "ServiceSpec", "SizeSpec", "Step", "Storage", "WorkloadSpec",
        "load_scenario", "scenario_schema",
    }  # fmt: skip
    assert imported <= set(storsim.scenario.__all__)
