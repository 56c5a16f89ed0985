"""Packet filter rules as data (``harness.net.rules``) and ``PacketNet`` over a recording loader: which node
gets which ``iptables-restore`` text for each grudge shape, refuse mode, client cuts and loss, that only
changed nodes are reloaded, that heal empties every table, and that toxics need a proxy."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from harness.errors import BadInput
from harness.net.grudge import bridge, halves, isolate, one_way
from harness.net.packet import PacketNet
from harness.net.rules import EMPTY, PacketState, node_rules, rulesets
from harness.target import Topology

NODES = ("n1", "n2", "n3", "n4", "n5")
IPS = {n: f"10.0.0.{i + 2}" for i, n in enumerate(NODES)} | {"client": "10.0.0.1"}


def dropped_sources(ruleset: str) -> set[str]:
    ip_to_node = {ip: n for n, ip in IPS.items()}
    return {
        ip_to_node[line.split()[3].split("/")[0]]
        for line in ruleset.splitlines()
        if line.startswith("-A INPUT") and line.endswith("-j DROP") and "statistic" not in line
    }


@pytest.mark.parametrize(
    "grudge", [isolate(NODES, "n2"), halves(NODES), bridge(NODES), one_way(NODES, ["n1"], ["n4"])]
)
def test_each_node_drops_exactly_the_senders_that_cannot_reach_it(
    grudge: Mapping[str, frozenset[str]],
) -> None:
    sets = rulesets(NODES, PacketState(dict(grudge)), IPS)
    for node in NODES:
        assert dropped_sources(sets[node]) == {a for a, bs in grudge.items() if node in bs}, node
        assert sets[node].startswith("*filter\n:INPUT ACCEPT") and sets[node].endswith("COMMIT\n")


def test_one_way_cut_is_enforced_only_at_the_receiver() -> None:
    sets = rulesets(NODES, PacketState(one_way(NODES, ["n1"], ["n2"])), IPS)
    assert sets["n2"] != EMPTY and all(sets[n] == EMPTY for n in NODES if n != "n2")


def test_refuse_rejects_but_lets_refusals_back_in() -> None:
    rules = node_rules("n1", PacketState(isolate(NODES, "n1"), mode="refuse"), IPS)
    first = [r for r in rules if "10.0.0.3/32" in r]
    assert first == [
        "-A INPUT -s 10.0.0.3/32 -p tcp --tcp-flags RST RST -j ACCEPT",
        "-A INPUT -s 10.0.0.3/32 -p icmp --icmp-type destination-unreachable -j ACCEPT",
        "-A INPUT -s 10.0.0.3/32 -p tcp -j REJECT --reject-with tcp-reset",
        "-A INPUT -s 10.0.0.3/32 -j REJECT --reject-with icmp-port-unreachable",
    ]


def test_client_cut_and_loss() -> None:
    state = PacketState(cut=frozenset({("client", "n3")}), loss={("n1", "n2"): 0.25, ("n4", "n2"): 0.5})
    assert node_rules("n3", state, IPS) == ["-A INPUT -s 10.0.0.1/32 -j DROP"]
    assert node_rules("n2", state, IPS) == [
        "-A INPUT -s 10.0.0.2/32 -m statistic --mode random --probability 0.250000 -j DROP",
        "-A INPUT -s 10.0.0.5/32 -m statistic --mode random --probability 0.500000 -j DROP",
    ]


class Recorder:
    def __init__(self) -> None:
        self.loads: list[dict[str, str]] = []

    def __call__(self, sets: Mapping[str, str]) -> None:
        self.loads.append(dict(sets))


def test_packet_net_reloads_only_changed_nodes_and_heal_empties_them() -> None:
    rec = Recorder()
    net = PacketNet(Topology.full_mesh(NODES), IPS, rec, mesh=None)
    net.partition(isolate(NODES, "n1"))
    assert set(rec.loads[-1]) == set(NODES)  # n1 drops everyone, everyone drops n1
    net.partition(isolate(NODES, "n1"))
    assert len(rec.loads) == 1  # nothing changed: nothing reloaded
    net.heal()
    assert set(rec.loads[-1]) == set(NODES) and all(r == EMPTY for r in rec.loads[-1].values())
    net.partition(one_way(NODES, ["n3"], ["n4"]))
    assert set(rec.loads[-1]) == {"n4"}
    assert not net.reachable("n3", "n4") and net.reachable("n4", "n3")
    net.cut([("client", "n5")])
    assert set(rec.loads[-1]) == {"n5"}
    net.heal()
    assert set(rec.loads[-1]) == {"n4", "n5"} and net.grudge == {}


def test_packet_net_after_a_failed_load_heal_rewrites_every_table() -> None:
    calls: list[set[str]] = []

    def flaky(sets: Mapping[str, str]) -> None:
        calls.append(set(sets))
        if len(calls) == 1:
            raise RuntimeError("engine went away")

    net = PacketNet(Topology.full_mesh(NODES), IPS, flaky, mesh=None)
    with pytest.raises(RuntimeError):
        net.partition(one_way(NODES, ["n1"], ["n2"]))
    net.heal()
    assert calls[-1] == set(NODES)


def test_packet_net_validates_and_refuses_toxics_without_proxies() -> None:
    net = PacketNet(Topology.full_mesh(NODES), IPS, Recorder(), mesh=None)
    with pytest.raises(BadInput, match="unknown node 'n9'"):
        net.partition({"n9": frozenset({"n1"})})
    with pytest.raises(BadInput, match="link destination 'client'"):
        net.cut([("n1", "client")])
    with pytest.raises(BadInput, match=r"expected a number in \(0, 1\]"):
        net.loss([("n1", "n2")], 1.5)
    with pytest.raises(BadInput, match="no Toxiproxy proxies"):
        net.link("n1", "n2", kind="latency", latency=10)
