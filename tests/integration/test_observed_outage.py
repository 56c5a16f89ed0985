"""Acceptance: a node stopped from outside during a run (not by the harness) is recorded in the history as an
observed nemesis event and shown in the report's faults table, on both backends; the run still checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.cluster.owner import LABEL_PREFIX

pytestmark = pytest.mark.integration

EXPERIMENT = """
name: outside-outage
seed: 5
expect: valid
target: {name: kv, nodes: 3, backend: BACKEND}
workload: {duration: 4, concurrency: 2, rate: 50, timeout: 0.5, keys: 2, mix: {read: 1, write: 1}}
phases: {warmup: 0, cooldown: 0, recovery: 0.5, final: true, ready_timeout: 30}
checkers:
  linearizable: {model: kv, budget: 20}
"""


def stop_from_outside(home: Path, backend: str, node: str) -> None:
    if backend == "docker":
        flt = ["--filter", f"label={LABEL_PREFIX}home={home}", "--filter", f"label=chaos-harness.node={node}"]
        ids = subprocess.run(["docker", "ps", "-q", *flt], capture_output=True, text=True, check=True)
        assert ids.stdout.split(), "the node's container was not found"
        subprocess.run(["docker", "kill", *ids.stdout.split()], capture_output=True, check=True)
        return
    (pid_file,) = (home / "runs").glob(f"*/pids/{node}.pid")
    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def test_a_node_stopped_from_outside_is_recorded_and_reported(tmp_path: Path, backend: str) -> None:
    from integration_env import ChaosRun, isolated_env

    home = (tmp_path / "home").resolve()
    exp = tmp_path / "outside-outage.yaml"
    exp.write_text(EXPERIMENT.replace("BACKEND", backend))
    run = ChaosRun(exp, tmp_path / "out", isolated_env(home))
    try:
        assert run.wait_for(lambda line: "phase workload" in line), "".join(run.lines[-10:])
        time.sleep(1.0)
        stop_from_outside(home, backend, "n3")
    finally:
        code = run.finish(timeout=120)
    assert code == 0, "".join(run.lines[-20:])
    bundle = tmp_path / "out" / "outside-outage" / "latest"
    ops = [json.loads(x) for x in (bundle / "history.jsonl").read_text().splitlines()]
    observed = [op for op in ops if op["f"] == "start-observed-down"]
    assert [op["value"]["nodes"] for op in observed] == [["n3"]]
    assert observed[0]["process"] == "nemesis" and observed[0]["value"]["observed"] is True
    report = (bundle / "report.html").read_text()
    assert "observed-down" in report and "not caused by the harness" in report
