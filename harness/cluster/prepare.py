"""Abilities a backend prepares before its nodes start, and the readiness-time check that they work.

Some faults need a node to be started differently: clock faults need it started under libfaketime
(``harness.cluster.fakeclock``), disk faults need its data directory behind the fault layer
(``harness.cluster.disklayer``). The runner asks for them (``open_cluster(prepare=...)``: the capabilities the
schedule's faults need) so that nodes of other runs start exactly as before. Once the nodes are ready, each
prepared ability is checked on every node (``refusal``); a node where it cannot work (a Go program's clock,
a machine without FUSE) takes the capability away, and the runner refuses the run naming that reason instead
of injecting a fault that does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

# The capabilities a backend must prepare before nodes start: the faked clock, the disk fault layer, and
# (docker) a node data directory the host can reach to corrupt its files.
PREPARED = frozenset({"clock", "disk", "corrupt"})


@runtime_checkable
class Preparable(Protocol):
    def prepare(self, abilities: frozenset[str]) -> None:
        """Before any node starts: set up what ``abilities`` need (unknown names are ignored)."""
        ...

    def prepared(self) -> frozenset[str]:
        """The abilities this backend set up and may offer (before the readiness check)."""
        ...

    def refusal(self, ability: str, node: str) -> str | None:
        """Why ``ability`` cannot work on the ready ``node`` (None: it can)."""
        ...

    def unprepared(self) -> dict[str, str]:
        """Abilities asked for but not set up, each with why (a missing library, no /dev/fuse)."""
        ...


def check_ready(backend: object, nodes: Iterable[str]) -> dict[str, str]:
    """``{ability: reason}`` for every prepared ability that some ready node cannot have (names the node)."""
    if not isinstance(backend, Preparable):
        return {}
    out: dict[str, str] = {}
    for ability in sorted(backend.prepared()):
        for node in nodes:
            why = backend.refusal(ability, node)
            if why:
                out[ability] = f"node {node}: {why}"
                break
    return out
