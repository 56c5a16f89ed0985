"""Acceptance: a runner interrupted with SIGINT mid-partition leaves nothing behind within 10 s; after
SIGKILL of the runner, ``chaos clean`` removes the leftovers (processes, containers, networks, proxies)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli.clean import clean
from harness.cluster.rundir import chaos_home, proc_start_time

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CHAOS_HOME of this test's own: its unscoped ``clean()`` sees no other checkout's run directories."""
    from integration_env import isolated_env

    env = isolated_env(tmp_path / "home")  # found through the usual home, before it is replaced
    for key in ("CHAOS_HOME", "CHAOS_TOXIPROXY", "CHAOS_BASE_IMAGE"):
        value = env.get(key)
        if value is not None:
            monkeypatch.setenv(key, value)

RUNNER = """
import sys, time
from harness.net.grudge import isolate
from harness.platform import open_cluster
from chaos_targets.echo.target import EchoTarget
with open_cluster(EchoTarget(), nodes=3, backend=sys.argv[1], run_id=sys.argv[2]) as c:
    c.wait_ready(timeout=30)
    c.net.partition(isolate(c.nodes, "n1"))
    print("PORTS", " ".join(str(a.port) for a in c.client_addrs.values()),
          c.client_addrs["n1"].host, flush=True)
    time.sleep(120)
"""


def start_runner(backend: str) -> tuple[subprocess.Popen[str], str, list[int], str, list[int]]:
    run_id = "t" + secrets.token_hex(4)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, backend, run_id], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("PORTS"), f"runner said {line!r}, exit {proc.poll()}"
    *ports, host = line.split()[1:]
    pids = [int(p.read_text().split()[0]) for p in (chaos_home() / "runs" / run_id / "pids").glob("*.pid")]
    return proc, run_id, pids, host, [int(p) for p in ports]


def alive(pid: int) -> bool:
    return proc_start_time(pid) is not None


def docker_leftovers(run_id: str) -> list[str]:
    out = []
    for kind in ("ps", "network ls"):
        cmd = ["docker", *kind.split(), "-q", "--filter", f"label=chaos-harness.run={run_id}"]
        if kind == "ps":
            cmd.insert(2, "-a")
        out += subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return out


def leftovers(backend: str, run_id: str, pids: list[int], host: str, ports: list[int]) -> list[str]:
    found = [f"pid {p}" for p in pids if alive(p)]
    if (chaos_home() / "runs" / run_id).exists():
        found.append("run dir")
    # docker: the proxies live in the run's toxiproxy container (checked below); its address may be reused
    # by a later network, so only loopback proxies are probed by port
    for port in ports if backend == "local" else []:
        with socket.socket() as s:
            s.settimeout(0.3)
            if s.connect_ex((host, port)) == 0:
                found.append(f"proxy {host}:{port}")
    if backend == "docker":
        found += docker_leftovers(run_id)
    return found


def wait_clean(backend: str, *args: object, within: float = 10.0) -> list[str]:
    deadline = time.monotonic() + within
    while (left := leftovers(backend, *args)) and time.monotonic() < deadline:  # type: ignore[arg-type]
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_partition_leaves_nothing(backend: str, sig: signal.Signals) -> None:
    proc, run_id, pids, host, ports = start_runner(backend)
    if backend == "local":
        assert len(pids) == 4 and all(alive(p) for p in pids)  # toxiproxy + 3 nodes
    else:
        assert len(docker_leftovers(run_id)) == 7  # 3 nodes + their 3 network sandboxes + the network
    t = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=10)
    assert wait_clean(backend, run_id, pids, host, ports, within=10 - (time.monotonic() - t)) == []


def test_sigkill_then_chaos_clean(backend: str) -> None:
    proc, run_id, pids, host, ports = start_runner(backend)
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(0.2)
    assert leftovers(backend, run_id, pids, host, ports), "SIGKILL should have left processes behind"
    t = time.monotonic()
    removed = clean(run_id)  # scoped: other runs on this engine are never touched
    assert any(run_id in line for line in removed), removed
    assert wait_clean(backend, run_id, pids, host, ports, within=10 - (time.monotonic() - t)) == []


def test_clean_leaves_live_runs_alone(local_backend: str) -> None:
    proc, run_id, pids, host, ports = start_runner(local_backend)
    try:
        clean(docker=False)
        assert all(alive(p) for p in pids)
        assert (Path(chaos_home()) / "runs" / run_id).exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
