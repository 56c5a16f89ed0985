"""Workers record honestly: invoke then ok/fail/info; an info or an exception moves to a fresh process id."""

from __future__ import annotations

import threading
import time
from typing import Any

from harness.history import HistoryWriter
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
    deadline = time.monotonic() + 5
    while workers.alive() and time.monotonic() < deadline:
        time.sleep(0.01)
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


def test_rate_limits_the_total_operation_rate() -> None:
    w = HistoryWriter()
    workers = Workers(
        CountingWorkload(10**6), lambda p: ScriptedClient([]), w, concurrency=4, seed=1, rate=100
    )
    workers.start()
    time.sleep(0.5)
    workers.stop()
    done = sum(1 for op in w.history() if op.type == "ok")
    assert 30 <= done <= 70, done


def test_stop_joins_every_worker() -> None:
    w = HistoryWriter()
    workers = Workers(CountingWorkload(10**6), lambda p: ScriptedClient([]), w, concurrency=3, seed=1)
    workers.start()
    time.sleep(0.05)
    workers.stop()
    assert not workers.alive() and workers.errors() == []
    assert threading.active_count() >= 1
