"""Fault kinds against the fake network and a fake cluster: shapes become the right grudges, links the
right toxics, process faults the right calls; the nemesis records a stop for every start, even if stopped."""

from __future__ import annotations

import random
import threading

import pytest
from experiment_fakes import FakeCluster, FakeTarget, Harness, Store

from harness.faults.base import FaultContext, ParamError
from harness.faults.link import Link
from harness.faults.partition import Partition
from harness.faults.process import Kill, Pause
from harness.history import HistoryWriter
from harness.runtime.clock import ManualClock
from harness.runtime.nemesis import Nemesis
from harness.schedule import Schedule
from harness.target import Topology

NODES5 = ("n1", "n2", "n3", "n4", "n5")
CTX5 = FaultContext(NODES5, Topology.full_mesh(NODES5).links)


def cluster(n: int = 5) -> FakeCluster:
    return FakeCluster(FakeTarget(Store()), n, None)


@pytest.mark.parametrize(
    ("params", "reachable", "cut"),
    [
        ({"shape": "isolate", "nodes": ["n1"]}, [("n2", "n3")], [("n1", "n2"), ("n5", "n1")]),
        (
            {"shape": "halves", "nodes": list(NODES5)},
            [("n1", "n2"), ("n3", "n5")],
            [("n1", "n3"), ("n4", "n2")],
        ),
        ({"shape": "one-way", "nodes": ["n1"]}, [("n2", "n1")], [("n1", "n2")]),
        (
            {"shape": "groups", "groups": [["n1", "n4"], ["n2"]]},
            [("n1", "n4"), ("n3", "n5")],
            [("n1", "n2"), ("n3", "n4")],
        ),
        ({"shape": "bridge", "nodes": list(NODES5)}, [("n3", "n1"), ("n3", "n5")], [("n1", "n4")]),
        ({"shape": "majorities-ring", "nodes": list(NODES5)}, [("n1", "n2"), ("n1", "n5")], [("n1", "n3")]),
    ],
)
def test_partition_shapes(params: dict, reachable: list, cut: list) -> None:
    c = cluster()
    p = Partition()
    p.validate(params, CTX5)
    p.start(c, {**params, "mode": "refuse"})
    assert c.net.mode == "refuse"
    assert all(c.net.reachable(a, b) for a, b in reachable)
    assert not any(c.net.reachable(a, b) for a, b in cut)
    p.stop(c, params)
    assert c.net.grudge == {}


def test_partition_random_params_are_seeded_and_valid() -> None:
    p = Partition()
    a = [
        p.random_params(random.Random(4), CTX5, {"shapes": ["isolate", "halves", "bridge"]}) for _ in range(2)
    ]
    assert a[0] == a[1]
    for seed in range(30):
        params = p.random_params(random.Random(seed), CTX5, {})
        p.validate(params, CTX5)


def test_partition_smaller_singles_out_fewer_nodes() -> None:
    p = Partition()
    params = {"shape": "halves", "nodes": list(NODES5), "mode": "blackhole"}
    smaller = list(p.smaller(params, CTX5))
    assert smaller and all(len(p.nodes(s, CTX5)) < len(p.nodes(params, CTX5)) for s in smaller)


def test_link_applies_toxic_to_the_links_of_the_nodes() -> None:
    c = cluster(3)
    ctx = FaultContext(c.nodes, Topology.full_mesh(c.nodes).links)
    link = Link()
    params = link.random_params(random.Random(1), ctx, {"toxic": "latency", "latency": 300, "nodes": ["n1"]})
    link.validate(params, ctx)
    info = link.start(c, params)
    assert info["attributes"] == {"latency": 300, "jitter": 0}
    assert set(c.net.links) == {("n1", "n2"), ("n1", "n3"), ("n2", "n1"), ("n3", "n1")}
    link.stop(c, params)
    assert c.net.links == {}
    with pytest.raises(ParamError) as e:
        link.validate({"toxic": "bandwidth", "latency": 3}, ctx)
    assert e.value.field == ("latency",)


def test_process_faults_call_the_cluster() -> None:
    c = cluster(3)
    Kill().start(c, {"nodes": ["n2"]})
    Kill().stop(c, {"nodes": ["n2"]})
    Pause().start(c, {"nodes": ["n1", "n3"]})
    Pause().stop(c, {"nodes": ["n1", "n3"]})
    assert c.calls == [
        ("kill", "n2"),
        ("start", "n2"),
        ("pause", "n1"),
        ("pause", "n3"),
        ("resume", "n1"),
        ("resume", "n3"),
    ]


def test_nemesis_records_start_and_stop_with_the_grudge_and_ends_active_faults_when_stopped() -> None:
    h = Harness()
    c = cluster(3)
    ctx = FaultContext(c.nodes, Topology.full_mesh(c.nodes).links)
    s = Schedule.from_list(
        [
            {
                "kind": "partition",
                "at": 0.0,
                "duration": 0.05,
                "shape": "isolate",
                "nodes": ["n1"],
                "mode": "blackhole",
            },
            {"kind": "kill", "at": 0.1, "duration": 60, "nodes": ["n2"]},
        ]
    )
    w = HistoryWriter()

    class StopsAtOne(ManualClock):
        """Simulated time in which the workload ends (``stop`` is asked for) at 1 s, during the kill."""

        def wait(self, event: threading.Event, seconds: float) -> bool:
            if self.t + seconds > 1.0:
                event.set()
            return super().wait(event, seconds)

    nem = Nemesis(s, c, w, h.registries, ctx, clock=StopsAtOne())
    nem.run()  # plays the partition, starts the kill, then sees the stop
    assert [op.f for op in w.history()] == ["start-partition", "stop-partition", "start-kill"]
    nem.stop()
    ops = [(op.f, op.type, op.process) for op in w.history()]
    assert ops == [
        ("start-partition", "info", "nemesis"),
        ("stop-partition", "info", "nemesis"),
        ("start-kill", "info", "nemesis"),
        ("stop-kill", "info", "nemesis"),
    ]
    first = w.history()[0].value
    assert first["grudge"] == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]} and first["nodes"] == ["n1"]
    assert c.calls == [("kill", "n2"), ("start", "n2")] and c.net.grudge == {}


def test_link_faults_reach_client_links_and_blackhole_them() -> None:
    """A holder cut off from the service: the client -> node links are fault targets like peer links."""
    c = cluster(3)
    ctx = FaultContext.of(Topology.full_mesh(c.nodes))
    assert ("client", "n1") in ctx.links and ("n1", "n2") in ctx.links
    link = Link()
    step = {"toxic": "timeout", "links": [["client", "n1"], ["client", "n2"]]}
    params = link.random_params(random.Random(1), ctx, step)
    link.validate(params, ctx)
    assert params["timeout"] == 0  # a blackhole: the link holds all data
    link.start(c, params)
    assert set(c.net.links) == {("client", "n1"), ("client", "n2")}
    link.stop(c, params)
    assert c.net.links == {}
    with pytest.raises(ParamError) as e:
        link.validate({"toxic": "timeout", "links": [["client", "n9"]]}, ctx)
    assert e.value.field == ("links", 0)


def test_link_fault_toxics_match_the_network_layer_and_the_schema() -> None:
    """One set of toxics in three places (step defaults, the Net's validation, the published schema)."""
    import json
    from pathlib import Path

    from harness.faults.link import TOXIC_DEFAULTS
    from harness.names import TOXIC_ATTRIBUTES, TOXICS
    from harness.net.base import LINK_KINDS
    from harness.net.toxiproxy import TOXIC_TYPES

    attributes = {k: set(v) for k, v in TOXIC_ATTRIBUTES.items()}
    assert {k: set(v) for k, v in TOXIC_DEFAULTS.items()} == attributes
    assert {k: set(v) for k, v in LINK_KINDS.items()} == attributes
    assert TOXIC_TYPES == set(TOXICS)
    assert TOXIC_DEFAULTS["latency"] == {"latency": 200, "jitter": 0}  # a step's own defaults, not the Net's
    schema_file = Path(__file__).resolve().parents[3] / "harness" / "schema" / "experiment.schema.json"
    schema = json.loads(schema_file.read_text())
    enums: list[list[str]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "enum" in node and "latency" in node["enum"]:
                enums.append(node["enum"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert enums and all(sorted(e) == sorted(TOXICS) for e in enums), enums
