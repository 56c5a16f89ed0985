"""Shortest-cycle search per anomaly class, inside strongly connected components, within a budget.

A class is a base (``G0``: ww edges only; ``G1c``: ww and wr, at least one wr; ``G-single-item``: exactly one
rw; ``G2-item``: two or more rw) and a variant (``""``: data edges only; ``-process``: needs a process-order
edge; ``-realtime``: needs a real-time edge). A cycle of a class lies inside one strongly connected component
of the graph restricted to the class's edge kinds, so each such component is searched on its own: for a
start edge of the rarest kind the class needs (a -> b), a breadth-first search from b back to a over states
(node, rw edges so far, wr seen, order edge seen) finds the shortest cycle through that edge. A few start
edges are tried per component and the shortest cycle kept. ``Budget`` counts search steps and wall time;
when it runs out the search raises ``BudgetExhausted`` and the checker says unknown instead of hanging.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from harness.checkers.txn.graph import DATA, PROCESS, REALTIME, RW, WR, WW, Graph, components

Edge = tuple[int, int, int]  # (from txn id, to txn id, kind bit)
TRIES_AFTER_FIRST = 8


class BudgetExhausted(Exception):
    pass


class Budget:
    """Search steps and seconds left; ``spend`` raises ``BudgetExhausted`` when either runs out."""

    def __init__(self, steps: int, seconds: float | None) -> None:
        self.steps = steps
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self._tick = 0

    def spend(self, n: int = 1) -> None:
        self.steps -= n
        self._tick += n
        if self.steps < 0:
            raise BudgetExhausted("search step budget spent")
        if self._tick >= 4096:
            self._tick = 0
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise BudgetExhausted("time limit reached")


@dataclass(frozen=True)
class CycleClass:
    name: str
    allowed: int
    start: int  # the kind every cycle of the class contains: start edges are of this kind
    rw_min: int
    rw_max: int
    need_wr: bool
    special: int  # PROCESS or REALTIME for the variants, else 0


def cycle_class(name: str) -> CycleClass:
    base, variant = name, ""
    for v in ("-process", "-realtime"):
        if name.endswith(v):
            base, variant = name[: -len(v)], v
    allowed = {"G0": WW, "G1c": WW | WR, "G-single-item": DATA, "G2-item": DATA}[base]
    rw_min, rw_max = {"G-single-item": (1, 1), "G2-item": (2, 10**9)}.get(base, (0, 0))
    special = 0
    if variant == "-process":
        allowed, special = allowed | PROCESS, PROCESS
    elif variant == "-realtime":  # process order is real-time order too: either kind of order edge will do
        allowed, special = allowed | PROCESS | REALTIME, PROCESS | REALTIME
    start = special or {"G0": WW, "G1c": WR}.get(base, RW)
    return CycleClass(name, allowed, start, rw_min, rw_max, base == "G1c", special)


State = tuple[int, int, bool, bool]


def _step(cls: CycleClass, state: State, w: int, kind: int) -> State | None:
    _, rw, wr, sp = state
    if kind == RW:
        rw += 1
        if rw > cls.rw_max:
            return None
        rw = min(rw, 2)
    return (w, rw, wr or kind == WR, sp or bool(kind & cls.special))


def _done(cls: CycleClass, s: State) -> bool:
    return s[1] >= min(cls.rw_min, 2) and (s[2] or not cls.need_wr) and (s[3] or not cls.special)


def _kinds(mask: int) -> list[int]:
    return [k for k in (WW, WR, RW, PROCESS, REALTIME) if mask & k]


def _cycle_through(
    g: Graph, cls: CycleClass, a: int, b: int, start: int, members: set[int], budget: Budget, limit: int
) -> list[Edge] | None:
    """Shortest cycle a -> b ~> a of the class that starts with edge a -> b of kind ``start``."""
    first = _step(cls, (a, 0, False, False), b, start)
    if first is None:
        return None
    parent: dict[State, tuple[State, int] | None] = {first: None}
    queue = deque([first])
    depth = {first: 1}
    while queue:
        s = queue.popleft()
        if depth[s] >= limit:
            continue
        budget.spend()
        v = s[0]
        for w, m in g.succ[v].items():
            m &= cls.allowed
            if not m or w not in members:
                continue
            for kind in _kinds(m):
                t = _step(cls, s, w, kind)
                if t is None or t in parent:
                    continue
                parent[t] = (s, kind)
                depth[t] = depth[s] + 1
                if w == a and _done(cls, t):
                    return _path(parent, t, a, b, start)
                if w != a:
                    queue.append(t)
    return None


def _path(
    parent: dict[State, tuple[State, int] | None], end: State, a: int, b: int, start: int
) -> list[Edge]:
    edges: list[Edge] = []
    s = end
    while True:
        p = parent[s]
        if p is None:
            break
        prev, kind = p
        edges.append((prev[0], s[0], kind))
        s = prev
    edges.append((a, b, start))
    edges.reverse()
    return edges


def find_cycle(g: Graph, name: str, scc: list[int], budget: Budget) -> list[Edge] | None:
    """The shortest cycle of class ``name`` found inside ``scc`` (a component of the whole graph), or None."""
    cls = cycle_class(name)
    best: list[Edge] | None = None
    for comp in components(g, cls.allowed, scc):
        budget.spend(len(comp))
        members = set(comp)
        tries = 0
        for a in comp:
            for b, m in g.succ[a].items():
                if not m & cls.start or b not in members:
                    continue
                start = m & cls.start & -(m & cls.start)  # its lowest kind bit of the ones wanted
                limit = len(best) - 1 if best is not None else len(comp) + 1
                if limit < 2:
                    break
                found = _cycle_through(g, cls, a, b, start, members, budget, limit)
                if found is not None and (best is None or len(found) < len(best)):
                    best = found
                if best is not None:
                    tries += 1
                    if tries > TRIES_AFTER_FIRST or len(best) <= 2:
                        return best
    return best
