"""The public API: storsim.__all__ sorted and complete, and no name hiding a module."""

from __future__ import annotations

import importlib
import pkgutil
import types

import storsim


def test_public_api_is_sorted_and_complete() -> None:
    """storsim.__all__ is sorted, every name in it exists, and every public name that is not
    a module is in it."""
    assert storsim.__all__ == sorted(storsim.__all__)
    for name in storsim.__all__:
        assert hasattr(storsim, name), name
    public = {
        name
        for name, value in vars(storsim).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public | {"__version__"} == set(storsim.__all__)


def test_output_packages_import_as_modules() -> None:
    """import storsim.report, storsim.sweeps, storsim.stats and storsim.cli give modules,
    not the functions of the same names (write_report and sweep shadow nothing)."""
    import storsim.cli
    import storsim.report
    import storsim.stats
    import storsim.sweeps

    for module in (storsim.report, storsim.sweeps, storsim.stats, storsim.cli):
        assert isinstance(module, types.ModuleType), module
    assert callable(storsim.write_report)
    assert callable(storsim.sweep)
    assert callable(storsim.cli.main)  # the `storsim` script's entry point, storsim.cli:main


def test_no_name_shadows_a_submodule() -> None:
    """In every package of storsim, each submodule's name gives that module: no function
    or class re-exported by a package hides a module of the same name."""
    shadowed = []
    for info in pkgutil.walk_packages(storsim.__path__, "storsim."):
        if info.name.endswith(".__main__"):  # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        parent, _, child = info.name.rpartition(".")
        if getattr(importlib.import_module(parent), child) is not module:
            shadowed.append(info.name)
    assert shadowed == []
