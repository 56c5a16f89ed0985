"""What the distribution installs: ``harness`` plus the bundled targets and examples under names of ours.

A top-level ``targets`` or ``examples`` package would shadow a user's own module of that name once
chaos-harness is installed, so they install as ``chaos_targets`` and ``chaos_examples`` (see ``setup.py``).
The checks run in a fresh interpreter outside the repository, so only the installed mapping can answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

PROBE = """
import importlib.util, json
names = ["harness", "chaos_targets", "chaos_examples", "chaos_targets.kv.node", "chaos_targets.raft.core",
         "chaos_examples.etcd", "targets", "examples"]
print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))
"""


def _found(tmp_path: Path) -> dict[str, bool]:
    run = [sys.executable, "-c", PROBE]
    out = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_bundled_targets_and_examples_install_under_our_names_only(tmp_path: Path) -> None:
    found = _found(tmp_path)
    assert found["harness"] and found["chaos_targets"] and found["chaos_examples"]
    assert found["chaos_targets.kv.node"] and found["chaos_targets.raft.core"]
    assert not found["targets"], "a top-level 'targets' package would shadow users' own modules"
    assert not found["examples"], "a top-level 'examples' package would shadow users' own modules"


def test_registered_targets_point_into_our_packages() -> None:
    # plugin packages (plugins/*, installed by scripts/setup) register their own from their own distributions
    eps = [
        ep
        for ep in metadata.entry_points(group="chaos_harness.targets")
        if ep.dist is not None and ep.dist.name == "chaos-harness"
    ]
    assert eps, "no targets registered: is chaos-harness installed?"
    tops = {ep.value.split(".")[0] for ep in eps}
    assert tops <= {"chaos_targets", "chaos_examples"}, tops


def test_no_declared_dependency_goes_unused() -> None:
    """Every runtime dependency is imported by the package (toxiproxy-python was declared but never used)."""
    root = Path(__file__).resolve().parents[2]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    import_names = {"pyyaml": "yaml"}
    sources = "\n".join(p.read_text() for p in (root / "harness").rglob("*.py"))
    for dep in deps:
        dist = dep.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        mod = import_names.get(dist, dist.replace("-", "_"))
        imported = f"import {mod}" in sources or f"from {mod}" in sources
        assert imported, f"{dist} is declared but nothing in harness imports {mod}"
