"""The example plugins of ``plugins/`` work with no edit to ``harness/`` (issue 19): each is its own package
with its own entry point, installed editable into the test venv (``scripts/setup`` does it; this test does it
when set-up has not), and runs end to end on the local backend. The harness tree is hashed before and after:
installing and running the plugins must not change it, and no harness file names them.

- ``chaos-example-target``: ``memkv``, a target written as a Python class (``chaos_harness.targets``) with its
  client; its correct mode is valid under crashes, its planted bug ``lost-writes`` is caught.
- ``chaos-example-backend``: ``local-nopause``, a backend (``chaos_harness.backends``) without ``Pausable``:
  partitions and kills run on it, a pause fault is refused before the workload starts.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
NAMES = ("memkv", "local-nopause", "chaos_example", "chaos-example")


def harness_tree() -> str:
    """A content hash of every file under ``harness/`` (caches aside)."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "harness").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def chaos(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture(scope="module")
def installed() -> Iterator[None]:
    before = harness_tree()
    for plugin in sorted(p for p in PLUGINS.iterdir() if (p / "pyproject.toml").is_file()):
        try:
            importlib.metadata.distribution(plugin.name)
        except importlib.metadata.PackageNotFoundError:  # set-up did not run: install it as set-up would
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(plugin)],
                check=True,
                timeout=600,
            )
    yield
    assert harness_tree() == before, "installing or running the example plugins changed harness/"


def _dir(out: Path) -> Path:
    """The one bundle a run wrote under ``out`` (``latest`` is a link to it)."""
    (bundle,) = [p.parent for p in out.glob("*/*/run.json") if not p.parent.is_symlink()]
    return bundle


def _bundle(out: Path) -> dict[str, object]:
    data = json.loads((_dir(out) / "run.json").read_text())
    assert isinstance(data, dict)
    return data


def test_the_plugins_live_outside_harness_and_harness_names_none_of_them() -> None:
    assert {"chaos-example-target", "chaos-example-backend"} <= {p.name for p in PLUGINS.iterdir()}
    for path in (ROOT / "harness").rglob("*.py"):
        text = path.read_text()
        assert not any(n in text for n in NAMES), f"{path} names an example plugin"


def test_registered_through_their_entry_points(installed: None) -> None:
    r = chaos("doctor")
    lines = {line.split(":", 1)[0].split()[-1]: line for line in r.stdout.splitlines() if ":" in line}
    assert "memkv" in lines["targets"] and "local-nopause" in lines["backends"], r.stdout
    bad = chaos("run", str(ROOT / "experiments/kv-register.yaml"), "--backend", "k8s", "--dry-run")
    valid = "valid backends: auto, docker, kubernetes, local, local-nopause"
    assert bad.returncode == 3 and valid in bad.stderr


@pytest.mark.parametrize(
    "experiment, outcome",
    [("memkv-durable", "valid"), ("memkv-lost-writes", "caught")],
)
def test_the_target_class_plugin_runs_end_to_end(
    installed: None, local_backend: str, experiment: str, outcome: str, tmp_path: Path
) -> None:
    spec = PLUGINS / "chaos-example-target" / "experiments" / f"{experiment}.yaml"
    r = chaos("run", str(spec), "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    run = _bundle(tmp_path)
    assert run["target"] == "memkv" and run["backend"] == local_backend and run["outcome"] == "pass"
    results = json.loads((_dir(tmp_path) / "results.json").read_text())
    assert results["results"]["linearizable"]["valid"] is (outcome == "valid")


def test_the_backend_plugin_runs_partitions_and_kills(
    installed: None, local_backend: str, tmp_path: Path
) -> None:
    spec = PLUGINS / "chaos-example-backend" / "experiments" / "kv-partition-kill.yaml"
    r = chaos("run", str(spec), "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    run = _bundle(tmp_path)
    assert run["backend"] == "local-nopause" and run["outcome"] == "pass"
    history = (_dir(tmp_path) / "history.jsonl").read_text().splitlines()
    kinds = {json.loads(line)["f"] for line in history}
    assert {"start-partition", "stop-partition", "start-kill", "stop-kill"} <= kinds


def test_the_backend_plugin_refuses_pause_before_the_workload(
    installed: None, local_backend: str, tmp_path: Path
) -> None:
    spec = PLUGINS / "chaos-example-backend" / "experiments" / "kv-pause-refused.yaml"
    r = chaos("run", str(spec), "--out", str(tmp_path))
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert "this cluster cannot pause" in r.stderr and "pause: this backend cannot freeze nodes" in r.stderr
    history = (_dir(tmp_path) / "history.jsonl").read_text()
    assert history == ""  # refused before a single operation or fault
