"""What must keep holding: killing or pausing Toxiproxy mid-run ends the run with exit 3 (infrastructure),
never a verdict, on both backends; nothing of the run is left behind. The default selection kills it on the
local backend (a few seconds); the docker variants and pausing (each ~25 s, spent in client timeouts) are
marked slow."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.cluster.owner import LABEL_PREFIX

pytestmark = pytest.mark.integration

EXPERIMENT = """
name: toxiproxy-loss
seed: 2
expect: valid
target: {name: kv, nodes: 3, backend: BACKEND}
workload: {duration: 4, concurrency: 2, rate: 50, timeout: 0.5, keys: 2, mix: {read: 1, write: 1}}
faults:
  steps:
    - {kind: partition, at: 1.5, duration: 1, shape: isolate}
phases: {warmup: 0, cooldown: 0, recovery: 0.3, final: true, ready_timeout: 30}
checkers:
  linearizable: {model: kv, budget: 20}
"""


def hit_toxiproxy(home: Path, backend: str, how: str) -> None:
    if backend == "docker":
        role = "label=chaos-harness.role=toxiproxy"
        flt = ["--filter", f"label={LABEL_PREFIX}home={home}", "--filter", role]
        ids = subprocess.run(["docker", "ps", "-q", *flt], capture_output=True, text=True, check=True)
        assert ids.stdout.split()
        subprocess.run(["docker", how, *ids.stdout.split()], capture_output=True, check=True)
        return
    (pid_file,) = (home / "runs").glob("*/pids/toxiproxy.pid")
    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL if how == "kill" else signal.SIGSTOP)


@pytest.mark.parametrize(
    "backend, how",
    [
        ("local", "kill"),
        pytest.param("local", "pause", marks=pytest.mark.slow),
        pytest.param("docker", "kill", marks=pytest.mark.slow),
        pytest.param("docker", "pause", marks=pytest.mark.slow),
    ],
)
def test_losing_toxiproxy_is_an_infrastructure_failure(tmp_path: Path, backend: str, how: str) -> None:
    from integration_env import require_docker, require_toxiproxy

    require_docker() if backend == "docker" else require_toxiproxy()
    from integration_env import ChaosRun, isolated_env

    home = (tmp_path / "home").resolve()
    exp = tmp_path / "toxiproxy-loss.yaml"
    exp.write_text(EXPERIMENT.replace("BACKEND", backend))
    run = ChaosRun(exp, tmp_path / "out", isolated_env(home))
    try:
        assert run.wait_for(lambda line: "phase workload" in line), "".join(run.lines[-10:])
        time.sleep(0.5)
        hit_toxiproxy(home, backend, how)
    finally:
        code = run.finish(timeout=120)
    err = run.stderr
    assert code == 3, err[-2000:]
    assert "Traceback" not in err
    runs = home / "runs"
    assert not runs.is_dir() or not list(runs.iterdir())
