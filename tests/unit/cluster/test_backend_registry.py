"""Backends are the entry-point group ``chaos_harness.backends``: docker and local are registered like any
plugin, ``--backend`` accepts any registered name (``auto`` stays), errors list the registered names, and
nothing outside a backend checks a backend's name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import backends as bk
from harness.cluster.local import LocalBackend
from harness.errors import BadInput
from harness.registry import Registry

ROOT = Path(__file__).resolve().parents[3]


class _Unavailable:
    name = "never"

    @staticmethod
    def available() -> bool:
        return False


class _NotABackend:
    def __init__(self, run: Any) -> None:
        self.run = run


def _registered(monkeypatch: pytest.MonkeyPatch, items: dict[str, Any]) -> None:
    monkeypatch.setattr(bk, "backends", lambda: Registry("backends", items))


def test_the_bundled_backends_are_registered_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="chaos_harness.backends")}
    assert eps["docker"] == "harness.cluster.docker:DockerBackend"
    assert eps["local"] == "harness.cluster.local:LocalBackend"
    assert {"auto", "docker", "local"} <= set(bk.backend_choices())
    assert bk.backend_class("local") is LocalBackend


def test_unknown_names_list_the_registered_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    _registered(monkeypatch, {"local": LocalBackend, "vm": LocalBackend})
    with pytest.raises(BadInput, match=r"^--backend 'k8s': unknown; valid backends: auto, local, vm$"):
        bk.check_backend("k8s", "--backend")
    assert bk.check_backend("vm") == "vm"


def test_auto_takes_the_first_available_of_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    _registered(monkeypatch, {"docker": _Unavailable, "local": LocalBackend})
    assert bk.resolve_backend("auto") == "local"
    assert bk.resolve_backend("docker") == "docker"  # named explicitly: no question asked
    _registered(monkeypatch, {"docker": _Unavailable})
    with pytest.raises(BadInput, match="backend auto: none of docker, local is available"):
        bk.resolve_backend("auto")


def test_a_class_that_is_no_backend_or_takes_no_base_port_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _registered(monkeypatch, {"odd": _NotABackend})
    with pytest.raises(BadInput, match=r"backend 'odd': .*_NotABackend does not implement"):
        bk.make_backend("odd", tmp_path)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="backend odd: takes no base_port"):
        bk.make_backend("odd", tmp_path, base_port=30000)  # type: ignore[arg-type]


def test_the_command_line_accepts_a_registered_name_and_lists_them_otherwise(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(ROOT / "experiments/kv-register.yaml"), "--dry-run",
         "--backend", "nosuch"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert "--backend 'nosuch': unknown; valid backends: auto, docker, kubernetes, local" in r.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(ROOT / "experiments/kv-register.yaml"), "--dry-run",
         "--backend", "local"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0 and "3 nodes on local" in ok.stdout


def test_an_experiment_naming_an_unregistered_backend_is_refused_at_its_line() -> None:
    from harness.loader import loads

    text = (ROOT / "experiments/kv-register.yaml").read_text().replace(
        "target: {name: kv, nodes: 3, mode: correct}", "target: {name: kv, nodes: 3, backend: vm}"
    )
    with pytest.raises(BadInput, match=r"x.yaml:\d+: target.backend: unknown backend 'vm'; valid backends: "):
        loads(text, "x.yaml")


def test_doctor_lists_the_backends() -> None:
    from harness.cli.doctor import registered

    listed = dict(registered())
    assert {"docker", "local"} <= set(listed["backends"].split(", "))


def test_no_module_outside_the_backends_compares_a_backend_name() -> None:
    """``DOCKER`` / ``LOCAL`` are compared nowhere but in ``harness/cluster/docker.py`` / ``local.py``."""
    offenders = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        if path.parent.name == "cluster" and path.name in ("docker.py", "local.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Compare):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                words = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)}
                if names & {"DOCKER", "LOCAL"} or words & {"docker", "local"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
