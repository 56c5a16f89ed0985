"""The public target API: what a system under test provides so the harness can run, break and check it.

The bundled targets (``targets/kv``, ``targets/queue``, ``targets/lock``) use exactly this API, registered
through the ``chaos_harness.targets`` entry-point group, as a user's own target would.

A target says which nodes it has and which links between them carry traffic (``Topology``), how to start each
node (``node_spec``: an argv run as a subprocess on the ``local`` backend or inside the target image on the
``docker`` backend, at the addresses the harness chose, each peer reached through a Toxiproxy proxy), and how
a harness worker talks to it (``client``). Clients never raise for an operation's failure: they return an
``Outcome`` that is honest about uncertainty (``fail`` only when the operation certainly did not happen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True, order=True)
class Addr:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Topology:
    """A cluster's nodes, the directed links between them (one proxy each) and the nodes clients reach."""

    nodes: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    client_nodes: tuple[str, ...]

    @classmethod
    def full_mesh(cls, nodes: Sequence[str]) -> Topology:
        ns = tuple(nodes)
        return cls(ns, tuple((a, b) for a in ns for b in ns if a != b), ns)


@dataclass(frozen=True)
class NodeContext:
    """What a node needs to start; ``peers[j]`` is the address (a mesh proxy) this node uses to reach j."""

    node: str
    nodes: tuple[str, ...]
    listen: Addr
    peers: Mapping[str, Addr]
    data_dir: str
    flags: frozenset[str] = frozenset()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeSpec:
    """How to start a node: ``argv[0] == "python3"`` becomes the local interpreter on the local backend.

    The working directory is the project root locally and ``/app`` in the image; both hold ``targets/``.
    """

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a client call returned: ``ok`` (happened), ``fail`` (certainly not), ``info`` (unknown)."""

    type: Literal["ok", "fail", "info"]
    value: Any = None
    error: str | None = None


@runtime_checkable
class Client(Protocol):
    def invoke(self, f: str, value: Any) -> Outcome: ...

    def close(self) -> None: ...


@runtime_checkable
class Target(Protocol):
    """A system under test. ``planted_bugs`` names the bugs it offers; all are off unless an experiment names
    them, and the ones switched on reach each node only through ``NodeContext.flags``."""

    name: str
    planted_bugs: frozenset[str]

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology: ...

    def node_spec(self, ctx: NodeContext) -> NodeSpec: ...

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Client:
        """A client for one worker; ``nodes`` maps each client-reachable node to its client-side proxy."""
        ...


class WorkerPlan(Protocol):
    """One worker's stream of operations. ``next`` gets the previous call and its outcome (``None`` at first)
    and returns the next ``(f, value)`` to invoke, or ``None`` when this worker is done."""

    def next(self, last: tuple[str, Any, Outcome] | None) -> tuple[str, Any] | None: ...


@runtime_checkable
class Workload(Protocol):
    """What the workers do against a target, and how the history is checked afterwards.

    ``final_ops`` run after the faults are healed and the cluster has recovered (final reads, a queue drain,
    reading the protected resource's log); their completions are in the history like any other op.
    ``checkers`` names the checkers (with options) that fit this workload's history by default.
    """

    name: str

    def plan(self, process: int, rng: Any) -> WorkerPlan: ...

    def final_ops(self) -> Sequence[tuple[str, Any]]: ...

    def checkers(self) -> Mapping[str, Mapping[str, Any]]: ...
