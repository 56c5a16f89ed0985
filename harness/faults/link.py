"""Degraded links: Toxiproxy toxics (latency, bandwidth, slicer, reset_peer, limit_data, slow_close, and
timeout: with ``timeout: 0`` the link holds all data, a blackhole).

A link step names a ``toxic``, its attributes (defaults below) and optionally ``nodes`` (every link from or to
them; default every link of the topology, client links ``[client, node]`` included) or ``links``. The
resolved step lists the directed ``links`` it touches, so a schedule is concrete data. Applied with
``cluster.net.link(src, dst, kind=toxic, **attrs)``; ``stop`` heals.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from harness.faults.base import FaultContext, Param, ParamError, check_links, check_nodes, drop_one
from harness.faults.params import MAX_INT32
from harness.names import CLIENT, CLIENTS, PEERS, ROUTES, TOXIC_ATTRIBUTES, TOXICS

if TYPE_CHECKING:
    from harness.platform import Cluster

# The values a link step gets for the attributes it leaves out, where not 0 (the attributes themselves, and
# the toxics, are ``harness.names.TOXIC_ATTRIBUTES``).
_NONZERO: dict[str, dict[str, int]] = {
    "latency": {"latency": 200},
    "bandwidth": {"rate": 10},
    "slicer": {"average_size": 64, "size_variation": 32, "delay": 10},
    "limit_data": {"bytes": 1000},
    "slow_close": {"delay": 1000},
}
TOXIC_DEFAULTS: dict[str, dict[str, int]] = {
    toxic: {a: _NONZERO.get(toxic, {}).get(a, 0) for a in attrs} for toxic, attrs in TOXIC_ATTRIBUTES.items()
}
_STEP_KEYS = {"kind", "at", "duration", "toxic", "nodes", "links", "toxics"}
_ATTRIBUTES = tuple(dict.fromkeys(a for attrs in TOXIC_ATTRIBUTES.values() for a in attrs))
_AT_LEAST_ONE = ("average_size",)
LINKS = Param("links", "links", "Explicit directed links [src, dst] (resolved schedules list them).")


def links_of(nodes: list[str], ctx: FaultContext) -> list[list[str]]:
    """The directed links from or to any of ``nodes`` (all links when ``nodes`` is empty)."""
    return [[a, b] for a, b in ctx.links if not nodes or a in nodes or b in nodes]


def fewer_links(params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
    """Smaller variants of a step over links (for shrinking): each half of its ``links``, then its ``nodes``
    less one node, with their links."""
    links = params.get("links") or []
    if len(links) > 1:
        half = len(links) // 2
        yield {**params, "links": links[:half]}
        yield {**params, "links": links[half:]}
    for fewer in drop_one(params.get("nodes") or []):
        yield {**params, "nodes": fewer, "links": links_of(fewer, ctx)}


class Link:
    """``kind: link``."""

    name = "link"
    capability = "link"
    description = "degrade links with a Toxiproxy toxic (latency, bandwidth, slicer, resets, timeouts)"
    network = True
    effect = None
    parameters = (
        Param("toxic", "choice", "The toxic put on the links.", required=True, choices=TOXICS),
        Param("nodes", "nodes", "Links from and to these nodes (default: every link)."),
        *(
            Param(
                a,
                "integer",
                f"Toxic attribute {a}.",
                minimum=1 if a in _AT_LEAST_ONE else 0,
                maximum=MAX_INT32,
            )
            for a in _ATTRIBUTES
        ),
        LINKS,
    )
    random_parameters = (
        Param("toxics", "choices", "Toxics a random link fault is drawn from.", choices=TOXICS),
    )
    random_keys = ("toxics",)

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        toxic = params.get("toxic")
        if toxic not in TOXICS:
            raise ParamError(("toxic",), f"unknown toxic {toxic!r}; valid: {', '.join(TOXICS)}")
        for key in params:
            if key not in _STEP_KEYS and key not in TOXIC_DEFAULTS[toxic]:
                allowed = ", ".join(TOXIC_DEFAULTS[toxic]) or "none"
                raise ParamError((key,), f"not an attribute of toxic {toxic}; its attributes: {allowed}")
        check_nodes(params, "nodes", ctx)
        check_links(params, ctx)

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in spec.items() if k != "toxics"}
        if "toxic" not in out:
            out["toxic"] = rng.choice(list(spec.get("toxics") or ["latency"]))
        for key, default in TOXIC_DEFAULTS[out["toxic"]].items():
            out.setdefault(key, default)
        if "links" not in out:
            out["links"] = links_of(list(out.get("nodes") or []), ctx)
        return out

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(n for pair in params.get("links") or links_of([], ctx) for n in pair)

    def start(self, cluster: Cluster, params: Mapping[str, Any]) -> dict[str, Any]:
        attrs = {k: params[k] for k in TOXIC_DEFAULTS[params["toxic"]] if k in params}
        for src, dst in params["links"]:
            cluster.net.link(src, dst, kind=params["toxic"], **attrs)
        return {"links": [list(p) for p in params["links"]], "attributes": attrs}

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None:
        cluster.net.heal()

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        return fewer_links(params, ctx)


def proxied_links(events: Iterable[Any]) -> frozenset[str]:
    """The classes of links (``peers``, ``clients``) a schedule puts toxics on: a backend that reaches links
    directly (docker) routes exactly those through Toxiproxy proxies, since a toxic acts only on a proxy."""
    out: set[str] = set()
    for ev in events:
        if getattr(ev, "kind", None) != "link":
            continue
        links = ev.params.get("links")
        if not links:
            return frozenset(ROUTES)
        for src, _dst in links:
            out.add(CLIENTS if src == CLIENT else PEERS)
    return frozenset(out)
