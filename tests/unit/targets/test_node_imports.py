"""The line never crossed: a bundled target's node service (``targets.<name>.node`` and all it imports,
transitively) runs alone in its container and imports nothing from ``harness`` -- nor the harness-side
``targets.common.adapter`` -- and nothing outside the standard library and ``targets``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NODES = sorted(p.parent.name for p in (ROOT / "targets").glob("*/node.py"))


def imports_of(module: str) -> set[str]:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            for a in node.names:  # ``from targets.raft import core`` imports a module
                sub = f"{node.module}.{a.name}"
                if (ROOT / (sub.replace(".", "/") + ".py")).exists():
                    out.add(sub)
    return out


def closure(module: str) -> dict[str, str]:
    """Every module reachable from ``module`` through ``targets``: name -> the module that imports it."""
    seen: dict[str, str] = {module: ""}
    todo = [module]
    while todo:
        current = todo.pop()
        for name in imports_of(current):
            if name.startswith("targets.") and name not in seen:
                seen[name] = current
                todo.append(name)
            elif not name.startswith("targets"):
                seen.setdefault(name, current)
    return seen


@pytest.mark.parametrize("target", NODES)
def test_a_node_service_imports_only_the_standard_library_and_targets(target: str) -> None:
    reached = closure(f"targets.{target}.node")
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    outside = {
        name: by
        for name, by in reached.items()
        if not name.startswith("targets") and name.split(".")[0] not in stdlib
    }
    assert outside == {}, f"targets.{target}.node reaches non-stdlib modules (module: imported by): {outside}"
    assert "targets.common.adapter" not in reached, reached["targets.common.adapter"]


def test_the_check_sees_a_violation() -> None:
    """The queue's adapter imports harness: the same walk from its client must find it."""
    reached = closure("targets.queue.client")
    assert any(name.startswith("harness") for name in reached)
    assert NODES == ["echo", "kv", "lock", "queue"]
