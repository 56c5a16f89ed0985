"""Acceptance (docker): every grudge shape blocks exactly the packets it should, for TCP and UDP, measured
from inside the nodes; heal restores everything; client links, refusal and packet loss act on the wire.

Rules sit at the receiver (``harness.net.rules``): a datagram from a reaches b unless ``b in grudge[a]``; a
TCP connection between a and b needs both directions, so it fails when either is cut.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cluster.docker import nsenter_usable
from harness.errors import BadInput, InfrastructureError
from harness.faults.partition import grudge_of
from harness.loader import loads
from harness.net.netem import Netem, probe_host
from harness.platform import open_cluster
from harness.run import run_experiment
from tests.integration.packet_probe import Prober, ProbeTarget

pytestmark = pytest.mark.integration

NODES = ("n1", "n2", "n3", "n4", "n5")
SHAPES = {
    "isolate": {"shape": "isolate", "nodes": ["n2"]},
    "halves": {"shape": "halves", "nodes": ["n3", "n1", "n5", "n2", "n4"]},
    "majorities-ring": {"shape": "majorities-ring", "nodes": list(NODES)},
    "bridge": {"shape": "bridge", "nodes": list(NODES)},
    "groups": {"shape": "groups", "groups": [["n1", "n4"], ["n2"]]},
    "one-way": {"shape": "one-way", "nodes": ["n1", "n2"]},
}


def expected(
    grudge: dict[str, frozenset[str]],
) -> tuple[dict[tuple[str, str], bool], dict[tuple[str, str], bool]]:
    def cut(a: str, b: str) -> bool:
        return b in grudge.get(a, frozenset())

    pairs = [(a, b) for a in NODES for b in NODES if a != b]
    return {(a, b): not cut(a, b) and not cut(b, a) for a, b in pairs}, {
        (a, b): not cut(a, b) for a, b in pairs
    }


def test_every_grudge_shape_blocks_exactly_its_packets(docker_backend: str) -> None:
    with open_cluster(ProbeTarget(), nodes=5, backend=docker_backend) as cluster:
        cluster.wait_ready(timeout=30)
        probe = Prober(cluster)
        tcp, udp = probe.matrix()
        assert all(v == "ok" for v in tcp.values()) and all(udp.values()), (tcp, udp)
        for name, params in SHAPES.items():
            grudge = grudge_of(params, NODES)
            assert grudge, name
            cluster.net.partition(grudge)
            tcp, udp = probe.matrix()
            want_tcp, want_udp = expected(grudge)
            assert {k: v == "ok" for k, v in tcp.items()} == want_tcp, (name, grudge, tcp)
            assert udp == want_udp, (name, grudge, udp)
            cluster.net.heal()
            tcp, udp = probe.matrix()
            assert all(v == "ok" for v in tcp.values()) and all(udp.values()), (name, "after heal", tcp, udp)
            for n in NODES:
                assert "-A INPUT" not in cluster.backend.rules(n), (name, n)


def test_refuse_client_cut_and_loss(docker_backend: str) -> None:
    with open_cluster(ProbeTarget(), nodes=3, backend=docker_backend) as cluster:
        cluster.wait_ready(timeout=30)
        probe = Prober(cluster)
        # refuse: the connection fails fast with a reset instead of hanging
        cluster.net.partition(grudge_of({"shape": "isolate", "nodes": ["n1"]}, cluster.nodes), mode="refuse")
        tcp, _ = probe.matrix()
        assert tcp["n2", "n1"] == "refused" and tcp["n1", "n2"] == "refused", tcp
        assert tcp["n2", "n3"] == "ok"
        cluster.net.heal()

        # the clients (the host) are cut from n2 only; peers still reach it
        addr = cluster.client_ports["n2"]["tcp"]
        cluster.net.cut([("client", "n2")])
        with pytest.raises(OSError):
            socket.create_connection((addr.host, addr.port), timeout=0.7).close()
        other = cluster.client_ports["n3"]["tcp"]
        socket.create_connection((other.host, other.port), timeout=2).close()
        assert set(probe.tcp_matrix().values()) == {"ok"}
        cluster.net.heal()
        socket.create_connection((addr.host, addr.port), timeout=2).close()

        # probabilistic loss on one direction of one link
        cluster.net.loss([("n1", "n2")], 0.5)
        share = probe.udp_share("n1", "n2", 400)
        assert 0.3 < share < 0.7, share
        assert probe.udp_share("n2", "n1", 100) == 1.0
        cluster.net.heal()
        assert probe.udp_share("n1", "n2", 100) == 1.0

        # no proxies in this run: a toxic has nothing to act on, and says so
        with pytest.raises(BadInput, match="directly"):
            cluster.net.link("n1", "n2", kind="latency", latency=100)
        assert "link" not in cluster.capabilities and "packet-loss" in cluster.capabilities

        # clients dial the node itself (its IP, its real port): a killed node refuses at once
        direct = cluster.client_ports["n1"]["tcp"]
        assert direct == cluster.backend.direct_addr("n1", "tcp") and direct.port == 7000
        cluster.kill("n1")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((direct.host, direct.port), timeout=2).close()
        cluster.start("n1")
        cluster.wait_ready(timeout=20)
        socket.create_connection((direct.host, direct.port), timeout=2).close()


KILLED_RUNNER = """
import sys, time
from harness.net.grudge import halves
from harness.platform import open_cluster
from harness.run import run_experiment
from tests.integration.packet_probe import ProbeTarget
with open_cluster(ProbeTarget(), nodes=3, backend="docker", run_id=sys.argv[1]) as c:
    c.wait_ready(timeout=30)
    c.net.partition(halves(c.nodes))
    c.net.loss([("n1", "n3")], 0.3)
    print("READY", flush=True)
    time.sleep(120)
"""


def test_sigkill_mid_partition_then_chaos_clean_leaves_no_rule(docker_backend: str) -> None:
    run_id = "pk" + secrets.token_hex(4)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUNNER, run_id], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("READY")
    label = f"label=chaos-harness.run={run_id}"
    sandboxes = _ids("ps", "-q", "--filter", label, "--filter", "label=chaos-harness.role=sandbox")
    assert len(sandboxes) == 3
    # the rules are in force in the sandboxes' namespaces
    pids = [int(_ids("inspect", "-f", "{{.State.Pid}}", s)[0]) for s in sandboxes]
    ips = [
        _ids("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", s)[0]
        for s in sandboxes
    ]
    netns = {os.readlink(f"/proc/{p}/ns/net") for p in pids}
    rules = [_run("docker", "exec", s, "iptables", "-S") for s in sandboxes]
    assert sum("-j DROP" in r for r in rules) >= 2, rules
    proc.kill()
    proc.wait(timeout=10)
    assert _ids("ps", "-aq", "--filter", label), "SIGKILL should have left the containers behind"
    chaos = str(Path(sys.executable).parent / "chaos")
    out = subprocess.run([chaos, "clean", "--run", run_id], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert _ids("ps", "-aq", "--filter", label) == []
    assert _ids("network", "ls", "-q", "--filter", label) == []
    # the namespaces that held the rules are gone with their last process
    assert all(not Path(f"/proc/{p}").exists() or os.readlink(f"/proc/{p}/ns/net") not in netns for p in pids)
    # and no rule ever landed in the host's own tables
    host_rules = _run("iptables-save")
    assert not any(ip in host_rules for ip in ips), host_rules


def _run(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout


def _ids(*args: str) -> list[str]:
    return _run("docker", *args).split()


PACKET_RUN = """
name: kv-packet-faults
seed: 3
expect: valid
target: {name: kv, nodes: 3, backend: docker}
workload: {duration: 6, concurrency: 3, keys: 2}
faults:
  steps:
    - {kind: packet-loss, probability: 0.4, nodes: [n1], at: 1, duration: 2}
    - {kind: partition, shape: isolate, nodes: [n2], at: 3.5, duration: 1.5}
phases: {warmup: 1, cooldown: 1, recovery: 2, final: true}
checkers:
  linearizable: {model: kv, budget: 20}
"""


def test_runner_applies_packet_loss_and_partitions_directly(docker_backend: str, tmp_path: Path) -> None:
    o = run_experiment(loads(PACKET_RUN), out=tmp_path)
    assert o.exit_code == 0, o.summary
    starts = [op for op in o.bundle.read_history().nemesis_ops() if op.f.startswith("start-")]
    assert [op.f for op in starts] == ["start-packet-loss", "start-partition"]
    assert starts[0].value["probability"] == 0.4 and ["n1", "n2"] in starts[0].value["links"]


def test_netem_where_the_kernel_lacks_it_is_refused_clearly(docker_backend: str, tmp_path: Path) -> None:
    text = PACKET_RUN.replace("kind: packet-loss, probability: 0.4", "kind: netem, delay: 30")
    available, how = probe_host()
    if available:
        assert run_experiment(loads(text), out=tmp_path).exit_code == 0
        return
    with pytest.raises(InfrastructureError, match="cannot netem.*sch_netem"):
        run_experiment(loads(text), out=tmp_path)
    with open_cluster(ProbeTarget(), nodes=2, backend=docker_backend) as cluster:
        assert "netem" not in cluster.capabilities, how
        with pytest.raises(BadInput, match="sch_netem"):
            cluster.net.netem([("n1", "n2")], Netem(delay=30))  # type: ignore[union-attr]


@pytest.mark.parametrize("via", ["nsenter", "agent", "exec"])
def test_every_way_of_loading_rules(docker_backend: str, via: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandboxes' agents (the default), nsenter from the host (root, local engine), docker exec."""
    monkeypatch.setenv("CHAOS_RULES_VIA", via)
    with open_cluster(ProbeTarget(), nodes=3, backend=docker_backend) as cluster:
        cluster.wait_ready(timeout=30)
        be = cluster.backend
        assert be.use_nsenter == (via == "nsenter" and nsenter_usable())  # type: ignore[attr-defined]
        assert be.use_agent == (via == "agent")  # type: ignore[attr-defined]
        assert bool(be._channels) == (via == "agent")  # type: ignore[attr-defined]
        probe = Prober(cluster)
        cluster.net.partition(grudge_of({"shape": "isolate", "nodes": ["n3"]}, cluster.nodes))
        tcp = probe.tcp_matrix()
        assert {k: v == "ok" for k, v in tcp.items()} == {k: "n3" not in k for k in tcp}, tcp
        cluster.net.heal()
        assert set(probe.tcp_matrix().values()) == {"ok"}
