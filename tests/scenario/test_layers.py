"""Generated image layers: ``repeat: N`` makes one layer entry N layers of the image."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import storsim
from storsim.errors import ScenarioError
from storsim.run.world import build_stack
from tests.conftest import TINY


def _image(*layers: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(TINY)
    data["images"]["app"]["layers"] = [*layers, {"files": {"/data/big.db": "1 MiB"}}]
    return data


def test_repeat_stacks_copies_named_by_the_template() -> None:
    """repeat: 3 with name base-{i} is three layers base-0, base-1, base-2, each the
    entry's content, all remembering entry 0; the next entry follows."""
    s = storsim.load_scenario(
        _image({"name": "base-{i}", "repeat": 3, "files": {"/etc/a.conf": "1 KiB"}})
    )
    layers = s.images["app"].layers
    assert [(layer.name, layer.entry, layer.repeat) for layer in layers] == [
        ("base-0", 0, 1),
        ("base-1", 0, 1),
        ("base-2", 0, 1),
        (None, 1, 1),
    ]
    assert all(layer.files == {"/etc/a.conf": 1024} for layer in layers[:3])
    assert [layer.origin is layers[0] for layer in layers] == [True, True, True, False]


def test_a_name_without_a_field_is_numbered_and_none_stays_none() -> None:
    """A name without {i} gets -{i}; an unnamed entry's copies stay unnamed."""
    s = storsim.load_scenario(_image({"name": "lib", "repeat": 2}, {"repeat": 2}))
    assert [layer.name for layer in s.images["app"].layers] == ["lib-0", "lib-1", None, None, None]


def test_a_repeated_layer_is_that_many_layers_deep() -> None:
    """60 copies of a generated layer under one more are a lower stack of 61 layers
    (top first, as overlayfs stacks them), each copy with its own 10 files."""
    data = _image({"name": "lib-{i}", "repeat": 60, "generate": [{"dir": "/usr/lib", "count": 10}]})
    stack = build_stack(storsim.load_scenario(data), "app", np.random.default_rng(0))
    assert len(stack) == 61
    assert [layer.name for layer in stack.layers][:3] == ["layer60", "lib-59", "lib-58"]
    assert stack.layers[-1].name == "lib-0"
    assert all("/usr/lib/f000009" in layer.entries for layer in stack.layers[1:])


def test_errors_name_the_entry_not_the_copy(write_yaml: Any) -> None:
    """A rule broken in the entry after a repeat: 5 is reported at that entry (layers[1],
    its line in the file), not at the sixth layer of the stack."""
    data = _image({"repeat": 5, "files": {"/etc/a.conf": 1}})
    data["images"]["app"]["layers"][1]["files"]["/data/big.db/below"] = 1
    path = write_yaml(data)
    with pytest.raises(ScenarioError) as info:
        storsim.load_scenario(path)
    assert info.value.where is not None
    assert info.value.where.startswith("images.app.layers[1]"), str(info.value)
    lines = path.read_text().splitlines()
    assert "/data/big.db/below" in lines[info.value.line - 1], str(info.value)
