"""The KV store's Raft behaviour on a 3-node cluster behind Toxiproxy: election, durability across a leader
kill, no commit in a minority, recovery after heal. Docker, and the cheap local backend for the first two."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from chaos_targets.kv.client import KvClient
from chaos_targets.kv.target import KvTarget
from harness.net.grudge import isolate
from harness.platform import open_cluster

pytestmark = pytest.mark.integration


def correct_target() -> KvTarget:
    t = KvTarget()
    return t


def health(cluster: Any, node: str) -> dict[str, Any]:
    try:
        return KvClient({node: cluster.client_addrs[node]}, 0, 0.5).request({"op": "health"})
    except OSError as e:
        return {"ok": False, "error": str(e)}


def wait_for(cond: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")


def single_leader(cluster: Any, among: tuple[str, ...] | None = None) -> str | None:
    hs = {n: health(cluster, n) for n in (among or cluster.nodes)}
    leaders = [n for n, h in hs.items() if h.get("role") == "leader"]
    terms = {h.get("term") for h in hs.values()}
    agreed = {h.get("leader") for h in hs.values()}
    if len(leaders) == 1 and len(terms) == 1 and agreed == {leaders[0]}:
        return leaders[0]
    return None


def write_until_ok(client: KvClient, key: str, value: int, timeout: float = 10) -> None:
    wait_for(lambda: client.invoke("write", {"key": key, "value": value}).type == "ok", timeout)


@pytest.mark.parametrize("backend", ["docker", "local"])
def test_leader_elected_and_writes_survive_killing_the_leader(backend: str) -> None:
    with open_cluster(correct_target(), nodes=3, backend=backend) as cluster:
        cluster.wait_ready(timeout=60)
        leader = wait_for(lambda: single_leader(cluster), 15)
        client = KvClient(cluster.client_addrs, 0, 2.0)
        for i in range(20):
            write_until_ok(client, f"k{i % 3}", i)
        cluster.kill(leader)
        others = tuple(n for n in cluster.nodes if n != leader)
        new = wait_for(lambda: single_leader(cluster, others), 15)
        assert new != leader
        cluster.start(leader)
        cluster.wait_ready(timeout=30, nodes=(leader,))
        wait_for(lambda: health(cluster, leader).get("leader") == new, 15)
        # Every acknowledged write is still there, read through the restarted node (forwarded to the leader).
        via_old = KvClient({leader: cluster.client_addrs[leader]}, 0, 2.0)
        got = {k: via_old.invoke("read", {"key": k, "value": None}) for k in ("k0", "k1", "k2")}
        assert {k: o.value["value"] for k, o in got.items() if o.type == "ok"} == {
            "k0": 18,
            "k1": 19,
            "k2": 17,
        }
        # And the restarted node's own replica has caught up from its journal plus the leader's log.
        wait_for(
            lambda: health(cluster, leader).get("applied", 0) >= health(cluster, new).get("commit", 1), 15
        )


def test_a_minority_cannot_commit_and_the_cluster_recovers_after_heal() -> None:
    with open_cluster(correct_target(), nodes=3, backend="docker") as cluster:
        cluster.wait_ready(timeout=60)
        leader = wait_for(lambda: single_leader(cluster), 15)
        write_until_ok(KvClient(cluster.client_addrs, 0, 2.0), "a", 1)
        cluster.net.partition(isolate(cluster.nodes, leader))
        minority = KvClient({leader: cluster.client_addrs[leader]}, 0, 2.0)
        outcomes = [minority.invoke("write", {"key": "a", "value": 100 + i}) for i in range(3)]
        assert all(o.type in ("info", "fail") for o in outcomes), outcomes
        before = health(cluster, leader).get("commit")
        others = tuple(n for n in cluster.nodes if n != leader)
        new = wait_for(lambda: single_leader(cluster, others), 15)
        majority = KvClient({new: cluster.client_addrs[new]}, 0, 2.0)
        write_until_ok(majority, "a", 2)
        assert health(cluster, leader).get("commit") == before  # the isolated side committed nothing
        cluster.net.heal()
        wait_for(lambda: single_leader(cluster), 20)
        # Recovered: writes commit through any node, and the old leader serves the latest value.
        write_until_ok(KvClient({leader: cluster.client_addrs[leader]}, 0, 2.0), "b", 3)
        read = KvClient({leader: cluster.client_addrs[leader]}, 0, 2.0).invoke(
            "read", {"key": "b", "value": None}
        )
        assert read.type == "ok" and read.value == {"key": "b", "value": 3}
