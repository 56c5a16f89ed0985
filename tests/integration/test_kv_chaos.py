"""The KV target under faults, checked for linearizability: the correct mode passes, each planted bug is
caught.

The run interpreter (``harness.runtime.interpreter.play``: workers recording an honest history, a nemesis
playing a ``FaultLoop`` on whichever node leads now and recording its faults as ops, heal, recovery, final
reads) drives a cluster from ``harness.platform.open_cluster``; ``harness.checkers.linearizable`` judges the
history. One seeded run per case is in the default integration suite; the acceptance runs (10 seeds per bug,
at least 9 must catch it) are marked ``slow``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from chaos_targets.kv.client import KvClient
from chaos_targets.kv.target import KvTarget
from chaos_targets.kv.workload import KvWorkload
from harness.checkers.linearizable import check
from harness.history import History
from harness.platform import open_cluster
from harness.runtime.interpreter import play
from harness.runtime.nemesis import FaultLoop
from harness.schedule import FaultEvent

pytestmark = pytest.mark.integration
WORKERS = 6
RATE = 340  # ops/s in all: about what six workers pausing 10 ms between ops reach on these machines
CLIENT_TIMEOUT = 1.5


def find_leader(cluster: Any) -> str | None:
    for n in cluster.nodes:
        try:
            h = KvClient({n: cluster.client_addrs[n]}, 0, 0.5).request({"op": "health"})
        except OSError:
            continue
        if h.get("role") == "leader":
            return str(n)
    return None


def wait_for_leader(cluster: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while find_leader(cluster) is None:
        assert time.monotonic() < deadline, f"no leader elected within {timeout:g} s"
        time.sleep(0.1)


def partition_leader(seed: int) -> FaultLoop:
    """Every 0.5-1 s the leader (or any node) is isolated for 1.5-2.5 s."""

    def choose(cluster: Any, rng: random.Random) -> FaultEvent:
        victim = find_leader(cluster) or rng.choice(cluster.nodes)
        return FaultEvent("partition", 0, rng.uniform(1.5, 2.5), {"shape": "isolate", "nodes": [victim]})

    return FaultLoop(choose, gap=(0.5, 1.0), seed=seed)


def kill_all(seed: int) -> FaultLoop:
    """Every 2.5-3.5 s every node is killed (-9), then all are started again at once."""

    def choose(cluster: Any, rng: random.Random) -> FaultEvent:
        return FaultEvent("kill", 0, 0.0, {"nodes": list(cluster.nodes)})

    return FaultLoop(choose, gap=(2.5, 3.5), seed=seed)


def mixed(seed: int) -> FaultLoop:
    """Every 1-2 s the leader is isolated (2 s), killed (1 s) or paused (2 s)."""

    def choose(cluster: Any, rng: random.Random) -> FaultEvent:
        kind = rng.choice(["partition", "kill", "pause"])
        victim = find_leader(cluster) or rng.choice(cluster.nodes)
        if kind == "partition":
            return FaultEvent("partition", 0, 2.0, {"shape": "isolate", "nodes": [victim]})
        return FaultEvent(kind, 0, 1.0 if kind == "kill" else 2.0, {"nodes": [victim]})

    return FaultLoop(choose, gap=(1.0, 2.0), seed=seed)


Nemesis = Callable[[int], FaultLoop]


def run_kv(
    flags: frozenset[str], nemesis: Nemesis, seed: int, seconds: float, backend: str = "docker"
) -> History:
    target = KvTarget()
    with open_cluster(target, nodes=3, backend=backend, flags=flags) as cluster:
        cluster.wait_ready(timeout=60)
        wait_for_leader(cluster)
        return play(
            cluster,
            target,
            KvWorkload({"keys": 2, "values": 10}),
            concurrency=WORKERS,
            rate=RATE,
            duration=seconds,
            seed=seed,
            faults=nemesis(seed),
            timeout=CLIENT_TIMEOUT,
            recovery=2.0,
            final_timeout=2.0,
            final_tries=20,
            final_backoff=0.3,
        )


def verdict(history: History) -> Any:
    result = check(history, model="kv", time_limit=120)
    print(f"linearizable: {result.valid} ({len(history)} ops, {result.details.get('elapsed_s')} s)")
    return result.valid


def summary(history: History) -> dict[str, int]:
    out: dict[str, int] = {}
    for op in history.client_ops():
        if op.type != "invoke":
            out[op.type] = out.get(op.type, 0) + 1
    return out


def test_correct_mode_is_linearizable_under_partitions_kills_and_pauses() -> None:
    history = run_kv(frozenset(), mixed, seed=11, seconds=12)
    counts = summary(history)
    assert counts.get("ok", 0) > 100, counts
    assert verdict(history) is True, counts


@pytest.mark.parametrize(
    ("flag", "nemesis", "seconds"),
    [
        ("stale-read", partition_leader, 12),
        # a lost write needs a few leader partitions and luck with timing: under load one run can miss it,
        # so CI relies on experiments/kv-ack-before-commit.yaml (CI dry run) and the 10-seed slow test below
        pytest.param("ack-before-commit", partition_leader, 30, marks=pytest.mark.slow),
        ("volatile-log", kill_all, 12),
    ],
)
def test_each_planted_bug_is_caught_by_its_fault(flag: str, nemesis: Nemesis, seconds: float) -> None:
    history = run_kv(frozenset({flag}), nemesis, seed=1, seconds=seconds)
    assert verdict(history) is False, summary(history)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "nemesis"),
    [
        ("stale-read", partition_leader),
        ("ack-before-commit", partition_leader),
        ("volatile-log", kill_all),
    ],
)
def test_each_planted_bug_is_caught_in_9_of_10_seeded_runs(flag: str, nemesis: Nemesis) -> None:
    caught = sum(verdict(run_kv(frozenset({flag}), nemesis, seed=s, seconds=30)) is False for s in range(10))
    assert caught >= 9, f"{flag}: caught in {caught} of 10 runs"


@pytest.mark.slow
def test_correct_mode_passes_every_seeded_run() -> None:
    verdicts = [verdict(run_kv(frozenset(), mixed, seed=s, seconds=10)) for s in range(5)]
    assert all(v is True for v in verdicts), verdicts
