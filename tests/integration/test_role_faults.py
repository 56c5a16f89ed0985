"""Faults that select the leader, on a live kv cluster (local backend): the node isolated or killed is the one
that led when the fault started (the fault op's record against the nodes' own health answers), and the planted
stale-read bug, which a partition of a seeded node catches only when luck cuts the right node, is caught for
every seed when the leader is cut on purpose."""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_example_clients import eventually, need, servers

from chaos_targets.kv.client import KvClient
from chaos_targets.kv.target import KvTarget
from chaos_targets.lock.target import LockTarget
from harness.faultop import fault_ops
from harness.history import HistoryWriter
from harness.loader import load, with_overrides
from harness.platform import open_cluster
from harness.registry import Registries
from harness.run import run_experiment
from harness.runtime.nemesis import Nemesis, default_context
from harness.schedule import Schedule
from harness.target import ClientContext, live_roles, role_names

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def health(cluster: Any) -> dict[str, dict[str, Any]]:
    """Every node's own answer to ``health`` (role, term, leader), through its client port."""
    out = {}
    for n in cluster.nodes:
        try:
            out[n] = KvClient({n: cluster.client_addrs[n]}, 0, 0.5).request({"op": "health"})
        except OSError:
            continue
    return out


def settled_leader(cluster: Any, timeout: float = 30.0) -> str:
    """The one node every answering node agrees leads (its own role leader, the others naming it)."""
    deadline = time.monotonic() + timeout
    while True:
        h = health(cluster)
        leaders = [n for n, v in h.items() if v.get("role") == "leader"]
        if len(leaders) == 1 and len(h) == len(cluster.nodes):
            if all(v.get("leader") == leaders[0] for v in h.values()):
                return leaders[0]
        assert time.monotonic() < deadline, f"no settled leader within {timeout:g} s: {h}"
        time.sleep(0.1)


def test_isolate_and_kill_select_the_node_that_leads_when_the_fault_starts(
    local_backend: str, tmp_path: Path
) -> None:
    target = KvTarget()
    with open_cluster(target, 3, backend=local_backend, log_dir=tmp_path) as cluster:
        cluster.wait_ready(timeout=30)
        writer = HistoryWriter()
        ctx = replace(default_context(cluster), roles=role_names(target, cluster.nodes))
        probe = lambda: live_roles(target, cluster.client_context())  # noqa: E731
        nem = Nemesis(Schedule(), cluster, writer, Registries(), ctx, roles=probe)
        try:
            cut = []
            for _ in range(2):
                before = settled_leader(cluster)
                fault = nem.inject("partition", shape="isolate", select="leader")
                cut.append(before)
                # the others elect a new leader in a higher term; the cut-off node is not it
                deadline = time.monotonic() + 30
                while True:
                    h = health(cluster)
                    new = [n for n, v in h.items() if v.get("role") == "leader" and n != before]
                    if new and h[new[0]]["term"] > h[before]["term"]:
                        break
                    assert time.monotonic() < deadline, f"no new leader while {before} is cut off: {h}"
                    time.sleep(0.1)
                nem.end(fault)
            before = settled_leader(cluster)
            nem.end(nem.inject("kill", select="leader"))
        finally:
            nem.stop()
    starts = [f for f in fault_ops(writer.history()) if f.phase == "start"]
    assert [s.kind for s in starts] == ["partition", "partition", "kill"]
    for op, leader in zip(starts, [*cut, before], strict=True):
        selected = op.details["selected"]
        assert op.nodes == (leader,) and selected["nodes"] == [leader], op
        assert selected["roles"]["leader"] == [leader] and "fallback" not in selected
    grudge = starts[0].details["grudge"]
    assert sorted(grudge[cut[0]]) == sorted(n for n in ("n1", "n2", "n3") if n != cut[0])


def test_stale_read_with_the_leader_partitioned_is_caught_for_every_seed(
    local_backend: str, tmp_path: Path
) -> None:
    exp = with_overrides(load(ROOT / "experiments" / "kv-stale-read-leader.yaml"), backend=local_backend)
    for seed in (1, 2, 3):
        result = run_experiment(exp, seed=seed, out=tmp_path)
        assert result.valid is False and result.exit_code == 0, (seed, result.summary)
        starts = [f for f in fault_ops(result.bundle.read_history()) if f.phase == "start"]
        assert starts and all(s.kind == "partition" for s in starts)
        for s in starts:
            selected = s.details["selected"]
            assert "fallback" not in selected, (seed, selected)
            assert list(s.nodes) == selected["nodes"] == selected["roles"]["leader"], (seed, selected)


def test_etcd_reports_its_leader_from_each_members_status(tmp_path: Path) -> None:
    """The declared etcd target's live roles come from its client class (every member's status endpoint):
    one leader that every member follows; killed, another member takes the role."""
    need("etcd")
    with servers("etcd", 3, tmp_path) as s:
        assert s.target.role_names == ("leader", "followers")
        context = ClientContext(nodes=tuple(s.addrs), addrs={n: {"client": a} for n, a in s.addrs.items()})

        def one_leader() -> bool:
            roles = live_roles(s.target, context)
            return len(roles["leader"]) == 1 and len(roles["followers"]) == 2

        assert eventually(one_leader, within=30)
        first = live_roles(s.target, context)["leader"][0]
        s.signal(first, signal.SIGKILL)
        s.procs[first].wait(10)
        assert eventually(lambda: live_roles(s.target, context)["leader"] not in ((), (first,)), within=30)
        assert first in live_roles(s.target, context)["followers"]


def test_lock_replicas_report_their_leader_and_pause_selects_it(local_backend: str, tmp_path: Path) -> None:
    """The lock target's roles come from its replicas (the resource holds none); pause selects the leader."""
    target = LockTarget()
    with open_cluster(target, 3, backend=local_backend, log_dir=tmp_path) as cluster:
        cluster.wait_ready(timeout=30)
        context = cluster.client_context()
        deadline = time.monotonic() + 30
        while len(live_roles(target, context)["leader"]) != 1:
            assert time.monotonic() < deadline, "no lock leader within 30 s"
            time.sleep(0.1)
        roles = live_roles(target, context)
        assert "resource" not in roles["leader"] + roles["followers"]
        assert sorted(roles["leader"] + roles["followers"]) == ["n1", "n2", "n3"]
        ctx = replace(default_context(cluster), roles=role_names(target, cluster.nodes))
        writer = HistoryWriter()
        nem = Nemesis(
            Schedule(), cluster, writer, Registries(), ctx, roles=lambda: live_roles(target, context)
        )
        try:
            nem.end(nem.inject("pause", select="leader"))
        finally:
            nem.stop()
    start = next(f for f in fault_ops(writer.history()) if f.phase == "start")
    assert start.nodes == tuple(start.details["selected"]["roles"]["leader"])
    assert start.nodes[0] in ("n1", "n2", "n3") and "fallback" not in start.details["selected"]
