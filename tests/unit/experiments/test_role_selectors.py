"""Faults that select nodes by role: pure resolution, validation before the run, seeded schedules, the
nemesis resolving a selector when the fault starts (with a fake role probe) and recording it."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, FakeCluster, FakeTarget, FakeWorkload, Harness, Store, no_stale

from harness.errors import BadInput
from harness.faultop import fault_windows
from harness.faults.base import FaultContext, ParamError
from harness.faults.link import Link
from harness.faults.partition import Partition
from harness.faults.process import Kill, Pause, Restart
from harness.faults.roles import (
    SELECTORS,
    check_selector,
    known_selectors,
    resolve,
)
from harness.history import History, HistoryWriter
from harness.loader import loads
from harness.registry import Registries
from harness.runtime.clock import ManualClock
from harness.runtime.nemesis import Nemesis
from harness.schedule import generate
from harness.target import ClientContext, Topology, live_roles, role_names

ROOT = Path(__file__).resolve().parents[3]
N5 = ["n1", "n2", "n3", "n4", "n5"]


def rng(seed: int = 3) -> random.Random:
    return random.Random(seed)


# -- resolution (pure) --


def test_leader_and_followers_follow_the_probe() -> None:
    roles = {"leader": ("n3",), "followers": ("n1", "n2", "n4", "n5")}
    leader = resolve("leader", N5, roles, rng())
    assert leader.nodes == ("n3",) and leader.fallback is None and "n3 holds the leader role" in leader.why
    assert leader.record()["roles"] == {"leader": ["n3"], "followers": ["n1", "n2", "n4", "n5"]}
    assert resolve("followers", N5, roles, rng()).nodes == ("n1", "n2", "n4", "n5")
    # without a reported followers role, followers are every allowed node but the leader
    assert resolve("followers", N5, {"leader": ("n3",)}, rng()).nodes == ("n1", "n2", "n4", "n5")
    # primary reads the primary role, else the leader's; leader reads leader, else primary
    assert resolve("primary", N5, {"primary": ("n1",), "leader": ("n2",)}, rng()).nodes == ("n1",)
    assert resolve("leader", N5, {"primary": ("n4",)}, rng()).nodes == ("n4",)


def test_minority_with_leader_and_majority_without_leader() -> None:
    roles = {"leader": ("n2",)}
    for seed in range(20):
        minority = resolve("minority-with-leader", N5, roles, rng(seed))
        assert "n2" in minority.nodes and len(minority.nodes) == 2, minority
        majority = resolve("majority-without-leader", N5, roles, rng(seed))
        assert "n2" not in majority.nodes and len(majority.nodes) == 3, majority
    # three nodes: the minority is the leader alone, the majority the two others
    assert resolve("minority-with-leader", N5[:3], roles, rng()).nodes == ("n2",)
    assert resolve("majority-without-leader", N5[:3], roles, rng()).nodes == ("n1", "n3")


def test_a_declared_role_and_among_limit_the_choice() -> None:
    roles = {"servers": ("n1", "n2", "n3"), "consumers": ("n4", "n5"), "leader": ("n1",)}
    assert resolve("consumers", N5, roles, rng()).nodes == ("n4", "n5")
    # among: the leader is outside the allowed nodes, so nobody allowed holds it
    out = resolve("leader", ["n2", "n3"], roles, rng())
    assert out.fallback is not None and out.nodes[0] in ("n2", "n3")
    assert resolve("followers", ["n1", "n2", "n3"], roles, rng()).nodes == ("n2", "n3")


def test_several_leaders_one_picked_by_seed_and_replayed() -> None:
    roles = {"leader": ("n1", "n4")}
    picks = {resolve("leader", N5, roles, rng(s)).nodes for s in range(30)}
    assert picks == {("n1",), ("n4",)}
    for s in range(10):
        assert resolve("leader", N5, roles, rng(s)) == resolve("leader", N5, roles, rng(s))


@pytest.mark.parametrize(
    ("roles", "problem", "says"),
    [
        (None, "the role probe failed: OSError: refused", "the role probe failed"),
        ({"leader": (), "followers": ("n1", "n2")}, None, "no node holds the leader role"),
        ({"servers": ()}, None, "no allowed node holds the servers role"),
    ],
)
def test_no_answer_falls_back_to_a_seeded_node_and_says_so(roles: Any, problem: Any, says: str) -> None:
    selector = "servers" if roles and "servers" in roles else "leader"
    out = resolve(selector, N5, roles, rng(5), problem=problem)
    assert out.fallback is not None and says in out.fallback and "picked" in out.why
    assert len(out.nodes) == 1 and out.nodes[0] in N5
    assert out.record()["fallback"] == out.fallback
    assert resolve(selector, N5, roles, rng(5), problem=problem) == out  # same seed, same fallback


def test_a_partition_must_leave_a_node_outside() -> None:
    roles = {"servers": tuple(N5[:3])}
    out = resolve("servers", N5[:3], roles, rng(), leave_one=N5[:3])
    assert out.fallback is not None and "every node" in out.fallback
    assert resolve("servers", N5[:3], roles, rng(), leave_one=N5).nodes == tuple(N5[:3])  # consumers outside


def test_selectors_need_roles_and_unknown_ones_list_them() -> None:
    assert known_selectors(["leader", "followers"]) == SELECTORS
    assert known_selectors(["primary", "replica"]) == (*SELECTORS, "replica")
    assert known_selectors(["servers"]) == ("servers",)  # no leading role: no built-in selectors
    with pytest.raises(ParamError, match="unknown role 'boss'; this target's roles and selectors: leader, "):
        check_selector("boss", ["leader", "followers"], ("select",))
    with pytest.raises(ParamError, match="reports no roles"):
        check_selector("leader", [], ("select",))


# -- validation before the run, file:line --


class RoleTarget(FakeTarget):
    role_names = ("leader", "followers")

    def __init__(self, store: Store, answer: Any = None) -> None:
        super().__init__(store)
        self.answer = answer

    def roles(self, context: ClientContext) -> Mapping[str, list[str]]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class DeclaredLike(FakeTarget):
    """A target with fixed roles, as a declared target's roles: (roles_for)."""

    def roles_for(self, nodes: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        return {"servers": nodes[:3], "consumers": nodes[3:]}


def registries(store: Store) -> Registries:
    return Registries.of(
        targets={
            "roles": lambda: RoleTarget(store),
            "plain": lambda: FakeTarget(store),
            "nats": lambda: DeclaredLike(store),
        },
        workloads={"fake": FakeWorkload},
        checkers={"no-stale": no_stale},
        faults={"partition": Partition, "link": Link, "kill": Kill, "restart": Restart, "pause": Pause},
    )


def exp(faults: str, target: str = "roles", nodes: int = 3) -> str:
    return (
        BASE.replace("target: {name: fake, nodes: 3}", f"target: {{name: {target}, nodes: {nodes}}}")
        .replace("duration: 1,", "duration: 10,")
        .replace("workload:", "workload: {kind: fake, ")
        .replace("workload: {kind: fake,  {", "workload: {kind: fake, ")
        + faults
    )


def test_selector_steps_load_and_unknown_roles_name_file_line_and_the_roles() -> None:
    reg = registries(Store())
    ok = exp(
        "faults:\n  steps:\n    - {kind: partition, shape: isolate, select: leader, at: 1, duration: 2}\n"
    )
    e = loads(ok, "x.yaml", reg)
    assert e.roles == ("leader", "followers") and e.steps[0].params["select"] == "leader"
    bad = ok.replace("select: leader", "select: boss")
    with pytest.raises(
        BadInput, match=r"x\.yaml:\d+: faults\.steps\[0\]\.select: unknown role 'boss'; .*leader"
    ):
        loads(bad, "x.yaml", reg)
    halves = ok.replace("shape: isolate", "shape: halves")
    with pytest.raises(BadInput, match=r"select picks nodes for shape isolate or one-way"):
        loads(halves, "x.yaml", reg)
    both = ok.replace("select: leader", "select: leader, nodes: [n1]")
    with pytest.raises(BadInput, match=r"select or nodes, not both"):
        loads(both, "x.yaml", reg)
    plain = exp("faults:\n  steps:\n    - {kind: kill, select: leader, at: 1, duration: 2}\n", "plain")
    with pytest.raises(BadInput, match=r"steps\[0\]\.select: this target reports no roles"):
        loads(plain, "x.yaml", reg)
    rnd = exp("faults:\n  random: {kinds: [kill], targets: [leader, chief]}\n")
    with pytest.raises(BadInput, match=r"faults\.random\.targets\[1\]: unknown role 'chief'"):
        loads(rnd, "x.yaml", reg)


def test_among_names_a_fixed_role_and_limits_partitions() -> None:
    reg = registries(Store())
    text = exp(
        "faults:\n  random: {kinds: [partition], shapes: [halves], among: servers, max_faults: 3}\n",
        "nats",
        5,
    )
    e = loads(text, "x.yaml", reg)
    for ev in generate(e, 4, reg).events:
        assert sorted(ev.params["nodes"]) == ["n1", "n2", "n3"] and ev.params["among"] == ["n1", "n2", "n3"]
        cut = Partition().start(FakeCluster(FakeTarget(Store()), 5, None), ev.params)["grudge"]
        assert set(cut) <= {"n1", "n2", "n3"}  # consumers n4, n5 keep every link
    isolate = loads(text.replace("shapes: [halves]", "shapes: [isolate]"), "x.yaml", reg)
    for ev in generate(isolate, 4, reg).events:  # the cut-off node is a server; the far side is every other
        assert ev.params["nodes"][0] in ("n1", "n2", "n3")
        cut = Partition().start(FakeCluster(FakeTarget(Store()), 5, None), ev.params)["grudge"]
        assert set(cut) == set(N5)
    with pytest.raises(BadInput, match=r"faults\.random\.among: unknown role 'brokers'.*servers, consumers"):
        loads(text.replace("among: servers", "among: brokers"), "x.yaml", reg)


def test_random_targets_are_drawn_by_seed_and_replay() -> None:
    reg = registries(Store())
    text = exp("faults:\n  random: {kinds: [partition, kill], targets: [leader, random], max_faults: 20}\n")
    e = loads(text, "x.yaml", reg)
    a, b = generate(e, 11, reg), generate(e, 11, reg)
    assert a == b
    selected = [ev for ev in a.events if ev.params.get("select")]
    seeded = [ev for ev in a.events if not ev.params.get("select")]
    assert selected and seeded  # both targets drawn
    for ev in selected:
        assert ev.params["select"] == "leader" and isinstance(ev.params["select_seed"], int)
        assert "nodes" not in ev.params
        if ev.kind == "partition":
            assert ev.params["shape"] in ("isolate", "one-way")
    assert all(ev.params.get("nodes") for ev in seeded)
    assert generate(e, 12, reg) != a


# -- the nemesis resolves when the fault starts --


def play(steps: list[dict[str, Any]], probe: Any, n: int = 3) -> tuple[FakeCluster, list[Any]]:
    from harness.schedule import Schedule

    c = FakeCluster(FakeTarget(Store()), n, None)
    ctx = FaultContext(c.nodes, Topology.full_mesh(c.nodes).links, ("leader", "followers"))
    w = HistoryWriter()
    h = Harness()
    nem = Nemesis(Schedule.from_list(steps), c, w, h.registries, ctx, clock=ManualClock(), roles=probe)
    nem.run()
    nem.stop()
    return c, list(w.history())


def test_the_leader_at_the_moment_the_fault_starts_is_isolated_and_recorded() -> None:
    leaders = iter(["n2", "n3"])
    asked: list[str] = []

    def probe() -> dict[str, list[str]]:
        leader = next(leaders)
        asked.append(leader)
        return {"leader": [leader], "followers": [n for n in ("n1", "n2", "n3") if n != leader]}

    steps = [
        {
            "kind": "partition",
            "at": 0.0,
            "duration": 1,
            "shape": "isolate",
            "select": "leader",
            "select_seed": 1,
        },
        {"kind": "kill", "at": 2.0, "duration": 1, "select": "leader", "select_seed": 2},
    ]
    c, ops = play(steps, probe)
    assert [op.f for op in ops] == ["start-partition", "stop-partition", "start-kill", "stop-kill"]
    assert asked == ["n2", "n3"]  # asked once per fault, when it starts
    start = ops[0].value
    assert start["nodes"] == ["n2"] and start["grudge"] == {"n1": ["n2"], "n2": ["n1", "n3"], "n3": ["n2"]}
    assert start["selected"]["selector"] == "leader" and start["selected"]["roles"]["leader"] == ["n2"]
    assert ops[1].value["nodes"] == ["n2"]  # the stop undoes the same nodes
    assert ops[2].value["nodes"] == ["n3"] and c.calls == [("kill", "n3"), ("start", "n3")]
    windows, _ = fault_windows(History(tuple(ops)))
    assert "select leader: n2 holds the leader role" in windows[0].detail()  # the report's tooltip


def test_a_failing_probe_is_recorded_and_the_fault_falls_back() -> None:
    def probe() -> dict[str, list[str]]:
        raise ConnectionRefusedError("every node refused")

    step = {"kind": "pause", "at": 0.0, "duration": 1, "select": "leader", "select_seed": 9}
    c, ops = play([step], probe)
    selected = ops[0].value["selected"]
    assert "the role probe failed: ConnectionRefusedError: every node refused" in selected["fallback"]
    assert ops[0].value["nodes"] == selected["nodes"] and len(selected["nodes"]) == 1
    assert c.calls[0] == ("pause", selected["nodes"][0])
    assert play([step], probe)[1][0].value["nodes"] == selected["nodes"]  # same seed, same fallback
    _, no_probe = play([step], None)
    assert "no role probe" in no_probe[0].value["selected"]["fallback"]


def test_live_roles_merge_fixed_roles_and_the_probe() -> None:
    store = Store()
    context = ClientContext(nodes=("n1", "n2", "n3", "n4"))
    assert role_names(DeclaredLike(store), context.nodes) == ("servers", "consumers")
    assert live_roles(DeclaredLike(store), context) == {"servers": ("n1", "n2", "n3"), "consumers": ("n4",)}
    assert live_roles(RoleTarget(store, {"leader": ["n2"]}), context) == {"leader": ("n2",)}
    assert role_names(FakeTarget(store), context.nodes) == ()
    with pytest.raises(OSError):
        live_roles(RoleTarget(store, OSError("down")), context)


def test_a_declared_primary_is_selectable_as_declared() -> None:
    """redis declares primary (n1) and replica (the rest) in target.yaml: both are roles a fault selects,
    and leader / primary resolve to the primary without a live probe."""
    text = (ROOT / "experiments" / "redis-primary-only.yaml").read_text()
    text = text.replace("among: [n2, n3]", "among: replica\n    targets: [primary, random]")
    e = loads(text, "redis.yaml", Registries())
    assert set(e.roles) >= {"primary", "replica"} and dict(e.role_sets)["replica"] == ("n2", "n3")
    target = e.target.resolve(Registries())
    roles = live_roles(target, ClientContext(nodes=e.nodes))
    assert roles == {"primary": ("n1",), "replica": ("n2", "n3")}
    assert resolve("leader", e.nodes, roles, rng()).nodes == ("n1",)
    assert resolve("replica", e.nodes, roles, rng()).nodes == ("n2", "n3")
    events = generate(e, 1, Registries()).events
    assert any(ev.params.get("select") == "primary" for ev in events)
    for ev in events:  # among: replica bounds what a seeded pick cuts or kills
        assert ev.params.get("select") or set(ev.params["nodes"]) <= {"n2", "n3"}
    with pytest.raises(
        BadInput,
        match=r"redis.yaml:\d+: faults.random.targets\[0\]: unknown role 'leeder'; .*primary.*replica",
    ):
        loads(
            text.replace("targets: [primary, random]", "targets: [leeder]").replace(
                "kinds: [partition, kill]", "kinds: [kill]"
            ),
            "redis.yaml",
            Registries(),
        )


def test_a_probe_that_takes_the_cluster_gets_it() -> None:
    """A target whose roles(context, cluster=...) runs a command beside each node gets the live cluster."""
    seen: list[Any] = []

    class ByCommand(FakeTarget):
        def roles(self, context: ClientContext, cluster: Any = None) -> dict[str, list[str]]:
            seen.append(cluster)
            return {"leader": [cluster.nodes[-1]]}

    c = FakeCluster(FakeTarget(Store()), 3, None)
    assert live_roles(ByCommand(Store()), ClientContext(nodes=c.nodes), c) == {"leader": ("n3",)}
    assert seen == [c]
