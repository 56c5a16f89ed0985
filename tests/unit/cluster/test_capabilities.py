"""Capabilities are registered once (name, protocol, why it may be missing) and derived from what a backend
implements and what its network offers, within what the target allows; ``Cluster.ability`` hands out the
backend typed as a capability's protocol or refuses naming the capability."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pytest

from harness.cluster.base import (
    WHY_MISSING,
    Killable,
    Pausable,
    capabilities_of,
    capability_for,
    explain_missing,
    register_capability,
    unregister_capability,
)
from harness.errors import BadInput
from harness.net.fake import FakeNet
from harness.platform import Cluster


@runtime_checkable
class Rewindable(Protocol):
    """A plugin's own ability: what a new fault kind would need."""

    def rewind(self, node: str, seconds: float) -> None: ...


class _Plain:
    name = "plain"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def stop(self, node: str) -> None:
        self.calls.append(("stop", node))

    def start(self, node: str) -> None:
        self.calls.append(("start", node))


class _Rewinding(_Plain):
    name = "rewinding"

    def rewind(self, node: str, seconds: float) -> None:
        self.calls.append(("rewind", (node, seconds)))


class _Offering:
    def __init__(self, offers: frozenset[str]) -> None:
        self._offers = offers

    def offers(self) -> frozenset[str]:
        return self._offers


@pytest.fixture
def rewind_capability() -> Any:
    cap = register_capability("rewind", Rewindable, "this backend cannot rewind clocks")
    yield cap
    unregister_capability("rewind")
    assert "rewind" not in WHY_MISSING


def _cluster(backend: Any, caps: frozenset[str] | None = None) -> Cluster:
    contexts: Any = {"n1": None, "n2": None}
    return Cluster("r", backend, FakeNet(("n1", "n2")), contexts, caps or capabilities_of(backend))


def test_a_plugin_capability_is_derived_from_its_protocol_and_explains_itself(rewind_capability: Any) -> None:
    assert "rewind" in capabilities_of(_Rewinding()) and "rewind" not in capabilities_of(_Plain())
    assert WHY_MISSING["rewind"] == "this backend cannot rewind clocks"
    assert explain_missing({"rewind"}) == "rewind: this backend cannot rewind clocks"
    assert capability_for(Rewindable) == "rewind"


def test_ability_returns_the_backend_as_the_protocol_or_names_the_capability(rewind_capability: Any) -> None:
    be = _Rewinding()
    _cluster(be).ability(Rewindable).rewind("n1", 2.5)
    assert be.calls == [("rewind", ("n1", 2.5))]
    with pytest.raises(BadInput, match=r"^rewind: the plain backend cannot rewind \(this backend cannot"):
        _cluster(_Plain()).ability(Rewindable)
    # implemented, but the cluster does not offer it (the target does not allow it): refused too
    with pytest.raises(BadInput, match=r"^rewind: this cluster does not offer it \(the target does not"):
        _cluster(be, frozenset({"stop", "start"})).ability(Rewindable)
    with pytest.raises(BadInput, match=r"^kill: the plain backend cannot kill"):
        _cluster(_Plain()).ability(Killable)


def test_registration_is_one_name_one_protocol() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_capability("kill", Pausable, "no")
    with pytest.raises(ValueError, match="not a runtime_checkable Protocol"):
        register_capability("odd", int, "no")
    assert {"kill", "pause", "stop", "start", "restart", "partition", "link", "packet-loss", "netem"} <= set(
        WHY_MISSING
    )


def test_the_network_offers_its_own_and_the_target_narrows_but_never_takes_healing() -> None:
    offered = _Offering(frozenset({"partition", "packet-loss", "netem", "link"}))
    everything = {"stop", "start", "restart", "partition", "packet-loss", "netem", "link"}
    assert capabilities_of(_Plain(), offered) == everything
    assert "partition" in capabilities_of(_Plain(), FakeNet(("n1",)))  # any Net partitions
    narrowed = capabilities_of(_Plain(), offered, allowed={"partition", "restart"})
    assert narrowed == {"stop", "start", "restart", "partition", "packet-loss", "netem"}
    assert capabilities_of(_Plain(), offered, allowed=set()) == {"stop", "start"}


def test_the_bundled_nets_say_what_they_offer() -> None:
    from harness.net.mesh import Mesh
    from harness.net.packet import PacketNet
    from harness.target import Topology

    topo = Topology.full_mesh(["n1", "n2"])
    ips = {"n1": "10.0.0.2", "n2": "10.0.0.3", "client": "10.0.0.1"}
    bare = PacketNet(topo, ips, lambda rules: None, None)
    assert bare.offers() == {"partition", "packet-loss"}
    shaped = PacketNet(topo, ips, lambda rules: None, None, shape=lambda s: None, netem_ok=lambda: True)
    assert shaped.offers() == {"partition", "packet-loss", "netem"}
    mesh: Any = Mesh.__new__(Mesh)
    assert Mesh.offers(mesh) == {"partition", "link"}
    with_mesh = PacketNet(topo, ips, lambda rules: None, mesh)
    assert "link" in with_mesh.offers()


def test_the_bundled_backends_implement_their_abilities_by_protocol() -> None:
    from harness.cluster.base import NetworkHost, NodeStates
    from harness.cluster.docker import DockerBackend
    from harness.cluster.local import LocalBackend

    for cls in (DockerBackend, LocalBackend):
        assert issubclass(cls, Killable) and issubclass(cls, Pausable) and issubclass(cls, NodeStates)
    assert issubclass(DockerBackend, NetworkHost) and not issubclass(LocalBackend, NetworkHost)
    assert DockerBackend.concurrent_calls and not hasattr(LocalBackend, "concurrent_calls")
