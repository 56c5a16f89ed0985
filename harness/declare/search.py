"""Where declared targets are found, and how an experiment's ``target`` becomes a ``Target`` object.

An experiment names a target in one of three ways, tried in this order:

1. ``target: {declaration: path/to/target.yaml}``: that file (relative to the experiment file);
2. ``target: {name: N}`` registered through the ``chaos_harness.targets`` entry points (a Python class, or a
   declaration shipped in a package through ``declared_target(__file__)`` as ``examples/etcd`` does);
3. ``target: {name: N}`` found on the search path ``CHAOS_TARGET_PATH`` (directories separated by ``:``), as
   ``DIR/N/target.yaml`` or ``DIR/N.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.declare.adapter import DeclaredTarget
from harness.declare.loader import load_declaration
from harness.errors import BadInput

PATH_VAR = "CHAOS_TARGET_PATH"


def load_target(path: str | Path) -> DeclaredTarget:
    """A ``DeclaredTarget`` for a declaration file, validated (``BadInput`` naming file:line: field)."""
    return DeclaredTarget(load_declaration(path))


def declared_target(module_file: str, name: str = "target.yaml") -> Callable[[], DeclaredTarget]:
    """A no-argument factory for the declaration beside ``module_file``: register it as an entry point."""
    path = Path(module_file).with_name(name)

    def factory() -> DeclaredTarget:
        return load_target(path)

    factory.declaration = path  # type: ignore[attr-defined]
    return factory


def search_dirs() -> list[Path]:
    return [Path(p) for p in os.environ.get(PATH_VAR, "").split(os.pathsep) if p]


def on_search_path() -> dict[str, Path]:
    """Declared target name -> file, for every declaration on ``CHAOS_TARGET_PATH`` (first one wins)."""
    out: dict[str, Path] = {}
    for d in search_dirs():
        for f in sorted([*d.glob("*/target.yaml"), *d.glob("*.yaml")]):
            name = f.parent.name if f.name == "target.yaml" else f.stem
            out.setdefault(name, f)
    return out


def resolve_target(registries: Any, name: str | None, declaration: str | None = None) -> Any:
    """The target object an experiment names (see the module docstring); ``BadInput`` when there is none."""
    if declaration is not None:
        return load_target(declaration)
    assert name is not None
    if name in registries.targets:
        return registries.target(name)
    found = on_search_path().get(name)
    if found is not None:
        return load_target(found)
    names = sorted({*registries.targets.names(), *on_search_path()})
    raise BadInput(
        f"unknown target {name!r}; registered: {', '.join(names) or '(none)'} "
        f"(declarations are also found on {PATH_VAR}, or name one with target.declaration: PATH)"
    )
