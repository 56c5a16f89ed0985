"""A small seeded chaos run on a set of nodes: worker threads, one fault thread, a final phase, a History.

Used by the queue and lock unit tests and by ``bench/queue_lock_bench.py`` to exercise the services end to end
without Docker or the runner: each worker follows its workload plan and records ``invoke`` and the client's
``Outcome`` in a ``HistoryWriter``; ``fault`` (a function of the nodes, a seeded rng, a stop event and a
recorder) injects kills / pauses and records them as nemesis ops, and must leave every node running when the
stop event is set; then the workload's final ops run and the whole history is returned. The real runner
(``harness.run``) does the same with the proxy mesh and the fault packages.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from harness.history import History, HistoryWriter
from harness.target import Addr, Outcome, Target, Workload


class Nodes(Protocol):
    """What a run needs of a cluster: ``LocalNodes``, or ``harness.platform.Cluster`` in integration tests."""

    @property
    def client_addrs(self) -> Mapping[str, Addr]: ...


Fault = Callable[[Any, random.Random, threading.Event, "Nemesis"], None]


class Nemesis:
    """Records fault starts and ends as nemesis ops in the run's history."""

    def __init__(self, rec: HistoryWriter) -> None:
        self.rec = rec

    def start(self, kind: str, nodes: list[str]) -> None:
        self.rec.record("nemesis", "info", f"start-{kind}", {"kind": kind, "nodes": nodes})

    def stop(self, kind: str, nodes: list[str]) -> None:
        self.rec.record("nemesis", "info", f"stop-{kind}", {"kind": kind, "nodes": nodes})


def _worker(
    target: Target,
    nodes: Nodes,
    workload: Workload,
    process: int,
    seed: int,
    stop: threading.Event,
    rec: HistoryWriter,
    timeout: float,
) -> None:
    client = target.client(nodes.client_addrs, process, timeout)
    plan = workload.plan(process, random.Random(seed * 1000 + process))
    last: tuple[str, Any, Outcome] | None = None
    try:
        while not stop.is_set():
            nxt = plan.next(last)
            if nxt is None:
                break
            f, value = nxt
            rec.record(process, "invoke", f, value)
            out = client.invoke(f, value)
            rec.record(process, out.type, f, out.value if out.type == "ok" else value, error=out.error)
            last = (f, value, out)
    finally:
        client.close()


def run(
    target: Target,
    workload: Workload,
    nodes: Nodes,
    *,
    workers: int,
    duration: float,
    seed: int,
    fault: Fault | None = None,
    timeout: float = 1.0,
) -> History:
    """Run workers and ``fault`` for ``duration`` seconds, then the final ops; returns the history."""
    rec = HistoryWriter()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_worker, args=(target, nodes, workload, p, seed, stop, rec, timeout), daemon=True
        )
        for p in range(workers)
    ]
    if fault is not None:
        threads.append(
            threading.Thread(target=fault, args=(nodes, random.Random(seed), stop, Nemesis(rec)), daemon=True)
        )
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    final = target.client(nodes.client_addrs, workers, max(timeout, 5.0))
    try:
        for f, value in workload.final_ops():
            rec.record(workers, "invoke", f, value)
            out = final.invoke(f, value)
            rec.record(workers, out.type, f, out.value if out.type == "ok" else value, error=out.error)
    finally:
        final.close()
    return rec.history()
