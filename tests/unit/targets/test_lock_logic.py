"""Unit tests of the lock target's pure parts: the replicated lock table (leases, fencing tokens, planted
bugs), the resource's fencing rule and durable log, the worker plan (including the stall past the lease),
target topology / argv and option validation (no processes, no Docker)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from chaos_targets.lock.machine import LockMachine
from chaos_targets.lock.resource import ResourceService, ResourceState
from chaos_targets.lock.target import LockTarget
from chaos_targets.lock.workload import LockWorkload
from harness.checkers.lock_safety import check as lock_check
from harness.errors import BadInput
from harness.history import History
from harness.target import Addr, Completion, NodeContext


def acq(m: LockMachine, client: int, now: int, lease: int = 100, **extra: int) -> dict:
    return m.apply({"op": "acquire", "lock": "L", "client": client, "lease_ms": lease, "now": now, **extra})


def test_grant_refuse_until_expiry_then_strictly_higher_token() -> None:
    m = LockMachine()
    g1 = acq(m, 1, now=1000)
    assert g1 == {"granted": True, "token": 1, "lease_ms": 100, "granted_at": 1000, "expires_at": 1100}
    assert acq(m, 2, now=1099) == {"granted": False, "holder": 1, "expires_at": 1100}
    g2 = acq(m, 2, now=1100)
    assert g2["granted"] and g2["token"] == 2


def test_release_frees_only_for_the_holding_token() -> None:
    m = LockMachine()
    acq(m, 1, now=0)
    assert m.apply({"op": "release", "lock": "L", "token": 7}) == {"released": False}
    assert m.apply({"op": "release", "lock": "L", "token": 1}) == {"released": True}
    assert acq(m, 2, now=1)["token"] == 2  # free at once, and the counter never goes back


def test_replicas_applying_the_same_log_agree() -> None:
    log = [
        {"op": "acquire", "lock": "L", "client": c, "lease_ms": 50, "now": t}
        for c, t in [(1, 0), (2, 10), (2, 60), (3, 200)]
    ] + [{"op": "release", "lock": "L", "token": 3}]
    a, b = LockMachine(), LockMachine()
    assert [a.apply(c) for c in log] == [b.apply(c) for c in log]
    assert a.tokens == b.tokens == {"L": 3} and a.locks == b.locks == {}


def test_bad_commands_yield_error_values_not_exceptions() -> None:
    m = LockMachine()
    assert "error" in m.apply({"op": "acquire", "lock": "L"})
    assert "error" in m.apply("junk")
    assert "error" in m.apply({"op": "steal"})


def test_early_grant_grants_while_the_lease_still_runs() -> None:
    m = LockMachine(frozenset({"early-grant"}))
    acq(m, 1, now=0, lease=100)
    assert acq(m, 2, now=49)["granted"] is False
    assert acq(m, 2, now=50)["granted"] is True  # the first lease runs until 100


def test_token_reset_uses_the_proposers_counter_and_can_reissue() -> None:
    m = LockMachine(frozenset({"token-reset"}))
    assert acq(m, 1, now=0, token=5)["token"] == 5
    assert acq(m, 2, now=200, token=1)["token"] == 1  # a new leader whose own counter starts over
    assert (
        LockMachine().apply({"op": "acquire", "lock": "L", "client": 1, "lease_ms": 5, "now": 0, "token": 9})[
            "token"
        ]
        == 1
    )  # without the bug the proposer's token is ignored


def test_resource_fencing_and_no_fencing() -> None:
    fenced, open_ = ResourceState(fencing=True), ResourceState(fencing=False)
    for s in (fenced, open_):
        s.accept("L", 5, 1, "a", 0)
    assert fenced.check("L", 5) and not fenced.check("L", 4) and fenced.check("L", 6)
    assert fenced.check("M", 1)  # per lock
    assert open_.check("L", 4)


def test_resource_log_is_durable_and_keeps_the_highest_token(tmp_path: Path) -> None:
    async def go() -> list[dict]:
        s = ResourceService(str(tmp_path), frozenset())
        return [
            await s.handle({"op": "write", "lock": "L", "token": t, "client": c, "data": d})
            for t, c, d in [(2, 1, "x"), (1, 2, "y"), (3, 2, "z")]
        ]

    replies = asyncio.run(go())
    assert [r["accepted"] for r in replies] == [True, False, True]
    again = ResourceService(str(tmp_path), frozenset())
    assert [(r["seq"], r["token"], r["client"]) for r in again.state.log] == [(1, 2, 1), (2, 3, 2)]
    assert again.state.check("L", 2) is False


def test_plan_loops_acquire_writes_release_and_retries_refusals() -> None:
    plan = LockWorkload({"writes": 2, "work_ms": 0, "retry_ms": 0}).plan(4, random.Random(0))
    grant = {"lock": "L0", "token": 7, "lease_ms": 1000, "granted_at": 0, "expires_at": 1000}
    steps = [plan.next(None)]
    steps.append(plan.next(("acquire", steps[-1][1], Completion("fail"))))  # type: ignore[index]
    steps.append(plan.next(("acquire", steps[-1][1], Completion("ok", grant))))  # type: ignore[index]
    steps.append(plan.next(("write", steps[-1][1], Completion("ok"))))  # type: ignore[index]
    steps.append(plan.next(("write", steps[-1][1], Completion("ok"))))  # type: ignore[index]
    steps.append(plan.next(("release", steps[-1][1], Completion("ok"))))  # type: ignore[index]
    assert [s[0] for s in steps if s] == ["acquire", "acquire", "write", "write", "release", "acquire"]
    assert steps[2] == ("write", {"lock": "L0", "token": 7, "data": "p4-1"})
    assert steps[4] == ("release", {"lock": "L0", "token": 7})


def test_plan_stalls_past_the_lease_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("chaos_targets.lock.workload.time.sleep", slept.append)
    plan = LockWorkload({"lease_ms": 300, "stall_probability_pct": 100, "work_ms": 0}).plan(
        1, random.Random(0)
    )
    grant = {"lock": "L0", "token": 1, "lease_ms": 300, "granted_at": 0, "expires_at": 300}
    first = plan.next(None)
    assert first is not None
    assert plan.next(("acquire", first[1], Completion("ok", grant)))[0] == "write"  # type: ignore[index]
    assert slept == [0.6]  # twice the lease by default


def test_topology_and_argv_route_raft_through_the_mesh() -> None:
    topo = LockTarget().topology(3, {})
    assert topo.nodes == ("n1", "n2", "n3", "resource") and topo.client_nodes == topo.nodes
    assert set(topo.links) == {(a, b) for a in ("n1", "n2", "n3") for b in ("n1", "n2", "n3") if a != b}
    ctx = NodeContext(
        "n1",
        topo.nodes,
        Addr("127.0.0.1", 7001),
        {"n2": Addr("127.0.0.1", 8002), "n3": Addr("127.0.0.1", 8003)},
        "/d/n1",
        frozenset({"token-reset"}),
        {"heartbeat_ms": 20},
    )
    joined = " ".join(LockTarget().node_spec(ctx).argv)
    for part in (
        "-m chaos_targets.lock.node",
        "--role lock",
        "--peer n2=127.0.0.1:8002",
        "--peer n3=127.0.0.1:8003",
        "--flags token-reset",
        "--option heartbeat_ms=20",
    ):
        assert part in joined
    with pytest.raises(BadInput, match="option 'ttl' is unknown"):
        LockTarget().topology(3, {"ttl": 5})
    with pytest.raises(BadInput, match="workload lock: option stall_probability_pct is 101"):
        LockWorkload({"stall_probability_pct": 101})


def _grant_history(events: list[tuple[int, str, Any, str]]) -> History:
    from harness.history import HistoryWriter

    rec = HistoryWriter()
    for process, f, value, outcome in events:
        rec.record(process, "invoke", f, value if f != "acquire" else {"lock": "L"})
        rec.record(process, outcome, f, value)  # type: ignore[arg-type]
    return rec.history()


def g(token: int, at: int, lease: int = 100) -> dict[str, Any]:
    return {"lock": "L", "token": token, "lease_ms": lease, "granted_at": at, "expires_at": at + lease}


def test_early_grants_flags_a_grant_inside_an_unreleased_lease() -> None:
    after_expiry = [(1, "acquire", g(1, 0), "ok"), (2, "acquire", g(2, 100), "ok")]
    inside = [(1, "acquire", g(1, 0), "ok"), (2, "acquire", g(2, 50), "ok"), (1, "release", g(1, 0), "fail")]
    released = [
        (1, "acquire", g(1, 0), "ok"),
        (1, "release", {"lock": "L", "token": 1}, "ok"),
        (2, "acquire", g(2, 50), "ok"),
    ]

    def early(events: list[Any]) -> list[tuple[int, int]]:
        found = lock_check(_grant_history(events)).details["lease_overlaps"]
        return [(e["first"]["token"], e["second"]["token"]) for e in found]

    assert early(after_expiry) == [(1, 2)]  # by the harness clock: granted microseconds after the first
    assert early([*after_expiry[:1], (1, "release", g(1, 0), "ok"), *after_expiry[1:]]) == []
    assert early(inside) == [(1, 2)]
    assert early(released) == []


def test_lease_clock_counts_from_when_the_replica_applied_the_highest_stamp() -> None:
    from chaos_targets.lock.machine import LeaseClock

    t = [100.0]
    m = LockMachine(mono=lambda: t[0])
    clock = LeaseClock(m)
    assert clock.now() == 0
    t[0] += 0.5
    assert clock.now() == 500  # elapsed on this replica's monotonic clock
    m.apply({"op": "acquire", "lock": "L", "client": 1, "lease_ms": 1000, "now": 5000})  # stamped elsewhere
    t[0] += 0.2
    assert clock.now() == 5200  # from the stamp, counted from when it was applied here
    m.apply({"op": "acquire", "lock": "L", "client": 2, "lease_ms": 1000, "now": 4000})  # an older stamp
    assert clock.now() == 5200  # changes nothing
    t[0] += 0.9
    grant = m.apply({"op": "acquire", "lock": "L", "client": 2, "lease_ms": 1000, "now": clock.now()})
    assert grant["granted"]  # the first lease (stamped 5000, 1000 ms) ran out 1.1 s after it was applied
