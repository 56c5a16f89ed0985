"""The additive parts of the public target API: named ports, readiness and image specs, the client and
workload context (passed only to those that take it), the node on an outcome, and which links a schedule
needs proxied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from harness.cluster import image
from harness.faults.event import FaultEvent
from harness.faults.link import proxied_links
from harness.target import (
    Addr,
    ClientContext,
    Completion,
    ImageBuild,
    NodeSpec,
    Readiness,
    make_client,
    make_workload,
    target_ports,
)


class Plain:
    pass


class TwoPorts:
    ports = {"client": 2379, "peer": 2380}


def test_ports_default_order_and_checks() -> None:
    assert target_ports(Plain()) == {"client": 7000}
    assert list(target_ports(TwoPorts())) == ["client", "peer"]
    for bad, msg in [
        ({}, "at least one"),
        ({"a b": 1}, "port name"),
        ({"c": 0}, "1..65535"),
        ({"a": 1, "b": 1}, "share"),
    ]:
        t = Plain()
        t.ports = bad  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match=msg):
            target_ports(t)


def test_readiness_and_image_specs_check_themselves() -> None:
    assert Readiness().kind == "tcp" and Readiness().port == "client"
    with pytest.raises(ValueError, match="needs argv"):
        Readiness(kind="command")
    with pytest.raises(ValueError, match="expected one of tcp, http, command"):
        Readiness(kind="udp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must start with '/'"):
        Readiness(kind="http", path="health")
    with pytest.raises(ValueError, match="not a Debian package name"):
        ImageBuild(packages=("redis-server; rm -rf /",))
    assert NodeSpec(("x",)).image is None and NodeSpec(("x",)).ready is None
    assert Completion("ok").node is None and Completion("ok", node="n2").node == "n2"


def test_declared_image_hash_covers_base_and_spec() -> None:
    spec = ImageBuild(packages=("etcd-server",))
    text = image.node_dockerfile(spec)
    assert "apt-get install -y --no-install-recommends etcd-server" in text and text.startswith(
        "ARG BASE\nFROM ${BASE}"
    )
    h = image.build_hash("sha256:a", spec)
    assert h == image.build_hash("sha256:a", ImageBuild(packages=("etcd-server",)))
    assert h != image.build_hash("sha256:b", spec)
    assert h != image.build_hash("sha256:a", ImageBuild(packages=("etcd-server",), lines=("RUN true",)))


class OldClientTarget:
    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> tuple[Any, ...]:
        return (nodes, process, timeout)


class NewClientTarget:
    def client(
        self, nodes: Mapping[str, Addr], process: int, timeout: float, *, context: ClientContext
    ) -> Any:
        return context


class KwClientTarget:
    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float, **kw: Any) -> Any:
        return kw["context"]


def test_context_reaches_clients_and_workloads_that_take_it_only() -> None:
    ctx = ClientContext(flags=frozenset({"stale-read"}), options={"x": 1}, nodes=("n1",), backend="docker")
    nodes = {"n1": Addr("10.0.0.2", 7000)}
    assert make_client(OldClientTarget(), nodes, 3, 1.0, ctx) == (nodes, 3, 1.0)
    assert make_client(NewClientTarget(), nodes, 3, 1.0, ctx) is ctx
    assert make_client(KwClientTarget(), nodes, 3, 1.0, ctx) is ctx

    class OldWorkload:
        def __init__(self, options: Mapping[str, Any] | None = None) -> None:
            self.options = options

    class NewWorkload:
        def __init__(self, options: Mapping[str, Any], context: ClientContext | None = None) -> None:
            self.context = context

    assert make_workload(OldWorkload, {"keys": 2}, ctx).options == {"keys": 2}
    assert make_workload(NewWorkload, {}, ctx).context.flags == {"stale-read"}


def test_links_that_need_proxies_follow_the_schedule() -> None:
    part = FaultEvent("partition", 1, 1, {"shape": "isolate"})
    client_link = FaultEvent("link", 1, 1, {"toxic": "timeout", "links": [["client", "n1"]]})
    peer_link = FaultEvent("link", 1, 1, {"toxic": "latency", "links": [["n1", "n2"]]})
    assert proxied_links([part]) == frozenset()
    assert proxied_links([part, client_link]) == {"clients"}
    assert proxied_links([client_link, peer_link]) == {"clients", "peers"}
    assert proxied_links([FaultEvent("link", 1, 1, {"toxic": "latency"})]) == {"clients", "peers"}


def test_outcome_is_a_deprecated_alias_of_completion() -> None:
    """Clients written against the old name keep working: the same class, so ``isinstance`` and
    construction behave identically (renamed in 0.2.0; docs/own-target.md)."""
    from harness import target

    assert target.Outcome is target.Completion
    old = target.Outcome("ok", 1, node="n1")
    assert isinstance(old, Completion) and old == Completion("ok", 1, None, "n1")
