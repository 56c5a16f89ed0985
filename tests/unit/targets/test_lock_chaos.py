"""End-to-end lock runs on the ``local`` backend (no Docker) through the run interpreter: with fencing and
the replicated counter the accepted critical sections never overlap under leader kills and holders stalled
past their lease, and each planted bug is caught; bad node configuration stops a node at start with a
one-line message."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chaos_targets.lock.client import current_leader
from chaos_targets.lock.target import LockTarget
from chaos_targets.lock.workload import LockWorkload
from harness.checkers.lock_safety import check
from harness.cluster.local import free_port
from harness.cluster.rundir import project_root
from harness.history import History
from harness.platform import open_cluster
from harness.runtime.interpreter import play
from harness.runtime.nemesis import FaultLoop
from harness.schedule import FaultEvent

RAFT = {"heartbeat_ms": 30, "election_min_ms": 150, "election_max_ms": 300, "propose_timeout_ms": 1000}
ROOT = project_root()


def verdict(history: History) -> dict[str, Any]:
    r = check(history)
    return {**r.details, "valid": r.valid}


def find_leader(cluster: Any) -> str | None:
    return current_leader(cluster.client_addrs, 0.3)


def leader_kills(seed: int) -> FaultLoop:
    """Every 0.4-0.7 s the current leader is killed (-9) and started again 0.2 s later."""

    def choose(cluster: Any, rng: random.Random) -> FaultEvent | None:
        leader = find_leader(cluster)
        return None if leader is None else FaultEvent("kill", 0, 0.2, {"nodes": [leader]})

    return FaultLoop(choose, gap=(0.4, 0.7), seed=seed)


def chaos_run(
    flags: set[str], seed: int, workload: dict[str, int], kill_leaders: bool, duration: float = 2.5
) -> dict[str, Any]:
    target = LockTarget()
    with open_cluster(target, nodes=3, backend="local", flags=frozenset(flags), options=RAFT) as cluster:
        cluster.wait_ready(timeout=30)
        h = play(
            cluster,
            target,
            LockWorkload(workload),
            concurrency=3,
            duration=duration,
            seed=seed,
            faults=leader_kills(seed) if kill_leaders else None,
            timeout=0.5,
            final_timeout=5.0,
        )
    return verdict(h)


STALLS = {"lease_ms": 300, "stall_probability_pct": 30, "work_ms": 10, "retry_ms": 10}


def test_correct_lock_is_safe_under_leader_kills_and_stalled_holders() -> None:
    r = chaos_run(set(), 1, STALLS, kill_leaders=True, duration=3.0)
    assert r["grants"] > 10 and r["writes"] > 10
    assert r["valid"] is True and r["lease_overlaps"] == [], r


@pytest.mark.parametrize(
    ("flag", "workload", "kill", "field"),
    [
        ("no-fencing", STALLS, False, "token_regressions"),
        (
            "early-grant",
            {"lease_ms": 400, "writes": 3, "work_ms": 100, "retry_ms": 10},
            False,
            "lease_overlaps",
        ),
        ("token-reset", {"lease_ms": 100, "work_ms": 5, "retry_ms": 5}, True, "duplicate_grants"),
    ],
)
def test_planted_bug_is_caught(flag: str, workload: dict[str, int], kill: bool, field: str) -> None:
    r = chaos_run({flag}, 1, workload, kill_leaders=kill)
    assert r[field], f"{flag}: no {field} observed: {r}"
    assert r["valid"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "lock"], "a lock node needs its Raft peers"),
        (["--role", "lock", "--peer", "n2"], "--peer 'n2': expected NAME=HOST:PORT"),
        (["--role", "resource", "--flags", "no-dedup"], "unknown flag 'no-dedup'; valid flags: early-grant"),
        (
            ["--role", "lock", "--peer", "n2=h:1", "--option", "election_min_ms=900"],
            "election_min_ms is greater than election_max_ms",
        ),
    ],
)
def test_bad_configuration_stops_the_node_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    base = ["--name", "n1", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path)]
    proc = subprocess.run(
        [sys.executable, "-m", "chaos_targets.lock.node", *base, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("lock node: error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
