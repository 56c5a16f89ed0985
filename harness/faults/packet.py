"""Packet-level link faults of backends that own their nodes' network namespaces (docker): loss and netem.

``kind: packet-loss`` drops each packet of the chosen directed links with ``probability`` (iptables
``statistic``); ``kind: netem`` delays / jitters / duplicates / reorders them with the kernel's ``sch_netem``
(only where the kernel has it: the cluster then offers the ``netem`` capability, and ``chaos doctor`` says
whether this machine does). Both name ``links`` (``[src, dst]`` pairs, ``[client, node]`` included) or
``nodes`` (every link from or to them); without either, the seeded source picks one node and takes its links.
Applied through ``cluster.net.loss`` / ``cluster.net.netem``; ``stop`` heals the network.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import BadInput
from harness.faults.base import FaultContext, Param, ParamError, check_links, check_nodes
from harness.faults.link import LINKS, fewer_links, links_of
from harness.net.netem import Netem

if TYPE_CHECKING:
    from harness.platform import Cluster

_COMMON = {"kind", "at", "duration", "links", "nodes"}
NETEM_KEYS = ("delay", "jitter", "duplicate", "reorder", "loss")


class _LinkSet:
    """What both kinds share: which links, resolved to concrete ``links`` by the schedule."""

    name = ""
    capability = ""
    description = ""
    network = True
    effect = None
    random_keys: tuple[str, ...] = ()
    random_parameters: tuple[Param, ...] = ()
    own: tuple[Param, ...] = ()
    _WHICH = (
        LINKS,
        Param("nodes", "nodes", "Every link from or to these nodes (default: one node drawn from the seed)."),
    )

    @property
    def parameters(self) -> tuple[Param, ...]:
        return (*self.own, *self._WHICH)

    @property
    def own_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.own)

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        for key in params:
            if key not in _COMMON and key not in self.own_names:
                raise ParamError(
                    (key,),
                    f"not a field of {self.name}; its fields: {', '.join(self.own_names)}, links, nodes",
                )
        check_nodes(params, "nodes", ctx)
        check_links(params, ctx)
        self.check_own(params)

    def check_own(self, params: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(spec)
        if "links" not in out:
            nodes = list(out.get("nodes") or [rng.choice(list(ctx.nodes))])
            out["links"] = links_of(nodes, ctx)
        return out

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(n for pair in params.get("links") or [] for n in pair if n in ctx.nodes)

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        return fewer_links(params, ctx)

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None:
        cluster.net.heal()


class PacketLoss(_LinkSet):
    """``kind: packet-loss``: ``probability`` (0 < p <= 1, default 0.3) of dropping each packet."""

    name = capability = "packet-loss"
    description = "drop each packet of the chosen links with a probability (iptables statistic)"
    own = (
        Param(
            "probability",
            "number",
            "Chance of dropping each packet.",
            default=0.3,
            minimum=0,
            maximum=1,
            exclusive_minimum=True,
        ),
    )

    def check_own(self, params: Mapping[str, Any]) -> None:
        p = params.get("probability", 0.3)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise ParamError(("probability",), f"expected a number in (0, 1], got {p!r}")

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        # Any: only a packet-level net (docker) has loss / netem; the capability was checked before the run
        p = float(params.get("probability", 0.3))
        cluster.net.loss([tuple(x) for x in params["links"]], p)
        return {"links": [list(x) for x in params["links"]], "probability": p}


class NetemFault(_LinkSet):
    """``kind: netem``: ``delay`` / ``jitter`` (ms), ``duplicate`` / ``reorder`` / ``loss`` (percent)."""

    name = capability = "netem"
    description = "delay, jitter, duplicate, reorder or lose the chosen links' packets (kernel sch_netem)"
    own = (
        Param("delay", "number", "Added delay, ms (needed by jitter and reorder).", minimum=0),
        Param("jitter", "number", "Delay variation, ms.", minimum=0),
        Param("duplicate", "number", "Percent of packets sent twice.", minimum=0, maximum=100),
        Param(
            "reorder",
            "number",
            "Percent of packets sent at once, ahead of delayed ones.",
            minimum=0,
            maximum=100,
        ),
        Param("loss", "number", "Percent of packets dropped.", minimum=0, maximum=100),
    )

    def setting(self, params: Mapping[str, Any]) -> Netem:
        return Netem(**{k: params[k] for k in NETEM_KEYS if k in params})

    def check_own(self, params: Mapping[str, Any]) -> None:
        if not any(k in params for k in NETEM_KEYS):
            raise ParamError(("delay",), f"netem needs at least one of {', '.join(NETEM_KEYS)}")
        try:
            self.setting(params)
        except BadInput as e:
            named = str(e).split(":")[0].removeprefix("netem ").strip()
            key = named if named in NETEM_KEYS else "delay"
            raise ParamError((key,), str(e)) from None

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        setting = self.setting(params)
        cluster.net.netem([tuple(x) for x in params["links"]], setting)
        return {"links": [list(x) for x in params["links"]], "netem": setting.args()}
