"""One target contract: every optional member the harness reads from a Python target is documented on
``harness.target.Target``, defaulted by ``TargetBase`` and read only through ``target_traits``."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import target as api
from harness.target import ImageBuild, TargetBase, TargetTraits, target_ports, target_traits

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("ports", "images", "capabilities", "default_nodes", "default_workload", "roles_for", "decl")


class Bare:
    """Only the required members (as an old target may be): every optional member takes its default."""

    name = "bare"
    planted_bugs: frozenset[str] = frozenset()


class Full(TargetBase):
    name = "full"
    planted_bugs = frozenset({"bug"})
    ports = {"client": 9000, "peer": 9001}
    default_nodes = 5
    default_workload = "kv"
    capabilities = frozenset({"kill"})

    class decl:  # noqa: N801 - stands in for a Declaration: only its file is read
        file = "/srv/full/target.yaml"

    def images(self) -> tuple[ImageBuild, ...]:  # type: ignore[override]
        return (ImageBuild(packages=("redis-server",)), "not an image")  # type: ignore[return-value]

    def roles_for(self, nodes: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
        return {"primary": nodes[:1], "replica": nodes[1:]}


def test_defaults_of_a_target_with_only_the_required_members() -> None:
    t = target_traits(Bare())
    assert t == TargetTraits(roles_for=t.roles_for)
    assert t.roles_for(("n1", "n2")) == {}
    assert target_ports(Bare()) == {"client": 7000}
    assert target_traits(TargetBase()).roles_for(("n1",)) == {}


def test_every_optional_member_is_read() -> None:
    t = target_traits(Full())
    assert t.ports == {"client": 9000, "peer": 9001} and target_ports(Full()) == t.ports
    assert t.images == (ImageBuild(packages=("redis-server",)),)  # a method or a sequence; images only
    assert t.capabilities == {"kill"} and t.default_nodes == 5 and t.default_workload == "kv"
    assert t.declaration == "/srv/full/target.yaml"
    assert t.roles_for(("n1", "n2", "n3")) == {"primary": ("n1",), "replica": ("n2", "n3")}


def test_the_contract_is_documented_in_one_place() -> None:
    doc = inspect.getdoc(api.Target) or ""
    for member in OPTIONAL:
        assert f"``{member}" in doc, member
        assert hasattr(TargetBase, member), member


def test_no_module_probes_a_target_member_with_getattr() -> None:
    """Outside ``harness/target.py`` no ``getattr(x, "<optional member>", ...)`` remains."""
    offenders = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        if path == ROOT / "harness" / "target.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
                args: list[Any] = node.args
                if len(args) > 1 and isinstance(args[1], ast.Constant) and args[1].value in OPTIONAL:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: getattr {args[1].value}")
    assert not offenders, offenders


def test_no_source_cites_a_machine_path() -> None:
    assert "/work/" not in (ROOT / "harness" / "target.py").read_text()
    assert not (ROOT / "INTERFACE.md").exists()
