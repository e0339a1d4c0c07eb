"""Fixtures of the ``storsim.fs`` tests: the example image and a fresh container root on it."""

from __future__ import annotations

import pytest

from storsim.fs import LowerStack, OverlayFS
from tests.fs.support import BASE, TOP


@pytest.fixture
def image() -> LowerStack:
    """A two-layer image: ``app`` (layer 1) on ``base`` (layer 2)."""
    return LowerStack([TOP, BASE])


@pytest.fixture
def fs(image: LowerStack) -> OverlayFS:
    """A fresh container root on the image, metacopy and redirect_dir off (Docker's default)."""
    return OverlayFS(image)
