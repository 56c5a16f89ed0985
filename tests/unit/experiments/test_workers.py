"""Workers record honestly: invoke then ok/fail/info; an info or an exception moves to a fresh process id."""

from __future__ import annotations

import threading
from typing import Any

from harness.history import HistoryWriter
from harness.runtime.clock import ManualClock
from harness.runtime.workers import Workers, call
from harness.target import Completion


class ScriptedClient:
    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.closed = False

    def invoke(self, f: str, value: Any) -> Completion:
        out = self.outcomes.pop(0) if self.outcomes else Completion("ok", value)
        if isinstance(out, Exception):
            raise out
        return out

    def close(self) -> None:
        self.closed = True


class CountingWorkload:
    name = "count"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.plans: list[int] = []

    def plan(self, process: int, rng: Any) -> Any:
        self.plans.append(process)
        workload = self

        class Plan:
            n = 0

            def next(self, last: Any) -> tuple[str, Any] | None:
                self.n += 1
                return None if self.n > workload.limit else ("write", {"n": self.n})

        return Plan()

    def final_ops(self) -> list[tuple[str, Any]]:
        return []

    def checkers(self) -> dict[str, Any]:
        return {}


def test_call_records_an_exception_as_info_with_the_error() -> None:
    w = HistoryWriter()
    out = call(w, ScriptedClient([RuntimeError("socket closed")]), 3, "read", {"key": "a"})
    assert out.type == "info"
    inv, done = w.history()
    assert (inv.type, done.type, done.process, done.error) == (
        "invoke",
        "info",
        3,
        "RuntimeError: socket closed",
    )


def test_info_and_exceptions_continue_as_fresh_processes() -> None:
    w = HistoryWriter()
    clients: list[ScriptedClient] = []
    scripts: list[list[Any]] = [
        [Completion("ok", 1), Completion("info", None, "timeout")],
        [ValueError("boom")],
        [],
    ]

    def make_client(process: int) -> ScriptedClient:
        clients.append(ScriptedClient(scripts[len(clients)] if len(clients) < len(scripts) else []))
        return clients[-1]

    wl = CountingWorkload(limit=2)
    workers = Workers(wl, make_client, w, concurrency=2, seed=1)
    workers.workers = workers.workers[:1]  # one slot; concurrency 2 means fresh ids go 0 -> 2 -> 4
    workers.start()
    assert workers.finished.wait(5), "the worker never finished its plan"
    workers.stop()
    ops = [(op.process, op.type) for op in w.history()]
    assert ops == [
        (0, "invoke"),
        (0, "ok"),
        (0, "invoke"),
        (0, "info"),
        (2, "invoke"),
        (2, "info"),
        (4, "invoke"),
        (4, "ok"),
        (4, "invoke"),
        (4, "ok"),
    ]
    assert wl.plans == [0, 2, 4] and all(c.closed for c in clients)
    w.history().pairs()  # a well-formed history: no process has two open ops


def test_rate_spaces_each_workers_ops_exactly_on_the_clock() -> None:
    """``rate`` is shared: each of 4 workers waits 4 / rate between its ops, on the injected clock."""
    assert {
        w.interval
        for w in Workers(
            CountingWorkload(1), ScriptedClient, HistoryWriter(), concurrency=4, seed=1, rate=100
        ).workers
    } == {0.04}
    clock = ManualClock(start=50.0)
    w = HistoryWriter(clock=clock.ns)
    workers = Workers(
        CountingWorkload(4), lambda p: ScriptedClient([]), w, concurrency=1, seed=1, rate=4, clock=clock
    )
    workers.start()
    assert workers.finished.wait(5)
    workers.stop()
    invokes = [op.time / 1e9 for op in w.history() if op.type == "invoke"]
    assert invokes == [0.25, 0.5, 0.75, 1.0]  # one op every 1 / rate s, not one at once then a burst
    assert [s for _, s in clock.log] == [0.25] * 5  # the fifth wait precedes the plan saying it is done


class BlockingClient(ScriptedClient):
    """Holds each call until released, so ``stop`` must wait for the op in flight."""

    def __init__(self, release: threading.Event, calls: threading.Event) -> None:
        super().__init__([])
        self.release, self.calls = release, calls

    def invoke(self, f: str, value: Any) -> Completion:
        self.calls.set()
        self.release.wait(5)
        return Completion("ok", value)


def test_stop_lets_the_op_in_flight_complete_then_joins_every_worker() -> None:
    w = HistoryWriter()
    release, calls = threading.Event(), threading.Event()
    workers = Workers(
        CountingWorkload(10**6), lambda p: BlockingClient(release, calls), w, concurrency=3, seed=1
    )
    workers.start()
    assert calls.wait(5)
    threading.Timer(0.05, release.set).start()  # the op in flight completes while stop() waits
    workers.stop()
    assert not workers.alive() and workers.finished.is_set() and workers.errors() == []
    h = w.history()
    assert len(h) >= 2 and h[-1].type == "ok"
    assert all(p.complete is not None for p in h.pairs()), "stop returned with an op still open"
