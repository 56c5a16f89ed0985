"""The example fault-kind plugin (plugins/chaos-example-fault, kind ``stutter``) installed beside the harness:
it freezes and thaws a live node and heals it, and an experiment using it (an explicit step and ``random:``
keys of its own) runs end to end on the local backend, is recorded in the history with its declared effect and
drawn in the report, while nothing under harness/ changes. Bad parameters are file:line errors (exit 3)."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from harness.errors import EXIT_BAD_INPUT
from harness.platform import open_cluster

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "chaos-example-fault"
EXPERIMENT = PLUGIN / "experiments" / "kv-stutter.yaml"


def harness_tree() -> str:
    """A digest of every file under harness/ (names and contents), caches left out."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "harness").rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def stutter() -> type:
    """The plugin's kind, found through its entry point (installed into this venv if it is not yet)."""
    if not any(ep.name == "stutter" for ep in entry_points(group="chaos_harness.faults")):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", str(PLUGIN)],
            check=True,
            timeout=600,
        )
        importlib.invalidate_caches()
    (ep,) = [ep for ep in entry_points(group="chaos_harness.faults") if ep.name == "stutter"]
    kind: type = ep.load()
    return kind


def chaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_stutter_freezes_and_thaws_a_live_node_and_heals_it(stutter: type, local_backend: str) -> None:
    from chaos_targets.kv.target import KvTarget

    with open_cluster(KvTarget(), nodes=3, backend=local_backend) as cluster:
        cluster.wait_ready(timeout=60)
        kind = stutter()
        params = {"nodes": ["n1"], "pause_ms": 150, "run_ms": 150}
        assert kind.start(cluster, params) == {"cycle_ms": 300}
        seen: dict[str, set[str]] = {"n1": set(), "n2": set()}
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(seen["n1"]) < 2:
            for node, state in cluster.node_states().items():
                if node in seen:
                    seen[node].add(state)
            time.sleep(0.02)
        kind.stop(cluster, params)
        assert seen["n1"] == {"paused", "running"} and seen["n2"] == {"running"}
        time.sleep(0.3)  # stopped: no freeze comes back
        assert set(cluster.node_states().values()) == {"running"}


def test_an_experiment_with_the_plugin_kind_runs_end_to_end(
    stutter: type, local_backend: str, tmp_path: Path
) -> None:
    before = harness_tree()
    run = chaos("run", str(EXPERIMENT), "--backend", local_backend, "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr[-3000:]
    bundle = tmp_path / "kv-stutter" / "latest"
    ops = [json.loads(x) for x in (bundle / "history.jsonl").read_text().splitlines()]
    starts = [op["value"] for op in ops if op["f"] == "start-stutter"]
    stops = [op for op in ops if op["f"] == "stop-stutter"]
    assert len(starts) == len(stops) >= 2 and all(op.get("error") is None for op in stops)
    assert all(v["effect"] == "paused" and v["cycle_ms"] == v["pause_ms"] + v["run_ms"] for v in starts)
    assert {"nodes": ["n1"], "pause_ms": 200, "run_ms": 150}.items() <= starts[0].items()  # the explicit step
    drawn = starts[1:]  # random: among n2, n3 with the block's pause_ms / run_ms
    assert all(v["nodes"][0] in ("n2", "n3") and (v["pause_ms"], v["run_ms"]) == (100, 100) for v in drawn)
    assert not [
        op for op in ops if str(op["f"]).startswith("start-observed")
    ]  # its own pauses are not outages
    page = (bundle / "report.html").read_text()
    assert 'class="node-pause" data-node="n1" data-kind="stutter"' in page
    assert harness_tree() == before


def test_bad_plugin_params_are_file_line_errors(stutter: type, tmp_path: Path) -> None:
    text = EXPERIMENT.read_text()
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "kind: stutter" in x)
    for bad, what in [
        ("pause_ms: 200", "pause_ms: 5"),
        ("run_ms: 150", "run_ms: slow"),
        ("pause_ms: 200", "pause_ms: 200, pausems: 1"),
        ("nodes: [n1]", "nodes: [n7]"),
    ]:
        exp = tmp_path / "bad.yaml"
        exp.write_text(text.replace(bad, what, 1))
        run = chaos("run", str(exp), "--dry-run")
        assert run.returncode == EXIT_BAD_INPUT, run.stderr
        key = what.split(",")[-1].split(":")[0].strip()
        assert f"bad.yaml:{line}: faults.steps[0].{key}" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    exp.write_text(text.replace("pause_ms: 100", "pause_ms: 0"))
    run = chaos("run", str(exp), "--dry-run")
    assert run.returncode == EXIT_BAD_INPUT and "faults.random.pause_ms" in run.stderr, run.stderr


def test_an_editor_schema_with_the_installed_plugin_completes_its_fields(
    stutter: type, tmp_path: Path
) -> None:
    import jsonschema
    import yaml

    out = tmp_path / "experiment.schema.json"
    run = subprocess.run(
        [str(ROOT / "scripts" / "schema"), "--installed", str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    schema = json.loads(out.read_text())
    assert schema["$defs"]["fault-stutter"]["properties"]["pause_ms"]["minimum"] == 10
    assert "stutter" in schema["$defs"]["step"]["properties"]["kind"]["examples"]
    doc = yaml.safe_load(EXPERIMENT.read_text())
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    published = json.loads((ROOT / "harness" / "schema" / "experiment.schema.json").read_text())
    assert "fault-stutter" not in published["$defs"]  # the published file holds the bundled kinds only
