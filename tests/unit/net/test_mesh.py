"""The mesh against an in-memory stand-in for Toxiproxy's API: which proxies exist, which toxics and which
disabled proxies a partition or link fault produces, and that heal clears everything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from harness.errors import BadInput
from harness.net.grudge import isolate, one_way
from harness.net.mesh import Mesh
from harness.net.toxiproxy import ProxyDef
from harness.target import Addr, Topology


class MemoryApi:
    """Holds proxies and toxics the way a Toxiproxy server would."""

    def __init__(self) -> None:
        self.addr = Addr("127.0.0.1", 8474)
        self.enabled: dict[str, bool] = {}
        self.toxics: dict[str, dict[str, tuple[str, str, dict[str, Any]]]] = {}
        self.upstream: dict[str, str] = {}

    def populate(self, proxies: Sequence[ProxyDef]) -> dict[str, str]:
        out = {}
        for i, p in enumerate(proxies):
            self.enabled[p.name] = p.enabled
            self.toxics[p.name] = {}
            self.upstream[p.name] = p.upstream
            host = p.listen.rsplit(":", 1)[0]
            out[p.name] = f"{host}:{30000 + i}" if p.listen.endswith(":0") else p.listen
        return out

    def set_enabled(self, name: str, enabled: bool) -> None:
        self.enabled[name] = enabled

    def add_toxic(self, proxy: str, name: str, kind: str, attributes: Mapping[str, Any], stream: str) -> None:
        assert name not in self.toxics[proxy], f"duplicate toxic {name} on {proxy}"
        self.toxics[proxy][name] = (kind, stream, dict(attributes))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self.toxics[proxy].pop(name, None)

    def reset(self) -> None:
        for p in self.toxics:
            self.toxics[p] = {}
            self.enabled[p] = True

    def clean(self) -> bool:
        return all(self.enabled.values()) and not any(self.toxics.values())


NODES = ("n1", "n2", "n3")
UP = {n: Addr("127.0.0.1", 7000 + i) for i, n in enumerate(NODES)}


def mesh() -> tuple[Mesh, MemoryApi]:
    api = MemoryApi()
    m = Mesh.build(api, Topology.full_mesh(NODES), UP, "127.0.0.1", lambda i: 0, "127.0.0.1", "127.0.0.1")  # type: ignore[arg-type]
    return m, api


def test_one_proxy_per_directed_link_and_per_client_link() -> None:
    m, api = mesh()
    assert len(api.enabled) == 6 + 3
    assert api.upstream["n1_to_n2"] == "127.0.0.1:7001"
    assert set(m.peer_addrs["n1"]) == {"n2", "n3"}
    assert m.client_addrs["n3"].port != m.peer_addrs["n1"]["n3"].port
    assert len({a.port for a in m.client_addrs.values()}) == 3


def test_blackhole_partition_adds_timeout_toxics_on_cut_links_only() -> None:
    m, api = mesh()
    m.partition(isolate(NODES, "n1"))
    cut = {p for p, t in api.toxics.items() if t}
    assert cut == {"n1_to_n2", "n1_to_n3", "n2_to_n1", "n3_to_n1"}
    assert api.toxics["n1_to_n2"]["partition_upstream"] == ("timeout", "upstream", {"timeout": 0})
    assert all(api.enabled.values())
    m.heal()
    assert api.clean() and m.grudge == {}


def test_refuse_partition_disables_proxies_and_replacing_undoes_the_previous_one() -> None:
    m, api = mesh()
    m.partition(isolate(NODES, "n1"), mode="refuse")
    assert {p for p, on in api.enabled.items() if not on} == {"n1_to_n2", "n1_to_n3", "n2_to_n1", "n3_to_n1"}
    m.partition(one_way(NODES, ["n2"], ["n3"]), mode="blackhole")
    assert all(api.enabled.values())
    assert {p for p, t in api.toxics.items() if t} == {"n2_to_n3"}
    assert not m.reachable("n2", "n3") and m.reachable("n3", "n2")


def test_link_faults_on_one_link_all_links_and_client_links() -> None:
    m, api = mesh()
    m.link("n1", "n2", kind="latency", latency=200, jitter=10)
    assert api.toxics["n1_to_n2"] == {
        "latency_upstream": ("latency", "upstream", {"latency": 200, "jitter": 10})
    }
    m.link("n1", "n2", kind="latency", latency=50)  # replaces, no duplicate
    assert api.toxics["n1_to_n2"]["latency_upstream"][2]["latency"] == 50
    m.link(None, None, kind="bandwidth", stream="both", rate=10)
    assert all("bandwidth_downstream" in api.toxics[f"{a}_to_{b}"] for a in NODES for b in NODES if a != b)
    assert not api.toxics["client_to_n1"]
    m.link("client", "n1", kind="reset_peer", timeout=100)
    assert "reset_peer_upstream" in api.toxics["client_to_n1"]
    m.heal()
    assert api.clean() and m.links == {}


def test_bad_fault_input_names_what_is_valid() -> None:
    m, _ = mesh()
    with pytest.raises(BadInput, match="expected one of blackhole, refuse"):
        m.partition({}, mode="drop")
    with pytest.raises(BadInput, match="link kind 'jam'"):
        m.link("n1", "n2", kind="jam")
    with pytest.raises(BadInput, match="unknown attribute 'delay'; valid: latency, jitter"):
        m.link("n1", "n2", kind="latency", delay=3)
    with pytest.raises(BadInput, match="link src 'n7'"):
        m.link("n7", "n2", kind="latency", latency=1)
    with pytest.raises(BadInput, match="no such link"):
        m.link("n1", "n1", kind="latency", latency=1)


def test_named_ports_get_one_proxy_each_and_faults_act_on_all_of_them() -> None:
    api = MemoryApi()
    ups = {
        n: {"client": Addr("127.0.0.1", 7000 + i), "peer": Addr("127.0.0.1", 8000 + i)}
        for i, n in enumerate(NODES)
    }
    m = Mesh.build(api, Topology.full_mesh(NODES), ups, "127.0.0.1", lambda i: 0, "127.0.0.1", "127.0.0.1")  # type: ignore[arg-type]
    assert api.upstream["n1_to_n2"] == "127.0.0.1:7001" and api.upstream["n1_to_n2__peer"] == "127.0.0.1:8001"
    assert set(m.peer_ports["n1"]["n2"]) == {"client", "peer"}
    assert m.peer_addrs["n1"]["n2"] == m.peer_ports["n1"]["n2"]["client"]
    assert set(m.client_ports["n3"]) == {"client", "peer"}
    m.partition(one_way(NODES, ["n1"], ["n2"]))
    assert {p for p, t in api.toxics.items() if t} == {"n1_to_n2", "n1_to_n2__peer"}
    m.heal()
    m.link("n2", "n3", kind="latency", latency=5)
    assert {p for p, t in api.toxics.items() if t} == {"n2_to_n3", "n2_to_n3__peer"}


def test_links_left_out_of_the_mesh_refuse_toxics_and_are_not_cut_by_it() -> None:
    api = MemoryApi()
    m = Mesh.build(
        api,
        Topology.full_mesh(NODES),
        UP,
        "127.0.0.1",
        lambda i: 0,
        "127.0.0.1",
        "127.0.0.1",
        peer_links=False,  # type: ignore[arg-type]
    )
    assert set(api.enabled) == {"client_to_n1", "client_to_n2", "client_to_n3"}
    with pytest.raises(BadInput, match="directly"):
        m.link("n1", "n2", kind="latency", latency=1)
    m.link("client", "n2", kind="latency", latency=1)
    m.partition(isolate(NODES, "n1"))  # peer links are cut elsewhere (packet filters): nothing to do here
    assert all(api.enabled.values())
