"""The dependency graph over transaction ids: one bit per edge kind, and strongly connected components.

Edges carry a bit mask of their kinds (``WW`` write-write, ``WR`` write-read, ``RW`` read-write
anti-dependency, ``PROCESS`` process order, ``REALTIME`` real-time order), so one pair of transactions holds
one entry however many reasons link them. Why an edge exists is not stored (that would cost memory on every
edge of a large history): ``explain`` recomputes it for the few edges a witness shows.
``components`` is an iterative Tarjan (no recursion limit) restricted to a kind mask and, optionally,
a node set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
DATA = WW | WR | RW
ALL = DATA | PROCESS | REALTIME
KIND_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}
KINDS = (WW, WR, RW, PROCESS, REALTIME)


class Graph:
    """``succ[a]`` maps each successor ``b`` of ``a`` to the mask of edge kinds from ``a`` to ``b``."""

    __slots__ = ("succ",)

    def __init__(self, n: int) -> None:
        self.succ: list[dict[int, int]] = [{} for _ in range(n)]

    def add(self, a: int, b: int, kind: int) -> None:
        if a != b:
            s = self.succ[a]
            s[b] = s.get(b, 0) | kind

    def __len__(self) -> int:
        return len(self.succ)

    def edge_count(self) -> int:
        return sum(len(s) for s in self.succ)

    def mask(self, a: int, b: int) -> int:
        return self.succ[a].get(b, 0)


def components(g: Graph, kinds: int, nodes: Iterable[int] | None = None) -> list[list[int]]:
    """Strongly connected components with more than one node, using only edges whose mask meets ``kinds``
    and, when ``nodes`` is given, only those nodes. Iterative Tarjan: O(nodes + edges)."""
    if nodes is None:
        return _tarjan(g.succ, kinds, range(len(g.succ)), None)
    ids = sorted(set(nodes))
    return _tarjan(g.succ, kinds, ids, {v: k for k, v in enumerate(ids)})


def _tarjan(
    succ: list[dict[int, int]], kinds: int, ids: Sequence[int], local: dict[int, int] | None
) -> list[list[int]]:
    """Tarjan over the nodes ``ids``; ``local`` maps a node to its position in ``ids`` (None: ``ids`` is
    every node, a node is its own position). Per-node state lives in flat lists by position."""
    n = len(ids)
    index = [-1] * n
    low = [0] * n
    on_stack = bytearray(n)
    stack: list[int] = []  # positions
    out: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        work = [(root, iter(succ[ids[root]].items()))]
        while work:
            v, it = work[-1]
            pushed = False
            for node, m in it:
                if not m & kinds:
                    continue
                if local is None:
                    w = node
                else:
                    found = local.get(node)
                    if found is None:
                        continue
                    w = found
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = 1
                    work.append((w, iter(succ[ids[w]].items())))
                    pushed = True
                    break
                if on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            if pushed:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                if stack[-1] == v:  # a component of one node: not reported
                    stack.pop()
                    on_stack[v] = 0
                    continue
                comp = []
                while True:
                    w = stack.pop()
                    on_stack[w] = 0
                    comp.append(ids[w])
                    if w == v:
                        break
                out.append(comp)
    return out
