"""Which node a primary/replica example client talks to (Redis, PostgreSQL): writes to the primary, reads to
the primary too, or, with the target's ``replica-reads`` mode on, to one replica per worker.

The primary is the node the declaration's ``primary`` role names (``roles``, passed by the declared target),
else the first node by name.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.target import ClientContext

REPLICA_READS = "replica-reads"  # the planted mode: reads served by a (possibly lagging) replica


def primary_and_reader(
    nodes: Mapping[str, object],
    process: int,
    context: ClientContext | None,
    roles: Mapping[str, tuple[str, ...]] | None,
) -> tuple[str, str]:
    """``(primary, reader)``: the node for writes and the node this worker (``process``) reads from."""
    order = sorted(nodes)
    primary = next((n for n in (roles or {}).get("primary", ()) if n in nodes), order[0])
    replicas = [n for n in order if n != primary]
    flags = context.flags if context is not None else frozenset()
    reader = replicas[process % len(replicas)] if REPLICA_READS in flags and replicas else primary
    return primary, reader
