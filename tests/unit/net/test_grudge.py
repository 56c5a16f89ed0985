"""Grudge constructors: who can reach whom, as pure data."""

from __future__ import annotations

import pytest

from harness.errors import BadInput
from harness.net.grudge import bridge, cut_links, groups, halves, isolate, majorities_ring, one_way, validate

N3 = ("n1", "n2", "n3")
N5 = ("n1", "n2", "n3", "n4", "n5")


def reach(g: dict[str, frozenset[str]], a: str, b: str) -> bool:
    return b not in g.get(a, frozenset())


def test_isolate_cuts_both_directions_of_one_node() -> None:
    g = isolate(N3, "n1")
    assert g == {"n1": frozenset({"n2", "n3"}), "n2": frozenset({"n1"}), "n3": frozenset({"n1"})}
    assert reach(g, "n2", "n3") and reach(g, "n3", "n2")


def test_halves_minority_first() -> None:
    g = halves(N5)
    assert g["n1"] == g["n2"] == frozenset({"n3", "n4", "n5"})
    assert g["n5"] == frozenset({"n1", "n2"})
    assert reach(g, "n3", "n5")


def test_groups_put_unlisted_nodes_together_and_reject_overlap() -> None:
    g = groups(N5, ["n1"], ["n2", "n3"])
    assert g["n4"] == frozenset({"n1", "n2", "n3"}) and reach(g, "n4", "n5")
    with pytest.raises(BadInput, match="more than one group"):
        groups(N5, ["n1"], ["n1", "n2"])
    with pytest.raises(BadInput, match="unknown node 'n9'"):
        groups(N5, ["n9"])


def test_bridge_middle_node_reaches_everyone() -> None:
    g = bridge(N5)
    assert "n3" not in g
    assert g["n1"] == frozenset({"n4", "n5"}) and g["n4"] == frozenset({"n1", "n2"})


def test_majorities_ring_every_node_sees_a_distinct_majority() -> None:
    for n in (4, 5, 6, 7, 9):
        nodes = tuple(f"n{i}" for i in range(1, n + 1))
        g = majorities_ring(nodes)
        views = [frozenset(b for b in nodes if reach(g, a, b)) for a in nodes]
        assert all(len(v) > n // 2 for v in views), (n, views)
        assert len(set(views)) == n
        assert all(reach(g, a, b) == reach(g, b, a) for a in nodes for b in nodes)
        assert any(g.values())
    with pytest.raises(BadInput, match="at least 4"):
        majorities_ring(N3)


def test_one_way_cuts_only_one_direction() -> None:
    g = one_way(N3, ["n1"], ["n2"])
    assert cut_links(g) == {("n1", "n2")}
    assert reach(g, "n2", "n1")


def test_validate_names_the_bad_entry() -> None:
    assert validate(N3, {"n1": {"n2", "n1"}}) == {"n1": frozenset({"n2"})}
    with pytest.raises(BadInput, match=r"grudge\['n1'\]: unknown node 'x'"):
        validate(N3, {"n1": {"x"}})
    with pytest.raises(BadInput, match="the string"):
        validate(N3, {"n1": "n2"})  # type: ignore[dict-item]
