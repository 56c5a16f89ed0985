"""Pure constructors for partitions expressed as data.

A *grudge* maps a node to the nodes it cannot reach: ``{"n1": frozenset({"n2", "n3"}), ...}``. On the mesh the
directed link ``a -> b`` is cut exactly when ``b in grudge[a]``; a symmetric partition therefore lists both
directions, a one-way cut only one. Nodes absent from the grudge reach everyone. Everything here is a pure
function of its arguments, so fault schedules can compute, print, compare and shrink partitions without I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from harness.errors import BadInput

Grudge = Mapping[str, AbstractSet[str]]


def _freeze(cuts: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    return {a: frozenset(bs) for a, bs in sorted(cuts.items()) if bs}


def _known(nodes: Sequence[str], names: Iterable[str], what: str) -> None:
    for n in names:
        if n not in nodes:
            raise BadInput(f"{what}: unknown node {n!r}; valid nodes: {', '.join(nodes)}")


def groups(nodes: Sequence[str], *parts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Explicit groups: a node reaches only the nodes of its own group; unlisted nodes form one more group."""
    parts_l = [list(p) for p in parts]
    listed = [n for p in parts_l for n in p]
    _known(nodes, listed, "groups")
    if len(set(listed)) != len(listed):
        raise BadInput("groups: a node appears in more than one group; each node belongs to exactly one")
    rest = [n for n in nodes if n not in listed]
    if rest:
        parts_l.append(rest)
    cuts: dict[str, set[str]] = {}
    for part in parts_l:
        others = set(nodes) - set(part)
        for n in part:
            cuts[n] = others
    return _freeze(cuts)


def isolate(nodes: Sequence[str], node: str) -> dict[str, frozenset[str]]:
    """``node`` on one side, everyone else on the other."""
    return groups(nodes, [node])


def halves(nodes: Sequence[str]) -> dict[str, frozenset[str]]:
    """The first ``n // 2`` nodes (the minority) against the rest (the majority)."""
    if len(nodes) < 2:
        raise BadInput(f"halves: needs at least 2 nodes, got {len(nodes)}")
    k = len(nodes) // 2
    return groups(nodes, nodes[:k], nodes[k:])


def bridge(nodes: Sequence[str]) -> dict[str, frozenset[str]]:
    """Two halves that cannot reach each other, and the middle node that reaches both (Jepsen's bridge)."""
    if len(nodes) < 3:
        raise BadInput(f"bridge: needs at least 3 nodes, got {len(nodes)}")
    mid = len(nodes) // 2
    left, right = list(nodes[:mid]), list(nodes[mid + 1 :])
    cuts: dict[str, set[str]] = {n: set(right) for n in left}
    cuts.update({n: set(left) for n in right})
    return _freeze(cuts)


def majorities_ring(nodes: Sequence[str]) -> dict[str, frozenset[str]]:
    """Every node reaches a majority (its ring neighbours), but no two nodes see the same majority.

    Node ``i`` reaches ``j`` when their distance around the ring is at most ``k``, the smallest radius whose
    window (``2k + 1`` nodes) is a majority; the cut is symmetric. Needs 4 or more nodes (with 3, every
    majority window already contains all nodes).
    """
    n = len(nodes)
    if n < 4:
        raise BadInput(f"majorities_ring: needs at least 4 nodes, got {n}")
    k = (n // 2 + 1) // 2
    cuts: dict[str, set[str]] = {}
    for i, a in enumerate(nodes):
        cuts[a] = {b for j, b in enumerate(nodes) if min((i - j) % n, (j - i) % n) > k}
    return _freeze(cuts)


def one_way(
    nodes: Sequence[str], sources: Iterable[str], targets: Iterable[str]
) -> dict[str, frozenset[str]]:
    """An asymmetric cut: no node of ``sources`` reaches any of ``targets``; the reverse still works."""
    src, dst = list(sources), list(targets)
    _known(nodes, src + dst, "one_way")
    return _freeze({a: {b for b in dst if b != a} for a in src})


def validate(nodes: Sequence[str], grudge: Grudge) -> dict[str, frozenset[str]]:
    """Check a grudge against a cluster's nodes, return it frozen; ``BadInput`` names the culprit."""
    if not isinstance(grudge, Mapping):
        raise BadInput(
            f"grudge: expected a mapping node -> nodes it cannot reach, got {type(grudge).__name__}"
        )
    _known(nodes, grudge.keys(), "grudge")
    for a, bs in grudge.items():
        if isinstance(bs, str):
            raise BadInput(f"grudge[{a!r}]: expected a set of node names, got the string {bs!r}")
        _known(nodes, bs, f"grudge[{a!r}]")
    return _freeze({a: {b for b in bs if b != a} for a, bs in grudge.items()})


def cut_links(grudge: Grudge) -> frozenset[tuple[str, str]]:
    """The directed links ``(a, b)`` that a grudge cuts."""
    return frozenset((a, b) for a, bs in grudge.items() for b in bs if a != b)
