"""The protocol of a fault kind, and the small helpers the bundled kinds share.

A fault step is plain data: ``{"kind", "at", "duration", ...params}``. A kind validates its params before
anything runs (raising ``ParamError`` with the field path inside the step, which ``harness.loader`` turns
into file:line), draws random params from the schedule's one seeded ``random.Random`` (so the same seed gives
the same schedule), starts and stops itself on a live cluster (returning the JSON-able details recorded in the
nemesis op), and lists smaller variants of its params for shrinking (fewer nodes involved).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from harness.names import CLIENT


class ParamError(Exception):
    """A fault parameter is wrong; ``field`` is its path inside the step, e.g. ``("nodes", 1)``."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FaultContext:
    """What a fault kind may know before the cluster runs: node names and directed links (``Topology``).

    ``links`` holds the peer links and the client links ``("client", node)``, so a link fault can cut or slow
    a holder's or a producer's way to the service as well as the links between nodes.
    """

    nodes: tuple[str, ...]
    links: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, topology: Any) -> FaultContext:
        """From a ``harness.target.Topology``: its nodes, its links, then one client link per client node."""
        clients = getattr(topology, "client_nodes", ())  # a user's stand-in topology may name no clients
        links = [tuple(x) for x in topology.links] + [(CLIENT, n) for n in clients]
        return cls(tuple(getattr(topology, "nodes", ())), tuple((str(a), str(b)) for a, b in links))


@runtime_checkable
class FaultKind(Protocol):
    """One kind of fault. ``capability`` is what the cluster must offer (``cluster.capabilities``);
    ``network`` kinds share the one network state, so two of them never overlap in time."""

    name: str
    capability: str
    network: bool
    random_keys: tuple[str, ...]

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None: ...

    def random_params(
        self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]: ...

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None: ...

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]: ...


def check_nodes(params: Mapping[str, Any], key: str, ctx: FaultContext) -> list[str]:
    """The node list ``params[key]`` (empty when absent), every name checked against the cluster."""
    names = params.get(key) or []
    for i, n in enumerate(names):
        if n not in ctx.nodes:
            raise ParamError((key, i), f"unknown node {n!r}; this cluster has nodes {', '.join(ctx.nodes)}")
    return list(names)


def drop_one(names: Sequence[str]) -> Iterator[list[str]]:
    """Every list with one name fewer (for shrinking), never an empty one."""
    if len(names) <= 1:
        return
    for i in range(len(names)):
        yield [n for j, n in enumerate(names) if j != i]


def random_spec(kind: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a random schedule's params (shapes, mode, toxics, ...) that concerns ``kind``."""
    return {k: v for k, v in params.items() if k in getattr(kind, "random_keys", ())}
