"""Registries: the bundled pieces are found through entry points; unknown or broken names are one line."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import BadInput
from harness.registry import Registries, Registry


def test_bundled_pieces_are_registered_through_entry_points() -> None:
    reg = Registries()
    assert {"partition", "link", "kill", "restart", "pause"} <= set(reg.faults.names())
    assert "kv" in reg.targets.names() and "linearizable" in reg.checkers.names()
    assert reg.fault("partition").name == "partition"


def test_unknown_name_lists_what_is_registered() -> None:
    with pytest.raises(BadInput, match=r"unknown fault 'meteor'; registered: .*kill.*partition"):
        Registry("faults").get("meteor")


def test_a_broken_plugin_is_reported_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenEntryPoint:
        name, value = "broken", "nowhere.module:Thing"

        def load(self) -> Any:
            raise ModuleNotFoundError("No module named 'nowhere'")

    registry = Registry("targets")
    monkeypatch.setattr(registry, "_entry_points", lambda: {"broken": BrokenEntryPoint()})
    with pytest.raises(BadInput) as e:
        registry.get("broken")
    assert str(e.value) == (
        "target 'broken' is registered (nowhere.module:Thing) but cannot be loaded: "
        "ModuleNotFoundError: No module named 'nowhere'"
    )
