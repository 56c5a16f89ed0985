"""Process faults: kill (SIGKILL, then start), restart (graceful stop, then start), pause (freeze, resume).

A step may name ``nodes``; otherwise the schedule's seeded source picks one node. The fault lasts ``duration``
seconds: the node is down (or paused) for that long. These act only through the cluster's process controls
(``kill`` / ``stop`` / ``start`` / ``pause`` / ``resume``), which each backend implements. The words are
those of ``harness.platform.Cluster``: ``kill`` crashes, ``restart`` is a graceful stop then a start.

Each declares its ``effect`` (``down``: kill, restart; ``paused``: pause), recorded with its fault ops: the
report draws each node's down and paused windows from it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from harness.faultop import DOWN, PAUSED
from harness.faults.base import AMONG, FaultContext, Param, check_nodes, drop_one

if TYPE_CHECKING:
    from harness.platform import Cluster


class _ProcessFault:
    name = ""
    capability = ""
    description = ""
    network = False
    effect: str | None = DOWN  # ``paused``: the node's process is frozen for the fault; ``down``: not running
    parameters = (
        Param("nodes", "nodes", "The nodes to kill / restart / pause (default: one chosen by the seed)."),
    )
    random_parameters = (AMONG,)
    random_keys: tuple[str, ...] = ("among",)

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        check_nodes(params, "nodes", ctx)

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in spec.items() if k != "among"}
        if not out.get("nodes"):
            out["nodes"] = [rng.choice(list(spec.get("among") or ctx.nodes))]
        return out

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(params.get("nodes") or [])

    def start(self, cluster: Cluster, params: Mapping[str, Any]) -> dict[str, Any]:
        for n in params["nodes"]:
            self._down(cluster, n)
        return {}

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None:
        for n in params["nodes"]:
            self._up(cluster, n)

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        for fewer in drop_one(params.get("nodes") or []):
            yield {**params, "nodes": fewer}

    def _down(self, cluster: Cluster, node: str) -> None:
        raise NotImplementedError

    def _up(self, cluster: Cluster, node: str) -> None:
        raise NotImplementedError


class Kill(_ProcessFault):
    """``kind: kill``: SIGKILL (no clean shutdown), start again at the end."""

    name = capability = "kill"
    description = "SIGKILL (no clean shutdown), started again after duration"

    def _down(self, cluster: Cluster, node: str) -> None:
        cluster.kill(node)

    def _up(self, cluster: Cluster, node: str) -> None:
        cluster.start(node)


class Restart(_ProcessFault):
    """``kind: restart``: a graceful stop, start again at the end."""

    name = capability = "restart"
    description = "a graceful stop, started again after duration"

    def _down(self, cluster: Cluster, node: str) -> None:
        cluster.stop(node)

    def _up(self, cluster: Cluster, node: str) -> None:
        cluster.start(node)


class Pause(_ProcessFault):
    """``kind: pause``: freeze the process (SIGSTOP / docker pause), resume at the end."""

    name = capability = "pause"
    description = "freeze the process (SIGSTOP / docker pause), resumed after duration"
    effect = PAUSED

    def _down(self, cluster: Cluster, node: str) -> None:
        cluster.pause(node)

    def _up(self, cluster: Cluster, node: str) -> None:
        cluster.resume(node)


PROCESS_FAULTS: tuple[type[_ProcessFault], ...] = (Kill, Restart, Pause)
