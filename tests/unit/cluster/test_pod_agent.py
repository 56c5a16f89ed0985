"""The kubernetes backend's pod agent, run here as a plain process on loopback (no cluster needed): it starts
the node's command, reports its state, kills, stops, pauses and resumes its whole process tree, runs commands
with their output, and refuses a request without the run's token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cluster.kubernetes import Agent, agent_source
from harness.errors import InfrastructureError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    port = _free_port()
    env = {
        **os.environ,
        "CHAOS_AGENT_TOKEN": "t0k3n",
        "CHAOS_AGENT_PORT": str(port),
        "CHAOS_AGENT_ROLE": "node",
    }
    proc = subprocess.Popen([sys.executable, "-c", agent_source()], env=env, cwd=tmp_path)
    a = Agent("127.0.0.1", port, "t0k3n", timeout=10)
    try:
        a.wait(15)
        yield a
    finally:
        a.close()
        proc.terminate()
        proc.wait(10)


def _wait_state(a: Agent, want: str) -> str:
    state = ""
    for _ in range(200):
        state = str(a.call("state")["state"])
        if state == want:
            break
        time.sleep(0.02)
    return state


def test_the_supervisor_runs_and_controls_the_process_tree(agent: Agent, tmp_path: Path) -> None:
    assert agent.call("hello")["peer"] == "127.0.0.1"
    assert agent.call("state")["state"] == "down"
    marker = tmp_path / "child.pid"
    script = (
        "import subprocess, time; p = subprocess.Popen(['sleep', '300']); "
        f"open({str(marker)!r}, 'w').write(str(p.pid)); print('up', flush=True); time.sleep(300)"
    )
    agent.call("start", argv=[sys.executable, "-c", script], env={"X": "1"}, cwd=str(tmp_path))
    assert _wait_state(agent, "running") == "running"
    for _ in range(200):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.02)
    child = int(marker.read_text())
    agent.call("pause")
    assert _wait_state(agent, "paused") == "paused"
    agent.call("resume")
    assert _wait_state(agent, "running") == "running"
    agent.call("kill")
    assert agent.call("state")["state"] == "down"
    time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    assert "up" in agent.call("logs")["text"]
    agent.call("start", argv=["sleep", "300"])
    assert _wait_state(agent, "running") == "running"
    agent.call("stop", grace=2)
    assert agent.call("state")["state"] == "down"


def test_exec_returns_the_exit_code_and_the_output(agent: Agent) -> None:
    out = agent.call("exec", argv=["sh", "-c", "echo hi; exit 3"], timeout=5, capture=True)
    assert (out["code"], out["output"]) == (3, "hi\n")
    assert agent.call("exec", argv=["sleep", "5"], timeout=0.2)["code"] == 124
    assert agent.call("exec", argv=["/no/such/program"], timeout=1)["code"] == 127


def test_a_request_without_the_token_is_refused(agent: Agent) -> None:
    stranger = Agent(agent.host, agent.port, "wrong")
    with pytest.raises(InfrastructureError, match="bad token"):
        stranger.call("kill")
    stranger.close()


def test_rule_sets_always_accept_the_agents_ports() -> None:
    from harness.cluster.kubernetes import AGENT_PORT, NET_AGENT_PORT, KubernetesBackend
    from harness.net.rules import EMPTY

    sent: dict[str, str] = {}

    class Net:
        def call(self, op: str, **args: str) -> dict[str, object]:
            sent[op] = args["data"]
            return {"ok": True, "code": 0}

    be = KubernetesBackend.__new__(KubernetesBackend)
    be._nets = {"n1": Net()}  # type: ignore[dict-item]
    rules = EMPTY.replace("COMMIT\n", "-A INPUT -s 10.0.0.2/32 -j DROP\nCOMMIT\n")
    be.load_rules({"n1": rules})
    lines = sent["ipt"].splitlines()
    keep = lines.index(f"-A INPUT -p tcp -m multiport --dports {AGENT_PORT},{NET_AGENT_PORT} -j ACCEPT")
    assert keep < lines.index("-A INPUT -s 10.0.0.2/32 -j DROP")
