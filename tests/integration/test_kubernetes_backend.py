"""The kubernetes backend on a real cluster (``scripts/kube up``, or whatever the kubeconfig names).

Nodes are pods in a per-run namespace; the node's process runs under the pod's supervisor, so kill, restart,
pause and resume act on the process while the pod, its address and its data directory stay; partitions,
client cuts and packet loss are packet filters loaded by the pod's ``net`` agent, measured here from inside
the nodes (TCP and UDP). After the cluster is closed, after an interrupted runner, and after ``chaos clean``
nothing of the run is left: no namespace, no pod.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from integration_env import require_kubernetes

from harness.cli.clean import clean
from harness.faults.partition import grudge_of
from harness.platform import open_cluster
from harness.target import Addr, NodeContext, NodeSpec, Topology
from tests.integration.packet_probe import Prober, ProbeTarget, ask

pytestmark = pytest.mark.integration

NODES5 = ("n1", "n2", "n3", "n4", "n5")

# A node that counts its own starts in its data directory and answers "boots N" on TCP: a restart that keeps
# the data directory answers one more.
BOOTS = r"""
import os, socket, sys
port, data = int(sys.argv[1]), sys.argv[2]
os.makedirs(data, exist_ok=True)
with open(os.path.join(data, "boots"), "a") as f:
    f.write("boot\n")
boots = len(open(os.path.join(data, "boots")).read().split())
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port)); s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(f"boots {boots}\n".encode()); c.close()
"""


class BootCounter:
    name = "boot-counter"
    planted_bugs: frozenset[str] = frozenset()
    ports = {"client": 7000}

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        return NodeSpec(("python3", "-c", BOOTS, str(ctx.ports["client"]), ctx.data_dir))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Any:
        raise NotImplementedError


@pytest.fixture
def kube() -> str:
    require_kubernetes()
    return "kubernetes"


def namespaces(run_id: str) -> list[str]:
    from kubernetes import client as k8s

    from harness.cluster.kubernetes import api_client

    with api_client() as api:
        found = k8s.CoreV1Api(api).list_namespace(label_selector=f"chaos-harness.run={run_id}").items
        return [ns.metadata.name for ns in found]


def answer(addr: Addr, timeout: float = 1.0) -> str:
    try:
        with socket.create_connection((addr.host, addr.port), timeout=timeout) as s:
            return s.makefile().readline().strip()
    except OSError as e:
        return type(e).__name__


def test_pods_start_reach_each_other_and_leave_nothing(kube: str) -> None:
    run_id = "k" + secrets.token_hex(4)
    with open_cluster(ProbeTarget(), nodes=3, backend=kube, run_id=run_id) as cluster:
        cluster.wait_ready(timeout=60)
        assert namespaces(run_id) == [f"chaos-{run_id}"]
        assert {cluster.contexts[n].host for n in cluster.nodes} == {
            cluster.backend.direct_addr(n).host for n in cluster.nodes
        }
        assert {"kill", "pause", "partition", "packet-loss"} <= cluster.capabilities
        tcp, udp = Prober(cluster).matrix()
        assert all(v == "ok" for v in tcp.values()) and all(udp.values()), (tcp, udp)
    assert namespaces(run_id) == []


def test_every_partition_shape_and_heal_from_inside_the_pods(kube: str) -> None:
    shapes = {
        "isolate": {"shape": "isolate", "nodes": ["n2"]},
        "halves": {"shape": "halves", "nodes": ["n3", "n1", "n5", "n2", "n4"]},
        "majorities-ring": {"shape": "majorities-ring", "nodes": list(NODES5)},
        "bridge": {"shape": "bridge", "nodes": list(NODES5)},
        "one-way": {"shape": "one-way", "nodes": ["n1", "n2"]},
    }
    with open_cluster(ProbeTarget(), nodes=5, backend=kube) as cluster:
        cluster.wait_ready(timeout=60)
        probe = Prober(cluster)
        for name, params in shapes.items():
            grudge = grudge_of(params, NODES5)
            cluster.net.partition(grudge)
            tcp, udp = probe.matrix()
            for (a, b), res in tcp.items():
                cut = b in grudge.get(a, frozenset()) or a in grudge.get(b, frozenset())
                assert (res == "ok") == (not cut), (name, a, b, res)
            for (a, b), got in udp.items():
                assert got == (b not in grudge.get(a, frozenset())), (name, a, b)
            cluster.net.heal()
            tcp, udp = probe.matrix()
            assert all(v == "ok" for v in tcp.values()) and all(udp.values()), (name, "after heal")
            assert all("-s " not in cluster.backend.rules(n) for n in NODES5), name


def test_client_cut_and_packet_loss(kube: str) -> None:
    with open_cluster(ProbeTarget(), nodes=3, backend=kube) as cluster:
        cluster.wait_ready(timeout=60)
        probe = Prober(cluster)
        n1 = cluster.client_ports["n1"]["tcp"]
        assert ask(n1, "ping") == "pong"
        cluster.net.cut([("client", "n1")])
        with pytest.raises(OSError):
            ask(n1, "ping", timeout=1.0)
        assert ask(cluster.client_ports["n2"]["tcp"], "ping") == "pong"  # only n1 is cut off the clients
        assert probe.tcp_matrix()["n2", "n1"] == "ok"  # and the peers still reach it
        cluster.net.heal()
        assert ask(n1, "ping") == "pong"
        cluster.net.loss([("n1", "n2")], 0.5)
        share = probe.udp_share("n1", "n2", 400)
        assert 0.2 < share < 0.8, share
        assert probe.udp_share("n1", "n3", 100) == 1.0
        cluster.net.heal()
        assert probe.udp_share("n1", "n2", 100) == 1.0


def test_kill_restart_pause_resume_keep_the_pod_and_its_data(kube: str) -> None:
    with open_cluster(BootCounter(), nodes=2, backend=kube) as cluster:
        cluster.wait_ready(timeout=60)
        n1 = cluster.client_addrs["n1"]
        assert answer(n1) == "boots 1"
        cluster.kill("n1")
        assert cluster.node_states()["n1"] == "down"
        assert answer(n1) in ("ConnectionRefusedError", "TimeoutError")
        cluster.start("n1")
        cluster.wait_ready(timeout=30, nodes=("n1",))
        assert answer(n1) == "boots 2"  # same address, same data directory
        cluster.restart("n1")
        cluster.wait_ready(timeout=30, nodes=("n1",))
        assert answer(n1) == "boots 3"
        cluster.pause("n1")
        assert cluster.node_states()["n1"] == "paused"
        assert answer(n1, timeout=1.0) in ("TimeoutError", "")  # frozen: the kernel accepts, nobody answers
        cluster.resume("n1")
        assert answer(n1) == "boots 3"
        assert cluster.node_states() == {"n1": "running", "n2": "running"}
        assert answer(cluster.client_addrs["n2"]) == "boots 1"


RUNNER = """
import sys, time
from harness.net.grudge import isolate
from harness.platform import open_cluster
from chaos_targets.echo.target import EchoTarget
with open_cluster(EchoTarget(), nodes=3, backend="kubernetes", run_id=sys.argv[1]) as c:
    c.wait_ready(timeout=60)
    c.net.partition(isolate(c.nodes, "n1"))
    print("UP", flush=True)
    time.sleep(300)
"""


def _runner(run_id: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, run_id], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("UP"), f"runner said {line!r}, exit {proc.poll()}"
    return proc


def test_an_interrupted_runner_removes_its_namespace(kube: str) -> None:
    run_id = "k" + secrets.token_hex(4)
    proc = _runner(run_id)
    assert namespaces(run_id) == [f"chaos-{run_id}"]
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)  # the scoped cluster tore down before the interrupt ended the process
    assert namespaces(run_id) == []


def test_chaos_clean_removes_the_namespace_of_a_killed_runner(
    kube: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = "k" + secrets.token_hex(4)
    proc = _runner(run_id)
    live = "k" + secrets.token_hex(4)
    other = _runner(live)  # a live run: clean must leave it alone
    try:
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        removed = clean(docker=False)
        assert f"namespace chaos-{run_id} of run {run_id}" in removed, removed
        assert namespaces(run_id) == []
        assert namespaces(live) == [f"chaos-{live}"]
    finally:
        other.send_signal(signal.SIGINT)
        other.wait(timeout=120)
    assert namespaces(live) == []


EXPERIMENTS = {  # experiment -> the verdict it must reach on kubernetes (the same as on docker)
    "kv-register": True,
    "kv-stale-read": False,
    "etcd-linearizable": True,
    "etcd-serializable-reads": False,
    "postgres-serializable": True,
}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_shipped_experiments_reach_their_verdicts_on_kubernetes(kube: str, tmp_path: Path, name: str) -> None:
    """``chaos run --backend kubernetes`` of a shipped experiment, unchanged (declared targets included):
    exit 0 (the outcome its ``expect`` says) and the verdict docker reaches."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(root / "experiments" / f"{name}.yaml"),
         "--backend", "kubernetes", "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-1500:]
    bundle = out / name / "latest"
    run = json.loads((bundle / "run.json").read_text())
    results = json.loads((bundle / "results.json").read_text())
    assert run["backend"] == "kubernetes" and run["status"] == "finished"
    assert results["valid"] is EXPERIMENTS[name], results["verdict"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 110))
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_shipped_experiments_ten_seeds_on_kubernetes(kube: str, tmp_path: Path, name: str, seed: int) -> None:
    """The slow suite: each experiment of ``EXPERIMENTS`` with seeds 100-109, the same verdict every time."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(root / "experiments" / f"{name}.yaml"),
         "--backend", "kubernetes", "--out", str(out), "--seed", str(seed)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-1500:]
    results = json.loads((out / name / "latest" / "results.json").read_text())
    assert results["valid"] is EXPERIMENTS[name], results["verdict"]
