"""The protocol of a fault kind, the ``Kind`` base class, and the small helpers the bundled kinds share.

A fault step is plain data: ``{"kind", "at", "duration", ...params}``. A kind validates its params before
anything runs (raising ``ParamError`` with the field path inside the step, which ``harness.loader`` turns
into file:line), draws random params from the schedule's one seeded ``random.Random`` (so the same seed gives
the same schedule), starts (applies) and stops (heals) itself on a live cluster (returning the JSON-able
details recorded in the fault op), and lists smaller variants of its params for shrinking (fewer nodes).

A kind also declares what the harness needs to know about it without running it: its ``parameters`` and
``random_parameters`` (``harness.faults.params.Param``; the JSON schema is generated from them), the
``capability`` it needs of the cluster, its ``effect`` on its nodes (``down``, ``paused`` or none:
recorded with each fault op, so the report knows it from the bundle alone) and a one-line ``description``.
Those members are optional: a kind written against the older protocol (no declarations) keeps working, and
the accessors below (``parameters_of``, ``effect_of``, ...) give the defaults. ``Kind`` is the base class a
new kind subclasses: it validates, draws and shrinks from the declarations, so it writes only ``start`` and
``stop``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness.faultop import EFFECTS
from harness.faults.params import Param, ParamError, check_params, with_defaults
from harness.names import CLIENT

if TYPE_CHECKING:
    from harness.platform import Cluster

__all__ = [
    "FaultContext",
    "FaultKind",
    "Kind",
    "AMONG",
    "Param",
    "ParamError",
    "check_links",
    "check_nodes",
    "drop_one",
    "random_spec",
]


@dataclass(frozen=True)
class FaultContext:
    """What a fault kind may know before the cluster runs: node names and directed links (``Topology``).

    ``links`` holds the peer links and the client links ``("client", node)``, so a link fault can cut or slow
    a holder's or a producer's way to the service as well as the links between nodes. ``roles``: the role
    names the target may report at run time (what ``select`` may name, ``harness.faults.roles``);
    ``role_sets``: the roles whose nodes are fixed before the run (declared ``roles:``), which ``among`` may
    name.
    """

    nodes: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    roles: tuple[str, ...] = ()
    role_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, topology: Any) -> FaultContext:
        """From a ``harness.target.Topology``: its nodes, its links, then one client link per client node."""
        clients = getattr(topology, "client_nodes", ())  # a user's stand-in topology may name no clients
        links = [tuple(x) for x in topology.links] + [(CLIENT, n) for n in clients]
        return cls(tuple(getattr(topology, "nodes", ())), tuple((str(a), str(b)) for a, b in links))


@runtime_checkable
class FaultKind(Protocol):
    """One kind of fault (the members every kind has; the declarations of the module docstring are optional).
    ``capability`` is what the cluster must offer (``cluster.capabilities``); ``network`` kinds share the one
    network state, so two of them never overlap in time."""

    name: str
    capability: str
    network: bool
    random_keys: tuple[str, ...]

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None: ...

    def random_params(
        self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]: ...

    def start(self, cluster: Cluster, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None: ...

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]: ...


def one_node_unless_named(rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A random step's params: ``spec`` without ``among``, and ``nodes`` (unless it names them) one node drawn
    from ``among`` (default: every node) by the schedule's seeded source."""
    out = {k: v for k, v in spec.items() if k != "among"}
    if not out.get("nodes"):
        out["nodes"] = [rng.choice(list(spec.get("among") or ctx.nodes))]
    return out


def check_nodes(params: Mapping[str, Any], key: str, ctx: FaultContext) -> list[str]:
    """The node list ``params[key]`` (empty when absent), every name checked against the cluster."""
    names = params.get(key) or []
    for i, n in enumerate(names):
        if n not in ctx.nodes:
            raise ParamError((key, i), f"unknown node {n!r}; this cluster has nodes {', '.join(ctx.nodes)}")
    return list(names)


def check_links(params: Mapping[str, Any], ctx: FaultContext) -> None:
    """Every ``[src, dst]`` of ``params["links"]`` must be a link of the topology."""
    for i, pair in enumerate(params.get("links") or []):
        if list(pair) not in [list(x) for x in ctx.links]:
            raise ParamError(("links", i), f"no link {pair!r} in the topology; links are [src, dst] pairs")


def drop_one(names: Sequence[str]) -> Iterator[list[str]]:
    """Every list with one name fewer (for shrinking), never an empty one."""
    if len(names) <= 1:
        return
    for i in range(len(names)):
        yield [n for j, n in enumerate(names) if j != i]


def random_spec(kind: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a random schedule's params (shapes, mode, toxics, ...) that concerns ``kind``."""
    keys = {p.name for p in random_parameters_of(kind)}
    return {k: v for k, v in params.items() if k in keys}


AMONG = Param(
    "among",
    "nodeset",
    "Faults that pick their own nodes pick them among these nodes, or the nodes of this declared role "
    "(default: any node).",
)


def allowed_nodes(params: Mapping[str, Any], ctx: FaultContext) -> list[str]:
    """The nodes ``among`` allows (a node list, or a declared role's nodes), every node when absent."""
    among = params.get("among")
    if isinstance(among, str):
        return list(dict(ctx.role_sets).get(among, ()))
    return list(among or ctx.nodes)


def check_among(params: Mapping[str, Any], ctx: FaultContext) -> None:
    """``among`` names known nodes, or a role whose nodes are fixed before the run."""
    among = params.get("among")
    if isinstance(among, str):
        sets = dict(ctx.role_sets)
        if not sets.get(among):
            valid = ", ".join(sets) or "none declared"
            raise ParamError(("among",), f"unknown role {among!r} (a role with fixed nodes); roles: {valid}")
    elif among is not None:
        check_nodes(params, "among", ctx)


def parameters_of(kind: Any) -> tuple[Param, ...] | None:
    """The step fields ``kind`` declares; None for a kind of the older protocol (its steps stay open)."""
    declared = getattr(kind, "parameters", None)
    return tuple(declared) if declared is not None else None


def random_parameters_of(kind: Any) -> tuple[Param, ...]:
    """The ``random:`` keys ``kind`` reads: declared, or its older ``random_keys`` (of any type)."""
    declared = getattr(kind, "random_parameters", None)
    if declared is not None:
        return tuple(declared)
    return tuple(Param(str(k), "any") for k in getattr(kind, "random_keys", ()))


def effect_of(kind: Any) -> str | None:
    """``down`` / ``paused`` when ``kind`` takes its nodes down or pauses them for the fault, else None."""
    effect = getattr(kind, "effect", None)
    return effect if effect in EFFECTS else None


def description_of(kind: Any) -> str:
    """The kind's one-line description (its declared one, else the first line of its docstring)."""
    text = getattr(kind, "description", None) or getattr(kind, "__doc__", None) or ""
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


class Kind:
    """A base for new fault kinds: every declaration with its default, and validate / random_params /
    nodes / smaller derived from ``parameters`` and ``random_parameters``. A subclass sets ``name``,
    ``capability``, ``parameters`` (and what else applies) and writes ``start`` and ``stop``.

    Derived behaviour: ``validate`` checks the fields against the declarations and every ``nodes`` field's
    names against the cluster's; ``random_params`` keeps the step's fields (the random keys that are not
    step fields, like ``among``, only steer the draw), fills in defaults and, when a ``nodes`` field is left
    empty, picks one node with the seeded source (among ``among`` when given); ``nodes`` is the union of the
    ``nodes`` fields; ``smaller`` drops one node at a time."""

    name = ""
    capability = ""
    description = ""
    network = False
    effect: str | None = None
    parameters: tuple[Param, ...] = ()
    random_parameters: tuple[Param, ...] = ()

    @property
    def random_keys(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.random_parameters)

    def _node_fields(self) -> list[str]:
        return [p.name for p in self.parameters if p.type == "nodes"]

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        check_params(self.parameters, params, self.name)
        for key in self._node_fields():
            check_nodes(params, key, ctx)

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        only_random = {p.name for p in self.random_parameters} - {p.name for p in self.parameters}
        out = with_defaults(self.parameters, {k: v for k, v in spec.items() if k not in only_random})
        among = allowed_nodes(spec, ctx)
        for key in self._node_fields():
            if not out.get(key) and among:
                out[key] = [rng.choice(among)]
        return out

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(n for key in self._node_fields() for n in params.get(key) or [])

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        for key in self._node_fields():
            for fewer in drop_one(params.get(key) or []):
                yield {**params, key: fewer}

    def start(self, cluster: Cluster, params: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None:
        raise NotImplementedError
