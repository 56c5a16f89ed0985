"""FakeNet keeps the state a mesh would be in and validates like one."""

from __future__ import annotations

import pytest

from harness.errors import BadInput
from harness.net.base import Net
from harness.net.fake import FakeNet
from harness.net.grudge import one_way


def test_fake_net_tracks_partition_links_and_heal() -> None:
    net = FakeNet(["n1", "n2", "n3"])
    assert isinstance(net, Net)
    net.partition(one_way(net.nodes, ["n1"], ["n2"]), mode="refuse")
    assert not net.reachable("n1", "n2") and net.reachable("n2", "n1") and net.mode == "refuse"
    net.link(None, "n3", kind="latency", latency=100)
    assert set(net.links) == {("n1", "n3"), ("n2", "n3")}
    net.heal()
    assert net.grudge == {} and net.links == {} and net.reachable("n1", "n2")
    assert [c[0] for c in net.calls] == ["partition", "link", "heal"]
    with pytest.raises(BadInput):
        net.partition({"n1": {"zz"}})
