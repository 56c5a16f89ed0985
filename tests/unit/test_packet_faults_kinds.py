"""The packet-level fault kinds (``packet-loss``, ``netem``): validation naming the field, seeded resolution
to concrete links, and application through the network's ``loss`` / ``netem`` (here a recording stand-in);
the netem setting's own checks and its ``tc`` script."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harness.errors import BadInput
from harness.faults.base import FaultContext, ParamError
from harness.faults.packet import NetemFault, PacketLoss
from harness.net.netem import CLEAR, Netem, tc_script
from harness.target import Topology

NODES = ("n1", "n2", "n3")
CTX = FaultContext.of(Topology.full_mesh(NODES))


class RecordingNet:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def loss(self, links: list[tuple[str, str]], p: float) -> None:
        self.calls.append(("loss", (sorted(links), p)))

    def netem(self, links: list[tuple[str, str]], setting: Netem) -> None:
        self.calls.append(("netem", (sorted(links), setting)))

    def heal(self) -> None:
        self.calls.append(("heal", None))


class Cluster:
    def __init__(self) -> None:
        self.net = RecordingNet()


def test_packet_loss_validates_resolves_and_applies() -> None:
    kind = PacketLoss()
    kind.validate({"probability": 0.2, "links": [["n1", "n2"], ["client", "n3"]]}, CTX)
    with pytest.raises(ParamError, match=r"expected a number in \(0, 1\]") as e:
        kind.validate({"probability": 0}, CTX)
    assert e.value.field == ("probability",)
    with pytest.raises(ParamError, match="no link") as e:
        kind.validate({"links": [["n1", "n1"]]}, CTX)
    assert e.value.field == ("links", 0)
    with pytest.raises(ParamError, match="not a field of packet-loss"):
        kind.validate({"latency": 3}, CTX)
    a = kind.random_params(random.Random(4), CTX, {"probability": 0.5})
    assert a == kind.random_params(random.Random(4), CTX, {"probability": 0.5})
    picked = kind.nodes(a, CTX)
    assert len(picked) == 3 and all(n in picked for pair in a["links"] for n in pair if n != "client")
    c = Cluster()
    assert kind.start(c, {"probability": 0.5, "links": [["n1", "n2"]]}) == {
        "links": [["n1", "n2"]],
        "probability": 0.5,
    }
    kind.stop(c, {})
    assert c.net.calls == [("loss", ([("n1", "n2")], 0.5)), ("heal", None)]
    assert list(kind.smaller({"links": [["n1", "n2"], ["n2", "n1"]]}, CTX)) == [
        {"links": [["n1", "n2"]]},
        {"links": [["n2", "n1"]]},
    ]


def test_netem_validates_its_setting_and_applies_it() -> None:
    kind = NetemFault()
    kind.validate({"delay": 50, "jitter": 5, "links": [["n1", "n2"]]}, CTX)
    with pytest.raises(ParamError, match="at least one of delay"):
        kind.validate({"links": [["n1", "n2"]]}, CTX)
    with pytest.raises(ParamError, match="reorder: needs a delay") as e:
        kind.validate({"reorder": 10}, CTX)
    assert e.value.field == ("reorder",)
    with pytest.raises(ParamError, match="at most 100"):
        kind.validate({"duplicate": 150}, CTX)
    c = Cluster()
    out = kind.start(c, {"delay": 20, "duplicate": 1, "links": [["n2", "n3"]]})
    assert out == {"links": [["n2", "n3"]], "netem": "delay 20ms duplicate 1%"}
    assert c.net.calls[0][0] == "netem"


def test_netem_tc_script_filters_each_destination_into_the_shaped_class() -> None:
    text = tc_script(Netem(delay=100, jitter=10, reorder=25), ["10.0.0.4", "10.0.0.3", "10.0.0.4"])
    lines = text.splitlines()
    assert lines[0] == "qdisc add dev eth0 root handle 1: htb default 1"
    assert "qdisc add dev eth0 parent 1:2 handle 20: netem delay 100ms 10ms reorder 25%" in lines
    assert [x.split()[-3] for x in lines if x.startswith("filter")] == ["10.0.0.3/32", "10.0.0.4/32"]
    assert CLEAR == "qdisc del dev eth0 root\n"
    with pytest.raises(BadInput, match="jitter: needs a delay"):
        Netem(jitter=3)
