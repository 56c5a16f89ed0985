"""Network partitions by shape: isolate, halves, majorities-ring, bridge, one-way and explicit groups.

A partition step names a ``shape`` and, depending on it, ``nodes`` (isolate: the nodes cut off; one-way: the
nodes that cannot reach the rest; halves / bridge / majorities-ring: the node order, shuffled by the seed when
absent) or ``groups``. The grudge (node -> nodes it cannot reach) is computed by the pure constructors of
``harness.net.grudge`` and applied with ``cluster.net.partition(grudge, mode)``; ``stop`` heals the network.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import BadInput
from harness.faults.base import FaultContext, Param, ParamError, check_nodes, drop_one
from harness.net import grudge as g
from harness.net.base import PARTITION_MODES

if TYPE_CHECKING:
    from harness.platform import Cluster

SHAPES = ("isolate", "halves", "majorities-ring", "bridge", "one-way", "groups")
_MIN_NODES = {"isolate": 2, "halves": 2, "one-way": 2, "groups": 2, "bridge": 3, "majorities-ring": 4}
_ORDERED = ("halves", "majorities-ring", "bridge")


def grudge_of(params: Mapping[str, Any], nodes: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """The grudge a (resolved) partition step describes."""
    shape = params["shape"]
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
    )
    random_parameters = (
        Param("shapes", "choices", "Partition shapes a random partition is drawn from.", choices=SHAPES[:-1]),
        Param("mode", "choice", "Partition mode of random partitions.", choices=PARTITION_MODES),
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
        need = _MIN_NODES[shape]
        if len(ctx.nodes) < need:
            raise ParamError(
                ("shape",), f"shape {shape} needs at least {need} nodes; the cluster has {len(ctx.nodes)}"
            )
        chosen = check_nodes(params, "nodes", ctx)
        if shape in ("isolate", "one-way") and len(chosen) >= len(ctx.nodes):
            raise ParamError(("nodes",), f"{shape} must leave at least one node on the other side")
        if shape in _ORDERED and chosen and sorted(chosen) != sorted(ctx.nodes):
            raise ParamError(
                ("nodes",), f"for {shape}, nodes is the order of all nodes: {', '.join(ctx.nodes)}"
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
        out = dict(spec)
        if "shape" not in out:
            shapes = [s for s in spec.get("shapes", SHAPES[:-1]) if len(ctx.nodes) >= _MIN_NODES[s]]
            out["shape"] = rng.choice(shapes or ["isolate"])
        out.pop("shapes", None)
        out.setdefault("mode", "blackhole")
        shape = out["shape"]
        if not out.get("nodes") and shape in _ORDERED:
            out["nodes"] = rng.sample(list(ctx.nodes), len(ctx.nodes))
        elif not out.get("nodes") and shape in ("isolate", "one-way"):
            out["nodes"] = [rng.choice(ctx.nodes)]
        return out

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        """The nodes the partition singles out: the cut-off side(s), or every node for the ordered shapes."""
        shape = params["shape"]
        if shape in ("isolate", "one-way"):
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
