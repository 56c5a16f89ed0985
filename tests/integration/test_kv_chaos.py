"""The KV target under faults, checked for linearizability: the correct mode passes, each planted bug is
caught.

A small self-contained driver (worker threads recording an honest history, a nemesis thread recording its
faults as ops) runs against a cluster from ``harness.platform.open_cluster``;
``harness.checkers.linearizable`` judges the history. One seeded run per case is in the default integration
suite; the acceptance runs (10 seeds per bug, at least 9 must catch it) are marked ``slow``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.checkers.linearizable import check
from harness.history import History
from harness.net.grudge import isolate
from harness.op import Op
from harness.platform import open_cluster
from targets.kv.client import KvClient
from targets.kv.target import KvTarget
from targets.kv.workload import KvWorkload

pytestmark = pytest.mark.integration
WORKERS = 6
CLIENT_TIMEOUT = 1.5


class Recorder:
    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.lock = threading.Lock()
        self.t0 = time.monotonic_ns()

    def add(self, process: int | str, type_: str, f: str, value: Any, error: str | None = None) -> None:
        with self.lock:
            op = Op(len(self.ops), time.monotonic_ns() - self.t0, process, type_, f, value, error)  # type: ignore[arg-type]
            self.ops.append(op)


def target_with(flags: frozenset[str]) -> tuple[KvTarget, frozenset[str]]:
    # The target's class attribute ``flags`` lists the bugs it offers; the platform must enable only those
    # asked for, so the instance advertises none here and the wanted ones are passed explicitly.
    t = KvTarget()
    return t, flags


def find_leader(cluster: Any) -> str | None:
    for n in cluster.nodes:
        try:
            h = KvClient({n: cluster.client_addrs[n]}, 0, 0.5).request({"op": "health"})
        except OSError:
            continue
        if h.get("role") == "leader":
            return str(n)
    return None


def nemesis_partition_leader(cluster: Any, rng: random.Random, rec: Recorder, stop: threading.Event) -> None:
    while not stop.wait(rng.uniform(0.5, 1.0)):
        victim = find_leader(cluster) or rng.choice(cluster.nodes)
        grudge = isolate(cluster.nodes, victim)
        value = {"kind": "partition", "nodes": [victim], "grudge": {k: sorted(v) for k, v in grudge.items()}}
        rec.add("nemesis", "info", "start-partition", value)
        cluster.net.partition(grudge)
        stop.wait(rng.uniform(1.5, 2.5))
        cluster.net.heal()
        rec.add("nemesis", "info", "stop-partition", value)


def nemesis_kill_all(cluster: Any, rng: random.Random, rec: Recorder, stop: threading.Event) -> None:
    while not stop.wait(rng.uniform(2.5, 3.5)):
        value = {"kind": "kill", "nodes": list(cluster.nodes)}
        rec.add("nemesis", "info", "start-kill", value)
        for n in cluster.nodes:
            cluster.kill(n)
        for n in cluster.nodes:
            cluster.start(n)
        rec.add("nemesis", "info", "stop-kill", value)


def nemesis_mixed(cluster: Any, rng: random.Random, rec: Recorder, stop: threading.Event) -> None:
    kinds = ["partition", "kill", "pause"]
    while not stop.wait(rng.uniform(1.0, 2.0)):
        kind = rng.choice(kinds)
        victim = find_leader(cluster) or rng.choice(cluster.nodes)
        value = {"kind": kind, "nodes": [victim]}
        rec.add("nemesis", "info", f"start-{kind}", value)
        if kind == "partition":
            cluster.net.partition(isolate(cluster.nodes, victim))
            stop.wait(2.0)
            cluster.net.heal()
        elif kind == "kill":
            cluster.kill(victim)
            stop.wait(1.0)
            cluster.start(victim)
        else:
            cluster.pause(victim)
            stop.wait(2.0)
            cluster.resume(victim)
        rec.add("nemesis", "info", f"stop-{kind}", value)


Nemesis = Callable[[Any, random.Random, Recorder, threading.Event], None]


def run_kv(
    flags: frozenset[str], nemesis: Nemesis, seed: int, seconds: float, backend: str = "docker"
) -> History:
    target, wanted = target_with(flags)
    rng = random.Random(seed)
    workload = KvWorkload({"keys": 2, "values": 10})
    rec = Recorder()
    with open_cluster(target, nodes=3, backend=backend, flags=wanted) as cluster:
        cluster.wait_ready(timeout=60)
        time.sleep(1.5)  # first election
        stop = threading.Event()

        def worker(w: int) -> None:
            plan = workload.plan(w, random.Random(rng.random()))
            process = w
            client = KvClient(cluster.client_addrs, w, CLIENT_TIMEOUT)
            while not stop.is_set():
                step = plan.next(None)
                if step is None:
                    break
                f, value = step
                rec.add(process, "invoke", f, value)
                out = client.invoke(f, value)
                rec.add(process, out.type, f, out.value if out.type == "ok" else value, out.error)
                if out.type == "info":
                    process += WORKERS  # the old process may still be in flight: continue as a new one
                time.sleep(0.01)
            client.close()

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
        nem = threading.Thread(target=nemesis, args=(cluster, random.Random(seed), rec, stop))
        for t in [*threads, nem]:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in [*threads, nem]:
            t.join(30)
        cluster.net.heal()
        time.sleep(2.0)
        final = KvClient(cluster.client_addrs, 0, 2.0)
        for f, value in workload.final_ops():
            for _ in range(20):
                rec.add("final", "invoke", f, value)
                out = final.invoke(f, value)
                rec.add("final", out.type, f, out.value if out.type == "ok" else value, out.error)
                if out.type == "ok":
                    break
                time.sleep(0.3)
    return History(rec.ops)


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
    history = run_kv(frozenset(), nemesis_mixed, seed=11, seconds=12)
    counts = summary(history)
    assert counts.get("ok", 0) > 100, counts
    assert verdict(history) is True, counts


@pytest.mark.parametrize(
    ("flag", "nemesis", "seconds"),
    [
        ("stale-read", nemesis_partition_leader, 12),
        # a lost write needs a few leader partitions and luck with timing: under load one run can miss it,
        # so CI relies on experiments/kv-ack-before-commit.yaml (CI dry run) and the 10-seed slow test below
        pytest.param("ack-before-commit", nemesis_partition_leader, 30, marks=pytest.mark.slow),
        ("volatile-log", nemesis_kill_all, 12),
    ],
)
def test_each_planted_bug_is_caught_by_its_fault(flag: str, nemesis: Nemesis, seconds: float) -> None:
    history = run_kv(frozenset({flag}), nemesis, seed=1, seconds=seconds)
    assert verdict(history) is False, summary(history)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "nemesis"),
    [
        ("stale-read", nemesis_partition_leader),
        ("ack-before-commit", nemesis_partition_leader),
        ("volatile-log", nemesis_kill_all),
    ],
)
def test_each_planted_bug_is_caught_in_9_of_10_seeded_runs(flag: str, nemesis: Nemesis) -> None:
    caught = sum(verdict(run_kv(frozenset({flag}), nemesis, seed=s, seconds=30)) is False for s in range(10))
    assert caught >= 9, f"{flag}: caught in {caught} of 10 runs"


@pytest.mark.slow
def test_correct_mode_passes_every_seeded_run() -> None:
    verdicts = [verdict(run_kv(frozenset(), nemesis_mixed, seed=s, seconds=10)) for s in range(5)]
    assert all(v is True for v in verdicts), verdicts
