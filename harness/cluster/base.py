"""The backend protocol (what a cluster backend must do) and capability protocols (what it may do).

A backend places the run's Toxiproxy server and nodes somewhere (``local``: subprocesses on 127.0.0.1;
``docker``: containers on a per-run internal network) and says how each party addresses the others. The
platform (``harness.platform``) composes a backend with the mesh; faults ask ``Cluster.capabilities`` instead
of assuming, so a backend that cannot pause is simply not offered pause faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from harness.target import Addr, NodeContext, NodeSpec


@dataclass(frozen=True)
class NodeAddrs:
    """``listen``: what the node binds; ``upstream``: how Toxiproxy reaches it."""

    listen: Addr
    upstream: Addr


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

    def node_addrs(self, node: str) -> NodeAddrs: ...

    def start_node(self, ctx: NodeContext, spec: NodeSpec) -> None: ...

    def direct_addr(self, node: str) -> Addr:
        """How the host reaches the node itself, bypassing the mesh (for readiness checks)."""
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
    caps = {"stop", "start"}
    if isinstance(backend, Killable):
        caps |= {"kill", "restart"}
    if isinstance(backend, Pausable):
        caps |= {"pause"}
    return frozenset(caps)
