"""Which node served each operation, for witnesses: op index -> node, read from the history.

Every completion may name the node that served it (``Op.node``; clients report it). A checker's witness
names operations by index; ``served_by`` lets it add the node beside each, so a reader tells same-node from
cross-node anomalies without joining the witness with the history by hand. Both the invocation's and the
completion's index map to the completion's node; an operation whose completion names none is absent.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.history import History


def served_by(history: History) -> dict[int, str]:
    """Op index (invocation and completion) -> the node its completion names."""
    out: dict[int, str] = {}
    for p in history.pairs():
        done = p.complete
        if done is not None and done.node is not None:
            out[p.invoke.index] = done.node
            out[done.index] = done.node
    return out


def nodes_of(nodes: dict[int, str], indices: Iterable[int]) -> dict[str, str]:
    """``{str(index): node}`` for the indices whose node is known (the JSON form witnesses carry)."""
    return {str(i): nodes[i] for i in indices if i in nodes}
