"""Fault kinds the hand-written integration tests use beyond the registry's, for ``FaultLoop(kinds=...)``.

``grudge``: an exact grudge (node -> nodes it cannot reach), e.g. one consumer cut from the broker only, or
a leader isolated from the other replicas but not from a node it never talks to. ``client-blackhole``: the
client's links to ``nodes`` hold all data both ways (Toxiproxy ``timeout: 0`` on both streams), so a lock
holder can neither renew nor release. Both heal the network when they stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.faults.base import FaultContext
from harness.names import CLIENT


class Grudge:
    name = capability = "grudge"
    network = True

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        cut = params["grudge"]
        return frozenset(cut) | frozenset(n for far in cut.values() for n in far)

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        cluster.net.partition({n: frozenset(far) for n, far in params["grudge"].items()})
        return {}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        cluster.net.heal()


class ClientBlackhole:
    name = capability = "client-blackhole"
    network = True

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(params["nodes"])

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        for n in params["nodes"]:
            cluster.net.link(CLIENT, n, kind="timeout", stream="both", timeout=0)
        return {}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        cluster.net.heal()


KINDS = {"grudge": Grudge(), "client-blackhole": ClientBlackhole()}
