"""The dependency graph over transaction ids: one bit per edge kind, and strongly connected components.

Edges carry a bit mask of their kinds (``WW`` write-write, ``WR`` write-read, ``RW`` read-write
anti-dependency, ``PROCESS`` process order, ``REALTIME`` real-time order), so one pair of transactions holds
one entry however many reasons link them. Why an edge exists is not stored (that would cost memory on every
edge of a large history): ``explain`` recomputes it for the few edges a witness shows.
``components`` is an iterative Tarjan (no recursion limit) restricted to a kind mask and, optionally,
a node set.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    succ = g.succ
    allowed: set[int] | None = None
    order: Iterable[int]
    if nodes is not None:
        allowed = set(nodes)
        order = sorted(allowed)
    else:
        order = range(len(succ))
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in order:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ[root].items()))]
        while work:
            v, it = work[-1]
            pushed = False
            for w, m in it:
                if not m & kinds or (allowed is not None and w not in allowed):
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ[w].items())))
                    pushed = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if pushed:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)
    return out
