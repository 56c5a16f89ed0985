"""Network partitions by shape: isolate, halves, majorities-ring, bridge, one-way and explicit groups.

A partition step names a ``shape`` and, depending on it, ``nodes`` (isolate: the nodes cut off; one-way: the
nodes that cannot reach the rest; halves / bridge / majorities-ring: the node order, shuffled by the seed when
absent) or ``groups``. ``isolate`` and ``one-way`` may ``select`` a role instead of naming nodes (the
leader, a minority that holds it...: resolved when the fault starts, ``harness.faults.roles``); ``among``
(nodes, or a declared role such as NATS's servers) limits the partition to those nodes: isolate and
one-way pick (or select) the cut-off nodes among them, the ordered shapes split only them (the others keep
every link). The grudge (node -> nodes it cannot reach) is computed by the pure constructors of
``harness.net.grudge`` and applied with ``cluster.net.partition(grudge, mode)``; ``stop`` heals the network.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import BadInput
from harness.faults.base import AMONG, FaultContext, Param, ParamError, allowed_nodes, check_nodes, drop_one
from harness.faults.roles import SELECT, SELECT_SEED, TARGETS, check_selection, selection_params
from harness.net import grudge as g
from harness.net.base import PARTITION_MODES

if TYPE_CHECKING:
    from harness.platform import Cluster

SHAPES = ("isolate", "halves", "majorities-ring", "bridge", "one-way", "groups")
_MIN_NODES = {"isolate": 2, "halves": 2, "one-way": 2, "groups": 2, "bridge": 3, "majorities-ring": 4}
_ORDERED = ("halves", "majorities-ring", "bridge")
_SELECTABLE = ("isolate", "one-way")


def grudge_of(params: Mapping[str, Any], nodes: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """The grudge a (resolved) partition step describes; an ordered shape splits only ``among``'s nodes."""
    shape = params["shape"]
    among = params.get("among")
    if shape in _ORDERED and isinstance(among, (list, tuple)) and among:
        nodes = tuple(n for n in nodes if n in among)
    chosen = list(params.get("nodes") or [])
    if shape == "isolate":
        return g.groups(nodes, chosen)
    if shape == "one-way":
        return g.one_way(nodes, chosen, [n for n in nodes if n not in chosen])
    if shape == "groups":
        return g.groups(nodes, *params["groups"])
    order = chosen or list(nodes)
    if shape == "halves":
        return g.halves(order)
    if shape == "bridge":
        return g.bridge(order)
    return g.majorities_ring(order)


class Partition:
    """``kind: partition``."""

    name = "partition"
    capability = "partition"
    description = "cut the network by a shape: nodes on different sides cannot reach each other"
    network = True
    effect = None
    parameters = (
        Param("shape", "choice", "Which nodes cannot reach which.", required=True, choices=SHAPES),
        Param(
            "mode",
            "choice",
            "blackhole: traffic hangs; refuse: it fails fast.",
            default="blackhole",
            choices=PARTITION_MODES,
        ),
        Param(
            "nodes",
            "nodes",
            "isolate: the nodes cut off; one-way: the nodes that cannot reach the others; "
            "halves/bridge/majorities-ring: the node order (default: shuffled by the seed).",
        ),
        Param("groups", "groups", "groups: nodes in different groups cannot reach each other."),
        SELECT,
        SELECT_SEED,
        AMONG,
    )
    random_parameters = (
        Param("shapes", "choices", "Partition shapes a random partition is drawn from.", choices=SHAPES[:-1]),
        Param("mode", "choice", "Partition mode of random partitions.", choices=PARTITION_MODES),
        AMONG,
        TARGETS,
    )
    random_keys = tuple(p.name for p in random_parameters)

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        shape = params.get("shape")
        if shape not in SHAPES:
            raise ParamError(("shape",), f"unknown shape {shape!r}; valid: {', '.join(SHAPES)}")
        if params.get("mode", "blackhole") not in PARTITION_MODES:
            raise ParamError(
                ("mode",), f"unknown mode {params.get('mode')!r}; valid: {', '.join(PARTITION_MODES)}"
            )
        check_selection(params, ctx)
        if params.get("select") and shape not in _SELECTABLE:
            raise ParamError(("select",), f"select picks nodes for shape isolate or one-way, not {shape}")
        universe = allowed_nodes(params, ctx)
        split = universe if shape in _ORDERED else list(ctx.nodes)  # the nodes the grudge is over
        need = _MIN_NODES[shape]
        if len(split) < need:
            where = "among" if "among" in params and shape in _ORDERED else "the cluster"
            raise ParamError(
                ("shape",), f"shape {shape} needs at least {need} nodes; {where} has {len(split)}"
            )
        chosen = check_nodes(params, "nodes", ctx)
        if any(n not in universe for n in chosen):
            raise ParamError(("nodes",), f"nodes must be among {', '.join(universe)}")
        if shape in _SELECTABLE and len(chosen) >= len(ctx.nodes):
            raise ParamError(("nodes",), f"{shape} must leave at least one node on the other side")
        if shape in _ORDERED and chosen and sorted(chosen) != sorted(universe):
            raise ParamError(
                ("nodes",), f"for {shape}, nodes is the order of all nodes: {', '.join(universe)}"
            )
        if shape == "groups":
            parts = params.get("groups")
            if not parts:
                raise ParamError(
                    ("groups",), "shape groups needs groups: a list of node lists, e.g. [[n1], [n2, n3]]"
                )
            seen: set[str] = set()
            for i, part in enumerate(parts):
                for j, n in enumerate(part):
                    if n not in ctx.nodes:
                        raise ParamError(
                            ("groups", i, j), f"unknown node {n!r}; valid: {', '.join(ctx.nodes)}"
                        )
                    if n in seen:
                        raise ParamError(
                            ("groups", i, j), f"node {n!r} is in two groups; each node in one group"
                        )
                    seen.add(n)
        elif "groups" in params:
            raise ParamError(("groups",), "groups is only allowed with shape: groups")

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in spec.items() if k not in ("shapes", "targets")}
        out.update(selection_params(rng, spec, ctx))
        universe = allowed_nodes(spec, ctx)
        if "among" in spec:
            out["among"] = universe
        if "shape" not in out:
            fits = [s for s in spec.get("shapes", SHAPES[:-1]) if len(universe) >= _MIN_NODES[s]]
            if out.get("select"):  # a role selector picks the cut-off side: isolate or one-way
                fits = [s for s in fits if s in _SELECTABLE] or ["isolate"]
            out["shape"] = rng.choice(fits or ["isolate"])
        out.setdefault("mode", "blackhole")
        shape = out["shape"]
        if out.get("select") or out.get("nodes"):
            return out
        if shape in _ORDERED:
            out["nodes"] = rng.sample(universe, len(universe))
        elif shape in _SELECTABLE:
            out["nodes"] = [rng.choice(universe)]
        return out

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        """The nodes the partition singles out: the cut-off side(s), or every node for the ordered shapes."""
        shape = params["shape"]
        if shape in _SELECTABLE:
            return frozenset(params.get("nodes") or [])
        if shape == "groups":
            parts = sorted((list(p) for p in params["groups"]), key=len, reverse=True)
            rest = [n for n in ctx.nodes if all(n not in p for p in parts)]
            parts = sorted([*parts, rest] if rest else parts, key=len, reverse=True)
            return frozenset(n for p in parts[1:] for n in p)
        return frozenset(ctx.nodes)

    def start(self, cluster: Cluster, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            cut = grudge_of(params, tuple(cluster.nodes))
        except BadInput as e:
            raise BadInput(f"partition {params.get('shape')}: {e}") from None
        cluster.net.partition(cut, mode=params.get("mode", "blackhole"))
        return {"grudge": {a: sorted(bs) for a, bs in cut.items()}}

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None:
        cluster.net.heal()

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        shape = params["shape"]
        if shape in ("isolate", "one-way"):
            for fewer in drop_one(params.get("nodes") or []):
                yield {**params, "nodes": fewer}
        elif shape in _ORDERED or shape == "groups":
            cut = grudge_of(params, ctx.nodes)
            for n in sorted(cut):
                yield {k: v for k, v in params.items() if k != "groups"} | {"shape": "isolate", "nodes": [n]}
