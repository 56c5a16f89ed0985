"""Acceptance: a 3-node echo cluster on each backend; partitions, one-way cuts, latency and process faults
take visible effect, probed from inside the cluster through the mesh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chaos_targets.echo.client import EchoClient
from chaos_targets.echo.target import EchoTarget
from harness.net.grudge import isolate, one_way
from harness.platform import open_cluster

pytestmark = pytest.mark.integration


def reach(client: EchoClient, src: str, dst: str) -> bool:
    out = client.invoke("probe", [src, dst])
    assert out.type == "ok", out
    return bool(out.value["reached"])


def matrix(client: EchoClient, nodes: tuple[str, ...]) -> dict[tuple[str, str], bool]:
    return {(a, b): reach(client, a, b) for a in nodes for b in nodes if a != b}


@pytest.mark.parametrize("mode", ["blackhole", "refuse"])
def test_partition_one_way_heal_latency(backend: str, mode: str, tmp_path: Path) -> None:
    target = EchoTarget()
    # link toxics need proxies: on docker, ask for them (local always has them); partitions then act on both
    # the proxies and the packet filters
    proxies = ("peers", "clients")
    with open_cluster(target, nodes=3, backend=backend, log_dir=tmp_path, proxies=proxies) as cluster:
        assert cluster.nodes == ("n1", "n2", "n3")
        assert {"kill", "restart", "pause", "partition", "link"} <= cluster.capabilities
        cluster.wait_ready(timeout=30)
        client = target.client(cluster.client_addrs, 0, timeout=2.0)
        assert all(matrix(client, cluster.nodes).values())

        cluster.net.partition(isolate(cluster.nodes, "n1"), mode=mode)
        m = matrix(client, cluster.nodes)
        assert not any(m[a, b] for a, b in m if "n1" in (a, b)), m
        assert m["n2", "n3"] and m["n3", "n2"]

        cluster.net.heal()
        assert all(matrix(client, cluster.nodes).values())

        cluster.net.partition(one_way(cluster.nodes, ["n1"], ["n2"]), mode=mode)
        assert not reach(client, "n1", "n2")
        assert reach(client, "n2", "n1")
        assert reach(client, "n1", "n3") and reach(client, "n3", "n2")
        cluster.net.heal()

        cluster.net.link("n1", "n2", kind="latency", latency=200, jitter=0)
        rtts = [client.invoke("probe", ["n1", "n2"]).value["rtt_ms"] for _ in range(3)]
        assert all(200 <= r <= 400 for r in rtts), rtts
        fast = client.invoke("probe", ["n2", "n1"]).value["rtt_ms"]
        assert fast < 150, fast
        cluster.net.heal()
        assert client.invoke("probe", ["n1", "n2"]).value["rtt_ms"] < 150
    assert "listening" in (tmp_path / "n1.log").read_text()


def test_kill_restart_pause_resume(backend: str) -> None:
    target = EchoTarget()
    with open_cluster(target, nodes=3, backend=backend) as cluster:
        cluster.wait_ready(timeout=30)
        client = target.client(cluster.client_addrs, 0, timeout=1.0)
        assert client.invoke("ping", "n2").value["boots"] == 1

        cluster.pause("n2")
        t = time.monotonic()
        out = client.invoke("ping", "n2")
        assert out.type == "info" and out.error == "timeout", out
        assert time.monotonic() - t >= 0.9
        assert not reach(client, "n1", "n2")
        cluster.resume("n2")
        assert client.invoke("ping", "n2").type == "ok"

        cluster.kill("n3")
        assert not cluster.backend.running("n3")
        assert client.invoke("ping", "n3").type != "ok"
        cluster.start("n3")
        cluster.wait_ready(timeout=30)
        assert client.invoke("ping", "n3").value["boots"] == 2  # data dir survived the crash

        cluster.kill_and_start("n1")
        cluster.wait_ready(timeout=30)
        assert client.invoke("ping", "n1").value["boots"] == 2

        cluster.restart("n1")  # a graceful stop, then a start: the restart fault's meaning
        cluster.wait_ready(timeout=30)
        assert client.invoke("ping", "n1").value["boots"] == 3
        assert "boot 3" in cluster.logs()["n1"]

        cluster.stop("n2")
        assert not cluster.backend.running("n2")
        cluster.start("n2")
        cluster.wait_ready(timeout=30)
        assert client.invoke("ping", "n2").value["boots"] == 2
        assert "boot 2" in cluster.logs()["n2"]
