"""Acceptance: ``chaos run`` interrupted at each phase (start-up, workload, heal, final, check, teardown,
report) with one signal or two, on both backends, exits 130, marks its bundle ``interrupted`` and leaves no
container, network, process or run directory behind.

Each run gets its own ``CHAOS_HOME``, so what it leaves is found by that home alone: processes whose
environment names it, containers and networks whose owner label names it, run directories under it.
``CHAOS_TEST_HOLD=<phase>`` (``harness.interrupts.hold``) stops the runner at that phase until a signal comes.
The default selection runs every phase on the local backend and start-up / workload on docker; the full
docker matrix is marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cluster.owner import LABEL_PREFIX

pytestmark = pytest.mark.integration

PHASES = ("start-up", "workload", "heal", "final", "check", "teardown", "report")
DOCKER_IN_CI = ("start-up", "workload")
SIGNALS = {"one": (signal.SIGINT,), "two": (signal.SIGTERM, signal.SIGTERM)}

EXPERIMENT = """
name: interrupt-me
seed: 3
expect: valid
target: {name: kv, nodes: 3, backend: BACKEND}
workload: {duration: 2, concurrency: 2, rate: 50, timeout: 0.5, keys: 2, mix: {read: 1, write: 1}}
faults:
  steps:
    - {kind: partition, at: 0.3, duration: 0.8, shape: isolate}
phases: {warmup: 0, cooldown: 0, recovery: 0.3, final: true, ready_timeout: 30}
checkers:
  linearizable: {model: kv, budget: 20}
"""


def _procs_of(home: Path) -> list[int]:
    """Processes whose environment names ``home`` as CHAOS_HOME (nodes, toxiproxy, runners)."""
    needle = f"CHAOS_HOME={home}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            env = (d / "environ").read_bytes().split(b"\0")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != "Z":
            found.append(int(d.name))
    return found


def _docker_of(home: Path) -> list[str]:
    flt = f"label={LABEL_PREFIX}home={home}"
    out = subprocess.run(["docker", "ps", "-aq", "--filter", flt], capture_output=True, text=True, check=True)
    nets = subprocess.run(
        ["docker", "network", "ls", "-q", "--filter", flt], capture_output=True, text=True, check=True
    )
    return out.stdout.split() + [f"network {n}" for n in nets.stdout.split()]


def leftovers(home: Path, backend: str) -> list[str]:
    left = [f"pid {p}" for p in _procs_of(home)]
    runs = home / "runs"
    left += [f"run dir {p.name}" for p in runs.iterdir()] if runs.is_dir() else []
    if backend == "docker":
        # packet filter rules live only in the nodes' sandbox namespaces (harness.cluster.docker): no sandbox
        # container left means no rule left (tests/integration/test_packet_faults.py checks the host too)
        left += _docker_of(home)
    return left


def interrupt_at(tmp_path: Path, backend: str, phase: str, sigs: tuple[int, ...]) -> None:
    from integration_env import ChaosRun, isolated_env

    home = (tmp_path / "home").resolve()
    home.mkdir()
    exp = tmp_path / "interrupt-me.yaml"
    exp.write_text(EXPERIMENT.replace("BACKEND", backend))
    env = {**isolated_env(home), "CHAOS_TEST_HOLD": phase}
    run = ChaosRun(exp, tmp_path / "out", env)
    try:
        held = run.wait_for(lambda line: line.strip() == f"chaos-test-hold {phase}")
        assert held, f"never reached {phase}: {''.join(run.lines[-15:])}"
        for i, sig in enumerate(sigs):
            if i:
                time.sleep(0.1)  # the second signal lands in the middle of the cleanup
            run.proc.send_signal(sig)
    finally:
        code = run.finish(timeout=60)
    err = run.stderr
    assert code == 130, f"exit {code} at {phase}: {err[-1500:]}"
    assert "Traceback" not in err
    meta = json.loads((tmp_path / "out" / "interrupt-me" / "latest" / "run.json").read_text())
    assert meta["status"] == "interrupted", meta
    deadline = time.monotonic() + 10
    while (left := leftovers(home, backend)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"left behind after an interrupt at {phase}: {left}"


@pytest.mark.parametrize("count", sorted(SIGNALS))
@pytest.mark.parametrize("phase", PHASES)
def test_interrupt_local(tmp_path: Path, local_backend: str, phase: str, count: str) -> None:
    interrupt_at(tmp_path, local_backend, phase, SIGNALS[count])


@pytest.mark.parametrize("count", sorted(SIGNALS))
@pytest.mark.parametrize(
    "phase", [p if p in DOCKER_IN_CI else pytest.param(p, marks=pytest.mark.slow) for p in PHASES]
)
def test_interrupt_docker(tmp_path: Path, docker_backend: str, phase: str, count: str) -> None:
    interrupt_at(tmp_path, docker_backend, phase, SIGNALS[count])


def test_a_runner_killed_outright_while_checking_is_marked_killed_by_clean(
    tmp_path: Path, local_backend: str
) -> None:
    """SIGKILL after the cluster is gone (no run directory, no containers): clean still finds the bundle."""
    from integration_env import isolated_env

    home = (tmp_path / "home").resolve()
    exp = tmp_path / "interrupt-me.yaml"
    exp.write_text(EXPERIMENT.replace("BACKEND", local_backend))
    env = {**isolated_env(home), "CHAOS_TEST_HOLD": "check"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(exp), "--out", str(tmp_path / "out")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == "chaos-test-hold check":
            break
    proc.kill()
    proc.wait(timeout=30)
    run_json = tmp_path / "out" / "interrupt-me" / "latest" / "run.json"
    assert json.loads(run_json.read_text())["status"] == "running"
    assert leftovers(home, local_backend) == []  # the cluster was already gone
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "clean", "--no-docker"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0 and "marked killed" in out.stdout, out.stdout + out.stderr
    assert json.loads(run_json.read_text())["status"] == "killed"


def test_docker_cleanup_removes_what_it_never_recorded(docker_backend: str) -> None:
    """A container whose create call was cut short is never recorded; removal by label still finds it."""
    import secrets

    from chaos_targets.echo.target import EchoTarget
    from harness.platform import open_cluster

    rid = "s" + secrets.token_hex(4)
    flt = f"label=chaos-harness.run={rid}"
    with open_cluster(EchoTarget(), nodes=1, backend="docker", run_id=rid) as c:
        image = c.backend.image  # type: ignore[attr-defined]
        stray = ["docker", "create", "--label", f"chaos-harness.run={rid}", "--name", f"chaos-{rid}-stray"]
        subprocess.run([*stray, image, "true"], capture_output=True, check=True)
    ps = subprocess.run(["docker", "ps", "-aq", "--filter", flt], capture_output=True, text=True, check=True)
    nets = subprocess.run(["docker", "network", "ls", "-q", "--filter", flt], capture_output=True, text=True)
    assert ps.stdout.split() == [] and nets.stdout.split() == []
