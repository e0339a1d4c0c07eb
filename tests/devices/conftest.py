"""Fixtures of the device tests."""

from __future__ import annotations

import pytest
import simpy


@pytest.fixture
def env() -> simpy.Environment:
    """A fresh simulation environment."""
    return simpy.Environment()
