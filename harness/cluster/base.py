"""The backend protocol (what a cluster backend must do), the capability protocols (what it may do), their
registration, and the ``Cluster`` protocol (what faults, the nemesis and the runner hold).

A backend places the run's Toxiproxy server and nodes somewhere (``local``: subprocesses on 127.0.0.1;
``docker``: containers on a per-run internal network) and says how each party addresses the others. Backends
are found through the entry-point group ``chaos_harness.backends`` (``harness.cluster.backends``). The
platform (``harness.platform``) composes a backend with the mesh; faults ask ``Cluster.capabilities`` instead
of assuming, so a backend that cannot pause is simply not offered pause faults.

A capability is a name (``kill``, ``pause``, ``packet-loss``, ...) registered once with
``register_capability(name, protocol, why_missing)``: the ``runtime_checkable`` protocol a backend implements
to offer it (``None``: the cluster's network offers it, see ``NetOffers``) and the one clause said when a
cluster lacks it. ``capabilities_of`` derives a cluster's names from what its backend implements and what its
network offers, within what the target allows; ``WHY_MISSING`` is read from the registrations. A plugin that
needs a new ability defines and registers its own protocol in its own module; a backend offers it by
implementing that protocol, and a fault reaches it with ``cluster.ability(TheProtocol)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from harness.net.base import Net
from harness.target import Addr, ClientContext, NodeContext, NodeSpec, Topology

if TYPE_CHECKING:  # the Toxiproxy mesh (and its HTTP client) is not loaded just to name it
    from harness.net.mesh import Mesh


@dataclass(frozen=True)
class NodeAddrs:
    """Where a node is. ``listen``: what it binds for its client port; ``upstream``: how Toxiproxy reaches
    that port. Per named port: ``ports`` (the number it binds), ``upstreams`` (as Toxiproxy reaches it),
    ``direct`` (as its peers dial it without a proxy) and ``client_direct`` (as the host's clients dial it);
    ``host`` is the node's own address as its peers reach it."""

    listen: Addr
    upstream: Addr
    host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=dict)
    upstreams: Mapping[str, Addr] = field(default_factory=dict)
    direct: Mapping[str, Addr] = field(default_factory=dict)
    client_direct: Mapping[str, Addr] = field(default_factory=dict)


@dataclass(frozen=True)
class ProxyHosts:
    """Where proxies listen (in Toxiproxy's namespace); the host names nodes and the host reach them at."""

    listen_host: str
    node_host: str
    client_host: str


@runtime_checkable
class Stoppable(Protocol):
    """Every backend: a graceful stop and a start again (so a restart), its data dir intact."""

    def stop(self, node: str) -> None:
        """Graceful stop (SIGTERM, then SIGKILL after a grace period); ``start`` brings it back."""
        ...

    def start(self, node: str) -> None:
        """Start a stopped or killed node again with the same spec and data."""
        ...


@runtime_checkable
class Backend(Stoppable, Protocol):
    """A cluster backend, constructed by its entry point as ``cls(run)`` (``run``: a
    ``harness.cluster.rundir.RunDir``, plus ``base_port=`` when a caller gives one)."""

    name: str
    data_root: str  # where node data dirs live, as the node sees them

    def start_toxiproxy(self) -> Addr:
        """Start the run's Toxiproxy server; returns its API address as the host reaches it."""
        ...

    def proxy_hosts(self) -> ProxyHosts: ...

    def proxy_port(self, index: int) -> int:
        """The listen port of the index-th proxy (0: let Toxiproxy choose a free one)."""
        ...

    def node_addrs(self, node: str, ports: Mapping[str, int]) -> NodeAddrs:
        """Place ``node`` (its named ``ports``, the first the client's) and say how everyone reaches it."""
        ...

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None: ...

    def direct_addr(self, node: str, port: str | None = None) -> Addr:
        """How the host reaches the node's named ``port`` (default the client port), bypassing the mesh."""
        ...

    def run_command(self, node: str, argv: tuple[str, ...], env: Mapping[str, str], timeout: float) -> int:
        """Run ``argv`` beside the node (docker: inside its container; local: on the host); its exit code."""
        ...

    def running(self, node: str) -> bool: ...

    def logs(self) -> dict[str, str]: ...

    def close(self) -> None:
        """Remove every process / container / network of the run. Idempotent; never raises."""
        ...


@runtime_checkable
class Killable(Protocol):
    def kill(self, node: str) -> None:
        """Crash the node (SIGKILL): no chance to flush or say goodbye."""
        ...


@runtime_checkable
class Pausable(Protocol):
    def pause(self, node: str) -> None:
        """Freeze the node (SIGSTOP / docker pause): connections stay open, requests hang."""
        ...

    def resume(self, node: str) -> None: ...



@runtime_checkable
class NodeStates(Protocol):
    def states(self) -> dict[str, str]:
        """Every node's state at once: ``running``, ``paused`` or ``down`` (what the nemesis's watch
        polls)."""
        ...


@runtime_checkable
class Concurrent(Protocol):
    """A backend whose per-node calls (placing, starting) may run in parallel threads (each is a round trip
    to an engine); without it they run one after another."""

    concurrent_calls: bool


@runtime_checkable
class NetOffers(Protocol):
    def offers(self) -> frozenset[str]:
        """The capabilities this network offers now (``partition``, ``link``, ``packet-loss``, ...)."""
        ...


@runtime_checkable
class NetworkHost(Protocol):
    """A backend that owns its nodes' network (docker: a namespace per node) and so builds the cluster's
    ``Net`` itself, e.g. packet filters; ``mesh``: the run's Toxiproxy proxies, None when no link is proxied.
    A backend without it gets the Toxiproxy mesh, and then every link is proxied (that is how it partitions).
    """

    def build_net(self, topology: Topology, mesh: Mesh | None) -> Net: ...


@dataclass(frozen=True)
class Placement:
    """How a backend places nodes, as a plan made before anything starts shows it (``chaos run --dry-run``).

    ``own_hosts``: every node is its own host, named by the node, binding the declared ports (docker);
    otherwise nodes share loopback and ports are allocated when the run starts (local). ``images``: nodes run
    from images. ``data_root``: where node data dirs live (``$RUN``: the run's directory)."""

    own_hosts: bool = False
    images: bool = False
    data_root: str = "$RUN/data"


@runtime_checkable
class Placed(Protocol):
    """A backend class that says how it places nodes (without it: the local way, ``Placement()``)."""

    placement: Placement


def placement_of(backend: object) -> Placement:
    return backend.placement if isinstance(backend, Placed) else Placement()


@dataclass(frozen=True)
class Capability:
    """One registered capability: its ``name``, the protocol a backend implements to offer it (None: the
    cluster's network offers it) and why a cluster may lack it (one clause)."""

    name: str
    protocol: type | None
    why_missing: str


_REGISTERED: dict[str, Capability] = {}
_WHY: dict[str, str] = {}
# Why a cluster may lack a capability, said once (the runner's refusal, docs/platform.md): read from the
# registrations, so a plugin's capability explains itself too.
WHY_MISSING: Mapping[str, str] = MappingProxyType(_WHY)


def register_capability(name: str, protocol: type | None, why_missing: str) -> Capability:
    """Register capability ``name``: offered by a backend implementing ``protocol`` (a ``runtime_checkable``
    Protocol; None: offered by the cluster's network, ``NetOffers``). Registering a name again with the same
    protocol replaces its text; with another protocol it is a ``ValueError`` (one name, one meaning)."""
    if protocol is not None and not getattr(protocol, "_is_runtime_protocol", False):
        raise ValueError(f"capability {name!r}: {protocol!r} is not a runtime_checkable Protocol")
    old = _REGISTERED.get(name)
    if old is not None and old.protocol is not protocol:
        raise ValueError(f"capability {name!r} is already registered with {old.protocol!r}")
    cap = Capability(name, protocol, why_missing)
    _REGISTERED[name] = cap
    _WHY[name] = why_missing
    return cap


def unregister_capability(name: str) -> None:
    """Forget capability ``name`` (a plugin's tests undo their registration with it)."""
    _REGISTERED.pop(name, None)
    _WHY.pop(name, None)


def registered_capabilities() -> tuple[Capability, ...]:
    return tuple(_REGISTERED.values())


def capability_for(protocol: type) -> str:
    """The capability name registered for ``protocol`` (its class name when none is)."""
    for cap in _REGISTERED.values():
        if cap.protocol is protocol:
            return cap.name
    return protocol.__name__


register_capability("stop", Stoppable, "this backend cannot stop and start nodes")
register_capability("start", Stoppable, "this backend cannot stop and start nodes")
register_capability("restart", Stoppable, "this backend cannot stop and start nodes")
register_capability("kill", Killable, "this backend cannot crash nodes")
register_capability("pause", Pausable, "this backend cannot freeze nodes")
register_capability("partition", None, "the target does not offer partitions")
register_capability(
    "link",
    None,
    "link toxics act only on links routed through Toxiproxy proxies (local: all; docker: the classes "
    "of links the experiment's link faults name, which the runner proxies)",
)
register_capability(
    "packet-loss",
    None,
    "packet loss needs packet filters in the nodes' network namespaces: the docker backend",
)
register_capability(
    "netem",
    None,
    "netem needs the docker backend on a kernel with sch_netem (chaos doctor: netem); the Toxiproxy "
    "link toxics (latency, jitter, bandwidth) are the alternative",
)
# Offered by a backend that prepared them before its nodes started (harness.cluster.prepare: the platform adds
# what ``Preparable.prepared()`` holds, and the readiness check takes away what a node cannot have).
register_capability(
    "clock", None, "clock faults need nodes started under libfaketime: the local and docker backends"
)
register_capability(
    "disk",
    None,
    "disk faults need the node's data directory behind the FUSE fault layer: the local backend with "
    "/dev/fuse, fusermount3 and mfusepy, or docker with a local engine (chaos doctor: disk faults)",
)
register_capability(
    "corrupt",
    None,
    "corrupting a file needs the node's data directory where the harness can reach it: the local and "
    "docker backends",
)

# packet loss and netem are partial partitions: a target that allows partitions allows them
_PARTIAL_PARTITIONS = frozenset({"packet-loss", "netem"})
# what heals a process fault (a killed node is started again): no target's list takes it away
_HEALING = frozenset({"stop", "start"})


def capabilities_of(
    backend: object, net: object | None = None, allowed: Iterable[str] | None = None
) -> frozenset[str]:
    """A cluster's capabilities: every registered capability whose protocol ``backend`` implements, plus what
    ``net`` offers (``NetOffers``; any other ``Net`` offers ``partition``), within what the target allows
    (``allowed``; None: everything; ``stop`` and ``start``, which heal, are never taken away)."""
    caps = {
        c.name for c in _REGISTERED.values() if c.protocol is not None and isinstance(backend, c.protocol)
    }
    if isinstance(net, NetOffers):
        caps |= net.offers()
    elif isinstance(net, Net):
        caps.add("partition")
    if allowed is not None:
        permitted = frozenset(allowed)
        caps &= permitted | _HEALING | (_PARTIAL_PARTITIONS if "partition" in permitted else frozenset())
    return frozenset(caps)


def explain_missing(missing: set[str] | frozenset[str], found: Mapping[str, str] | None = None) -> str:
    """One clause per missing capability: why a cluster may not offer it (``found``: what this cluster
    found out, e.g. the readiness check of a prepared ability, before the general reasons)."""
    why = {**WHY_MISSING, **(found or {})}
    return "; ".join(f"{c}: {why.get(c, 'not offered by this target or backend')}" for c in sorted(missing))


T = TypeVar("T")


@runtime_checkable
class Cluster(Protocol):
    """What faults, the nemesis, the workers and the runner hold: a running cluster. ``harness.platform``'s
    ``open_cluster`` yields one; tests may pass any object with these members."""

    @property
    def nodes(self) -> tuple[str, ...]: ...

    @property
    def net(self) -> Net: ...

    @property
    def capabilities(self) -> frozenset[str]: ...

    @property
    def client_addrs(self) -> Mapping[str, Addr]:
        """Per client-reachable node, the address of its client port as clients dial it."""
        ...

    def client_context(self, timeout: float = 5.0) -> ClientContext: ...

    def wait_ready(self, timeout: float = 30) -> float: ...

    def kill(self, node: str) -> None: ...

    def restart(self, node: str) -> None: ...

    def stop(self, node: str) -> None: ...

    def start(self, node: str) -> None: ...

    def pause(self, node: str) -> None: ...

    def resume(self, node: str) -> None: ...

    def logs(self) -> dict[str, str]: ...

    def ability(self, protocol: type[T]) -> T:
        """The backend typed as ``protocol`` (a registered capability's), or ``BadInput`` naming the
        capability when this cluster does not offer it."""
        ...
