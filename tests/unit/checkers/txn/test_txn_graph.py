"""The dependency graph's strongly connected components against a brute-force reachability oracle."""

from __future__ import annotations

import random

import pytest

from harness.checkers.txn.graph import ALL, RW, WR, WW, Graph, components


def oracle(g: Graph, kinds: int, nodes: set[int]) -> set[frozenset[int]]:
    reach = {v: {v} for v in nodes}
    changed = True
    while changed:
        changed = False
        for a in nodes:
            for b, m in g.succ[a].items():
                if m & kinds and b in nodes:
                    for v in nodes:
                        if a in reach[v] and b not in reach[v]:
                            reach[v].add(b)
                            changed = True
    comps = {frozenset(w for w in nodes if w in reach[v] and v in reach[w]) for v in nodes}
    return {c for c in comps if len(c) > 1}


@pytest.mark.parametrize("seed", range(30))
def test_components_match_the_reachability_oracle(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randrange(2, 25)
    g = Graph(n)
    for _ in range(rng.randrange(0, 3 * n)):
        g.add(rng.randrange(n), rng.randrange(n), rng.choice([WW, WR, RW, WW | RW]))
    for kinds in (ALL, WW, WW | WR):
        found = components(g, kinds)
        assert {frozenset(c) for c in found} == oracle(g, kinds, set(range(n)))
        assert sum(len(c) for c in found) == len({v for c in found for v in c})  # disjoint
        subset = set(rng.sample(range(n), rng.randrange(1, n + 1)))
        assert {frozenset(c) for c in components(g, kinds, subset)} == oracle(g, kinds, subset)
