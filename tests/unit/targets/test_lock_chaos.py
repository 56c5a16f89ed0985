"""End-to-end lock runs on local processes (no Docker, no proxies): with fencing and the replicated counter
the accepted critical sections never overlap under leader kills and holders stalled past their lease, and each
planted bug is caught; bad node configuration stops a node at start with a one-line message."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.lock_safety import check
from harness.history import History
from targets.lock.target import LockTarget
from targets.lock.workload import LockWorkload
from targets.queue.localrun import ROOT, LocalNodes, free_port
from targets.queue.scenario import Nemesis, run
from targets.queue.wire import Indefinite, LineClient, NotSent

RAFT = {"heartbeat_ms": 30, "election_min_ms": 150, "election_max_ms": 300, "propose_timeout_ms": 1000}


def verdict(history: History) -> dict[str, Any]:
    r = check(history)
    return {**r.details, "valid": r.valid}


def leader_kills(nodes: LocalNodes, rng: random.Random, stop: threading.Event, nem: Nemesis) -> None:
    replicas = [n for n in nodes.topology.nodes if n != "resource"]
    while not stop.wait(rng.uniform(0.4, 0.7)):
        leader = None
        for n in replicas:
            c = LineClient(nodes.addrs[n].host, nodes.addrs[n].port, 0.3)
            try:
                if c.call({"op": "health"}).get("role") == "leader":
                    leader = n
            except (NotSent, Indefinite):
                pass
            finally:
                c.close()
        if leader is None:
            continue
        nem.start("kill", [leader])
        nodes.kill(leader)
        time.sleep(0.2)
        nodes.start(leader)
        nem.stop("kill", [leader])


def chaos_run(
    tmp: Path, flags: set[str], seed: int, workload: dict[str, int], kill_leaders: bool, duration: float = 2.5
) -> dict[str, Any]:
    target = LockTarget()
    with LocalNodes(target, 3, str(tmp / f"run{seed}"), frozenset(flags), RAFT) as nodes:
        nodes.start_all()
        h = run(
            target,
            LockWorkload(workload),
            nodes,
            workers=3,
            duration=duration,
            seed=seed,
            fault=leader_kills if kill_leaders else None,
            timeout=0.5,
        )
    return verdict(h)


STALLS = {"lease_ms": 300, "stall_probability_pct": 30, "work_ms": 10, "retry_ms": 10}


def test_correct_lock_is_safe_under_leader_kills_and_stalled_holders(tmp_path: Path) -> None:
    r = chaos_run(tmp_path, set(), 1, STALLS, kill_leaders=True, duration=3.0)
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
def test_planted_bug_is_caught(
    tmp_path: Path, flag: str, workload: dict[str, int], kill: bool, field: str
) -> None:
    r = chaos_run(tmp_path, {flag}, 1, workload, kill_leaders=kill)
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
        [sys.executable, "-m", "targets.lock.node", *base, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("lock node: error: ") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
