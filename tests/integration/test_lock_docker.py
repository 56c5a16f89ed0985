"""The lock service in containers behind the Toxiproxy mesh (``harness.platform.open_cluster``, docker).

Three replicas on the shared Raft core plus the resource. With fencing and the replicated token counter, the
accepted critical sections never interleave and no token is granted twice under leader kill -9, leader
partitions and holders stalling past their lease (the worker plan's stall: see
``targets/lock/workload.py``), and under holders cut off from the lock service (client -> replica links
blackholed) alternating with 100-300 ms latency on the client -> resource link;
``harness.checkers.lock_safety`` judges the resource log and the grants, and its ``lease_overlaps`` the
leases. Each planted bug is caught, no-fencing also by those holder faults alone. One seeded run per case
here; the acceptance runs (10 seeds per bug, at least 9 must catch it) are marked ``slow``.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from fault_kinds import KINDS

from chaos_targets.lock.client import current_leader
from chaos_targets.lock.target import LockTarget
from chaos_targets.lock.workload import LockWorkload
from harness.checkers.lock_safety import check
from harness.names import CLIENT
from harness.net.grudge import isolate
from harness.platform import open_cluster
from harness.runtime.interpreter import play
from harness.runtime.nemesis import FaultLoop
from harness.schedule import FaultEvent

pytestmark = pytest.mark.integration
RAFT = {"heartbeat_ms": 50, "election_min_ms": 300, "election_max_ms": 600, "propose_timeout_ms": 1000}
STALLS = {"lease_ms": 500, "stall_probability_pct": 30, "work_ms": 20, "retry_ms": 20}


def find_leader(cluster: Any) -> str | None:
    return current_leader(cluster.client_addrs, 0.5)


def fault_loop(kinds: tuple[str, ...], seed: int) -> FaultLoop:
    """Every 0.5-1 s one fault of ``kinds``, healed before the next.

    ``kill`` (kill -9 and restart) and ``partition`` (isolate among the replicas) hit the leader;
    ``holder-partition`` blackholes the client's links to every lock replica, so a holder cannot renew or
    release and its lease runs out while it still holds its token; ``resource-latency`` delays its requests
    to the resource by 100-300 ms, so a holder's writes can outlast its lease.
    """

    def choose(cluster: Any, rng: random.Random) -> FaultEvent:
        replicas = [n for n in cluster.nodes if n != "resource"]
        kind = rng.choice(kinds)
        if kind == "holder-partition":
            return FaultEvent("client-blackhole", 0, rng.uniform(1.0, 1.5), {"nodes": replicas})
        if kind == "resource-latency":
            latency = rng.randint(100, 300)
            links = [[CLIENT, "resource"]]
            return FaultEvent(
                "link", 0, rng.uniform(1.0, 1.5), {"toxic": "latency", "latency": latency, "links": links}
            )
        victim = find_leader(cluster) or rng.choice(replicas)
        if kind == "kill":
            return FaultEvent("kill", 0, 0.5, {"nodes": [victim]})
        grudge = {n: sorted(far) for n, far in isolate(replicas, victim).items()}
        return FaultEvent("grudge", 0, 1.5, {"grudge": grudge})

    return FaultLoop(choose, gap=(0.5, 1.0), seed=seed, kinds=KINDS)


def lock_run(
    flags: frozenset[str], workload: dict[str, int], kinds: tuple[str, ...], seed: int, seconds: float = 10.0
) -> dict[str, Any]:
    target = LockTarget()
    # this test slows and cuts links with Toxiproxy toxics: route them through proxies (docker is direct)
    with open_cluster(
        target, nodes=3, backend="docker", flags=flags, options=RAFT, proxies=("peers", "clients")
    ) as cluster:
        cluster.wait_ready(timeout=60)
        while find_leader(cluster) is None:
            threading.Event().wait(0.2)
        h = play(
            cluster,
            target,
            LockWorkload(workload),
            concurrency=3,
            duration=seconds,
            seed=seed,
            faults=fault_loop(kinds, seed) if kinds else None,
            timeout=1.0,
            final_timeout=5.0,
        )
    r = check(h)
    return {**r.details, "valid": r.valid, "summary": r.summary}


BUGS = [
    ("no-fencing", STALLS, (), "token_regressions"),
    ("early-grant", {"lease_ms": 600, "writes": 3, "work_ms": 150, "retry_ms": 20}, (), "lease_overlaps"),
    ("token-reset", {"lease_ms": 200, "work_ms": 10, "retry_ms": 10}, ("kill",), "duplicate_grants"),
]


def test_correct_lock_is_safe_under_leader_faults_and_stalled_holders() -> None:
    r = lock_run(frozenset(), STALLS, ("kill", "partition"), seed=5, seconds=15)
    assert r["grants"] > 10 and r["writes"] > 10, r["summary"]
    assert r["valid"] is True and r["lease_overlaps"] == [], r


@pytest.mark.parametrize(("flag", "workload", "kinds", "field"), BUGS)
def test_planted_bug_is_caught(
    flag: str, workload: dict[str, int], kinds: tuple[str, ...], field: str
) -> None:
    r = lock_run(frozenset({flag}), workload, kinds, seed=1)
    assert r[field], r["summary"]


# Holders cut off from the lock service, and writes slowed on the way to the resource; no stalls planned:
# the faults alone make holders write after their lease ran out (4 writes at > 150 ms each > a 500 ms lease).
# Without the faults no-fencing goes unseen with this workload.
SLOW_HOLDERS = {"lease_ms": 500, "writes": 4, "work_ms": 20, "retry_ms": 20}
HOLDER_FAULTS = ("holder-partition", "resource-latency")


def test_correct_lock_is_safe_when_holders_are_cut_off_and_resource_writes_are_slow() -> None:
    r = lock_run(frozenset(), SLOW_HOLDERS, HOLDER_FAULTS, seed=2, seconds=12)
    assert r["grants"] > 10 and r["writes"] > 10, r["summary"]
    assert r["valid"] is True and r["lease_overlaps"] == [], r


def test_no_fencing_is_caught_when_holders_are_cut_off_and_resource_writes_are_slow() -> None:
    r = lock_run(frozenset({"no-fencing"}), SLOW_HOLDERS, HOLDER_FAULTS, seed=2, seconds=12)
    assert r["valid"] is False and r["token_regressions"], r["summary"]


@pytest.mark.slow
@pytest.mark.parametrize(("flag", "workload", "kinds", "field"), BUGS)
def test_planted_bug_is_caught_in_9_of_10_seeded_runs(
    flag: str, workload: dict[str, int], kinds: tuple[str, ...], field: str
) -> None:
    caught = [bool(lock_run(frozenset({flag}), workload, kinds, seed=s)[field]) for s in range(10)]
    assert sum(caught) >= 9, caught
