"""Clock faults: a node's wall clock is skewed, jumps, or strobes between two offsets; heal puts it back.

Every kind needs the ``clock`` capability: a backend implementing ``harness.cluster.fakeclock.ClockControl``
whose nodes were started under libfaketime (the runner asks for it when a schedule holds clock faults) and
whose readiness check found every node's clock movable (a Go or statically linked program is refused there,
with its name). Only the wall clock moves; monotonic clocks stay real (docs/faults.md#clock-faults).

- ``clock-skew``  ``offset_ms`` (signed, |x| <= one day): the nodes' clocks read real time + offset.
- ``clock-jump``  ``by_ms``: each node's clock steps by ``by_ms`` from wherever it is (so a jump during a
  skew adds to it).
- ``clock-strobe`` ``offsets_ms: [a, b]``, ``period_ms``: the clocks flip between the two offsets.

At the end of the window (and in every heal and teardown) each node reads real time again. ``nodes`` may be
given; otherwise the schedule's seeded source picks one (``among`` narrows the choice). Each kind declares its
params as a JSON Schema fragment (``params_schema``), which ``validate`` enforces.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

from harness.cluster.fakeclock import CLOCK, MAX_OFFSET_MS, as_clock_control
from harness.faults.base import FaultContext, ParamError, check_nodes, drop_one, one_node_unless_named
from harness.faults.params import Param

NODES_SCHEMA = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 32}
# the declarations the experiment schema is generated from (harness.faults.params); ``validate`` checks more
NODES = Param("nodes", "nodes", "The nodes whose clock moves (default: one node, picked by the seed).")
AMONG = Param("among", "any", "random: the nodes (or a role with fixed nodes) the seed picks from.")
OFFSET = Param(
    "offset_ms",
    "number",
    "Milliseconds ahead (+) or behind (-) real time.",
    True,
    None,
    -MAX_OFFSET_MS,
    MAX_OFFSET_MS,
)
OFFSET_SCHEMA = {"type": "number", "minimum": -MAX_OFFSET_MS, "maximum": MAX_OFFSET_MS}


def _offset(params: Mapping[str, Any], key: str, *path: int) -> float:
    v = params.get(key)
    for i in path:
        v = v[i] if isinstance(v, list) and len(v) > i else None
    where: tuple[str | int, ...] = (key, *path)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ParamError(where, f"{key}: expected a number of milliseconds, got {v!r}")
    if abs(v) > MAX_OFFSET_MS:
        raise ParamError(where, f"{key}: {v} ms is beyond one day ({MAX_OFFSET_MS} ms) either way")
    return float(v)


class _ClockFault:
    name = ""
    capability = CLOCK
    network = False
    random_keys: tuple[str, ...] = ("among",)
    params_schema: dict[str, Any] = {}
    parameters: tuple[Param, ...] = ()
    random_parameters: tuple[Param, ...] = (AMONG,)
    effect = None  # the nodes keep running, with a clock that lies

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        check_nodes(params, "nodes", ctx)
        check_nodes(params, "among", ctx)
        self._check(params)

    def _check(self, params: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        return one_node_unless_named(rng, ctx, spec)

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(params.get("nodes") or [])

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        clocks = as_clock_control(cluster.backend, getattr(cluster, "refusals", None))
        return {"offsets_ms": {n: self._apply(clocks, n, params) for n in params["nodes"]}}

    def _apply(self, clocks: Any, node: str, params: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        clocks = as_clock_control(cluster.backend)
        for n in params["nodes"]:
            clocks.reset_clock(n)

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        for fewer in drop_one(params.get("nodes") or []):
            yield {**params, "nodes": fewer}


class ClockSkew(_ClockFault):
    """``kind: clock-skew``: the nodes' wall clocks read real time + ``offset_ms`` for the window."""

    name = "clock-skew"
    description = "set the nodes' wall clocks ahead of or behind real time (libfaketime)"
    params_schema = {"nodes": NODES_SCHEMA, "offset_ms": OFFSET_SCHEMA}
    parameters = (NODES, OFFSET)

    def _check(self, params: Mapping[str, Any]) -> None:
        _offset(params, "offset_ms")

    def _apply(self, clocks: Any, node: str, params: Mapping[str, Any]) -> float:
        clocks.set_clock(node, float(params["offset_ms"]))
        return float(params["offset_ms"])

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        yield from super().smaller(params, ctx)
        if abs(params["offset_ms"]) >= 2:  # half the skew: does a smaller one still break it?
            yield {**params, "offset_ms": params["offset_ms"] / 2}


class ClockJump(_ClockFault):
    """``kind: clock-jump``: each node's clock steps by ``by_ms`` at the start (on top of its offset)."""

    name = "clock-jump"
    description = "step the nodes' wall clocks by a number of milliseconds at once (libfaketime)"
    params_schema = {"nodes": NODES_SCHEMA, "by_ms": OFFSET_SCHEMA}
    parameters = (
        NODES,
        Param(
            "by_ms", "number", "The step, ms (+ forward, - back).", True, None, -MAX_OFFSET_MS, MAX_OFFSET_MS
        ),
    )

    def _check(self, params: Mapping[str, Any]) -> None:
        _offset(params, "by_ms")

    def _apply(self, clocks: Any, node: str, params: Mapping[str, Any]) -> float:
        now = clocks.clock_offset(node) + float(params["by_ms"])
        now = max(-MAX_OFFSET_MS, min(MAX_OFFSET_MS, now))
        clocks.set_clock(node, now)
        return now


class ClockStrobe(_ClockFault):
    """``kind: clock-strobe``: the clocks flip between ``offsets_ms[0]`` and ``[1]`` every ``period_ms``."""

    name = "clock-strobe"
    params_schema = {
        "nodes": NODES_SCHEMA,
        "offsets_ms": {"type": "array", "items": OFFSET_SCHEMA, "minItems": 2, "maxItems": 2},
        "period_ms": {"type": "number", "minimum": 10, "maximum": 60_000},
    }
    description = "flip the nodes' wall clocks between two offsets at a rate (libfaketime)"
    parameters = (
        NODES,
        Param("offsets_ms", "any", "The two offsets [a, b] (ms) the clocks flip between.", True),
        Param("period_ms", "number", "How long each offset holds, ms.", True, None, 10, 60_000),
    )

    def _check(self, params: Mapping[str, Any]) -> None:
        pair = params.get("offsets_ms")
        if not isinstance(pair, list) or len(pair) != 2:
            raise ParamError(("offsets_ms",), f"offsets_ms: expected two offsets [a, b] in ms, got {pair!r}")
        _offset(params, "offsets_ms", 0)
        _offset(params, "offsets_ms", 1)
        period = params.get("period_ms")
        ok = isinstance(period, (int, float)) and not isinstance(period, bool) and math.isfinite(period)
        if not ok or not 10 <= float(period or 0) <= 60_000:
            raise ParamError(("period_ms",), f"period_ms: expected 10 to 60000 ms, got {period!r}")

    def _apply(self, clocks: Any, node: str, params: Mapping[str, Any]) -> list[float]:
        a, b = (float(x) for x in params["offsets_ms"])
        clocks.strobe_clock(node, (a, b), float(params["period_ms"]))
        return [a, b]


CLOCK_FAULTS: tuple[type[_ClockFault], ...] = (ClockSkew, ClockJump, ClockStrobe)
