"""kv workload: workers that stay put (``pin``) and read-only workers (``read_only``), issue 23 point 5.

A pinned worker's client is given its node alone, also as the fresh process after an ``info``; the first
``read_only`` workers only read; the runtime hands a worker's slot to plans that take it."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from chaos_targets.kv.workload import KvWorkload
from harness.errors import BadInput
from harness.history import HistoryWriter
from harness.runtime.workers import Workers
from harness.target import Completion


def test_read_only_workers_only_read_and_the_others_mix() -> None:
    w = KvWorkload({"read_only": 2, "ops": 200})
    for slot in (0, 1):
        fs = {w.plan(slot, random.Random(slot), slot=slot).next(None)[0] for _ in range(50)}  # type: ignore[index]
        assert fs == {"read"}
    plan = w.plan(2, random.Random(2), slot=2)
    assert {plan.next(None)[0] for _ in range(100)} == {"read", "write", "cas"}  # type: ignore[index]


def test_pin_gives_each_worker_slot_one_node() -> None:
    nodes = ["n1", "n2", "n3"]
    assert [KvWorkload({"pin": True}).node_for(s, nodes) for s in range(5)] == ["n1", "n2", "n3", "n1", "n2"]
    assert KvWorkload({}).node_for(0, nodes) is None


@pytest.mark.parametrize(
    ("opts", "msg"), [({"pin": 1}, "workload.pin"), ({"read_only": -1}, "workload.read_only")]
)
def test_bad_values_are_refused(opts: dict[str, Any], msg: str) -> None:
    with pytest.raises(BadInput, match=msg):
        KvWorkload(opts)


def test_a_worker_keeps_its_slot_across_fresh_processes() -> None:
    """The runtime passes ``slot=`` (process % concurrency): after an ``info`` the fresh process plans as the
    same worker, so a read-only worker stays read-only."""
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    class Recording(KvWorkload):
        def plan(self, process: int, rng: Any, slot: int | None = None) -> Any:
            with lock:
                seen.append((process, -1 if slot is None else slot))
            return super().plan(process, rng, slot=slot)

    class Flaky:
        def __init__(self, process: int) -> None:
            self.first = process < 2  # the first processes time out once; their successors do not

        def invoke(self, f: str, value: Any) -> Completion:
            if self.first:
                self.first = False
                return Completion("info", error="timeout")
            return Completion("ok", value)

        def close(self) -> None: ...

    workers = Workers(Recording({"read_only": 1, "ops": 3}), Flaky, HistoryWriter(), concurrency=2, seed=1)
    workers.start()
    assert workers.finished.wait(30)
    workers.stop()
    assert {(p, s) for p, s in seen} >= {(0, 0), (1, 1), (2, 0), (3, 1)}
    assert all(p % 2 == s for p, s in seen)
