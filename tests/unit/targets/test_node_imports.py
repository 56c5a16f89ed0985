"""The line never crossed: a bundled target's node service (``chaos_targets.<name>.node`` and all it imports,
transitively) runs alone in its container and imports nothing from ``harness`` -- nor the harness-side
``chaos_targets.common.adapter`` -- and nothing outside the standard library and ``chaos_targets`` (the
``targets/`` folder, installed under that name)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PKG = "chaos_targets"
NODES = sorted(p.parent.name for p in (ROOT / "targets").glob("*/node.py"))


def _file(module: str) -> Path:
    """``chaos_targets.a.b`` -> ``targets/a/b`` (without a suffix)."""
    top, _, rest = module.partition(".")
    return ROOT / ("targets" if top == PKG else top) / rest.replace(".", "/")


def imports_of(module: str) -> set[str]:
    path = _file(module).with_suffix(".py")
    if not path.exists():
        path = _file(module) / "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            for a in node.names:  # ``from chaos_targets.raft import core`` imports a module
                sub = f"{node.module}.{a.name}"
                if _file(sub).with_suffix(".py").exists():
                    out.add(sub)
    return out


def closure(module: str) -> dict[str, str]:
    """Every module reachable from ``module`` through ``chaos_targets``: name -> the module importing it."""
    seen: dict[str, str] = {module: ""}
    todo = [module]
    while todo:
        current = todo.pop()
        for name in imports_of(current):
            if name.startswith(f"{PKG}.") and name not in seen:
                seen[name] = current
                todo.append(name)
            elif not name.startswith(PKG):
                seen.setdefault(name, current)
    return seen


@pytest.mark.parametrize("target", NODES)
def test_a_node_service_imports_only_the_standard_library_and_targets(target: str) -> None:
    reached = closure(f"{PKG}.{target}.node")
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    outside = {
        name: by
        for name, by in reached.items()
        if not name.startswith(PKG) and name.split(".")[0] not in stdlib
    }
    assert outside == {}, f"{PKG}.{target}.node reaches non-stdlib modules (module: imported by): {outside}"
    assert "chaos_targets.common.adapter" not in reached, reached["chaos_targets.common.adapter"]


def test_the_check_sees_a_violation() -> None:
    """The queue's adapter imports harness: the same walk from its client must find it."""
    reached = closure("chaos_targets.queue.client")
    assert any(name.startswith("harness") for name in reached)
    assert NODES == ["echo", "kv", "lock", "queue"]
