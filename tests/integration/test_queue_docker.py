"""The queue in containers behind the Toxiproxy mesh (``harness.platform.open_cluster``, docker backend).

The correct design shows no lost, duplicated or unexpected effect under consumer kill -9 / pause past the
lease, broker kill -9 / pause, consumer->broker partitions and latency on the consumer->sink links; each
planted bug is caught by ``harness.checkers.exactly_once``. One seeded run per case here; the acceptance runs
(10 seeds per bug, at least 9 must catch it, each run well under 60 s) are marked ``slow``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from fault_kinds import KINDS

from chaos_targets.queue.target import QueueTarget
from chaos_targets.queue.workload import QueueWorkload
from harness.checkers.base import Result
from harness.checkers.exactly_once import check
from harness.platform import open_cluster
from harness.runtime.interpreter import play
from harness.runtime.nemesis import FaultLoop
from harness.schedule import FaultEvent

pytestmark = pytest.mark.integration
OPTIONS = {"lease_ms": 400, "work_ms": 20, "idle_ms": 10, "rpc_timeout_ms": 1000}
ALL = ("consumer-kill", "consumer-pause", "broker-kill", "broker-pause", "partition", "sink-latency")


def fault_loop(kinds: tuple[str, ...], seed: int) -> FaultLoop:
    """Seeded faults on a platform cluster, one at a time; the nemesis records each and undoes it."""

    def choose(cluster: Any, rng: random.Random) -> FaultEvent:
        consumers = [n for n in cluster.nodes if n.startswith("c")]
        kind = rng.choice(kinds)
        node = "broker" if kind.startswith("broker") else rng.choice(consumers)
        if kind.endswith("kill"):
            return FaultEvent("kill", 0, 0.3, {"nodes": [node]})
        if kind.endswith("pause"):  # three leases: the message goes to another consumer meanwhile
            return FaultEvent("pause", 0, 1.2, {"nodes": [node]})
        if kind == "partition":  # the consumer cannot reach the broker (it still reaches the sink)
            return FaultEvent("grudge", 0, 1.0, {"grudge": {node: ["broker"]}})
        links = [[c, "sink"] for c in consumers]
        return FaultEvent("link", 0, 1.5, {"toxic": "latency", "latency": 300, "links": links})

    return FaultLoop(choose, gap=(0.3, 0.8), seed=seed, kinds=KINDS)


def queue_run(flags: frozenset[str], kinds: tuple[str, ...], seed: int, seconds: float = 8.0) -> Result:
    target = QueueTarget()
    # this test slows links with Toxiproxy toxics: route them through proxies (docker is direct otherwise)
    with open_cluster(
        target, nodes=3, backend="docker", flags=flags, options=OPTIONS, proxies=("peers", "clients")
    ) as cluster:
        cluster.wait_ready(timeout=60)
        h = play(
            cluster,
            target,
            QueueWorkload({"interval_ms": 25}),
            concurrency=3,
            duration=seconds,
            seed=seed,
            faults=fault_loop(kinds, seed),
            timeout=0.5,
            final_timeout=5.0,
        )
    return check(h)


BUGS = [
    ("no-dedup", ("consumer-pause",), "duplicated"),
    ("ack-before-apply", ("consumer-kill",), "lost"),
    ("producer-retry-duplicates", ("broker-pause",), "duplicated"),
]


def test_correct_queue_is_exactly_once_under_every_fault() -> None:
    r = queue_run(frozenset(), ALL, seed=3, seconds=12)
    assert r.details["counts"]["sent_ok"] > 100, r.details["counts"]
    assert r.valid is True, r.summary


@pytest.mark.parametrize(("flag", "kinds", "field"), BUGS)
def test_planted_bug_is_caught(flag: str, kinds: tuple[str, ...], field: str) -> None:
    r = queue_run(frozenset({flag}), kinds, seed=1)
    assert r.valid is False and r.details[field], r.summary


@pytest.mark.slow
@pytest.mark.parametrize(("flag", "kinds", "field"), BUGS)
def test_planted_bug_is_caught_in_9_of_10_seeded_runs(flag: str, kinds: tuple[str, ...], field: str) -> None:
    caught = [bool(queue_run(frozenset({flag}), kinds, seed=s).details[field]) for s in range(10)]
    assert sum(caught) >= 9, caught
