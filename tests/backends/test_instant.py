"""The instant double: the whole backend protocol at zero cost, every call logged."""

from __future__ import annotations

from storsim.backends import Attachment, Backend
from storsim.backends.instant import InstantBackend
from storsim.fs import PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE


def test_the_instant_double_costs_nothing_and_logs_each_call(ctx: SimContext) -> None:
    """Every call takes zero time and is logged in order, with whether the op succeeded."""
    double: Backend = InstantBackend(ctx, Attachment(fs=PlainFS(), key="k"))
    assert double.charge(OP_TABLE["read"].cost, "/f", object(), 4096, 8192) == 0.0
    assert double.charge(OP_TABLE["stat"].cost, "/g", None, 0, 0) == 0.0
    assert double.lock_cost() == 0.0
    double.locked("/f")
    double.committed("/f", 3)
    assert isinstance(double, InstantBackend)
    assert double.calls == [
        ("charge", "read", "/f", 4096, 8192, True),
        ("charge", "stat", "/g", 0, 0, False),
        ("lock",),
        ("locked", "/f"),
        ("committed", "/f", 3),
    ]
