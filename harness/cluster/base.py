"""The backend protocol (what a cluster backend must do) and capability protocols (what it may do).

A backend places the run's Toxiproxy server and nodes somewhere (``local``: subprocesses on 127.0.0.1;
``docker``: containers on a per-run internal network) and says how each party addresses the others. The
platform (``harness.platform``) composes a backend with the mesh; faults ask ``Cluster.capabilities`` instead
of assuming, so a backend that cannot pause is simply not offered pause faults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from harness.target import Addr, NodeContext, NodeSpec


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
class Backend(Protocol):
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

    def stop(self, node: str) -> None:
        """Graceful stop (SIGTERM, then SIGKILL after a grace period); ``start`` brings it back."""
        ...

    def start(self, node: str) -> None:
        """Start a stopped or killed node again with the same spec and data."""
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


def capabilities_of(backend: object) -> frozenset[str]:
    """What a backend's process controls offer: every backend stops and starts (so restarts) a node."""
    caps = {"stop", "start", "restart"}
    if isinstance(backend, Killable):
        caps |= {"kill"}
    if isinstance(backend, Pausable):
        caps |= {"pause"}
    return frozenset(caps)


# Why a cluster may lack a capability, said once (the runner's refusal, docs/platform.md).
WHY_MISSING = {
    "kill": "this backend cannot crash nodes",
    "pause": "this backend cannot freeze nodes",
    "partition": "the target does not offer partitions",
    "link": "link toxics act only on links routed through Toxiproxy proxies (local: all; docker: the classes "
    "of links the experiment's link faults name, which the runner proxies)",
    "packet-loss": "packet loss needs packet filters in the nodes' network namespaces: the docker backend",
    "clock": "clock faults need nodes started under libfaketime: the local and docker backends",
    "disk": "disk faults need the node's data directory behind the FUSE fault layer: the local backend with "
    "/dev/fuse, fusermount3 and mfusepy (chaos doctor: disk faults)",
    "netem": "netem needs the docker backend on a kernel with sch_netem (chaos doctor: netem); the Toxiproxy "
    "link toxics (latency, jitter, bandwidth) are the alternative",
}


def explain_missing(missing: set[str] | frozenset[str], found: Mapping[str, str] | None = None) -> str:
    """One clause per missing capability: why a cluster may not offer it (``found``: what this cluster
    found out, e.g. the readiness check of a prepared ability, before the general reasons)."""
    why = {**WHY_MISSING, **(found or {})}
    return "; ".join(f"{c}: {why.get(c, 'not offered by this target or backend')}" for c in sorted(missing))
