"""A worker backs off after an op that did not complete ok (doubling, bounded, reset by an ok), so a node that
refuses at once is not asked thousands of times a second (issue 22: an all-down run recorded 110,000 failures
in 10 s on the local backend, and checking and drawing them took longer than the run)."""

from __future__ import annotations

import threading
from typing import Any

from harness.history import HistoryWriter
from harness.runtime.clock import ManualClock
from harness.runtime.workers import BACKOFF_MAX_S, BACKOFF_S, Worker
from harness.target import Completion


class Script:
    """A client answering with the given completion types in turn; a plan of as many writes."""

    def __init__(self, types: list[str]) -> None:
        self.types = types
        self.i = 0

    def invoke(self, f: str, value: Any) -> Completion:
        t = self.types[self.i]
        self.i += 1
        return Completion(t, value if t == "ok" else None, None if t == "ok" else "refused")  # type: ignore[arg-type]

    def close(self) -> None:
        pass

    def plan(self, process: int, rng: Any) -> Any:
        script = self

        class Plan:
            def next(self, last: Any) -> tuple[str, Any] | None:
                return ("write", 1) if script.i < len(script.types) else None

        return Plan()


def waits(types: list[str]) -> list[float]:
    script = Script(types)
    clock = ManualClock()
    w = Worker(0, 1, script, lambda p: script, HistoryWriter(), threading.Event(), 1, None, clock)  # type: ignore[arg-type]
    w.run()
    assert w.error is None and w.ops == len(types)
    return [round(s, 6) for _, s in clock.log]


def test_consecutive_failures_back_off_doubling_up_to_the_bound() -> None:
    got = waits(["fail"] * 6)
    assert got == [BACKOFF_S, 2 * BACKOFF_S, 4 * BACKOFF_S, 8 * BACKOFF_S, BACKOFF_MAX_S, BACKOFF_MAX_S]


def test_an_ok_resets_the_back_off_and_ok_ops_never_wait() -> None:
    assert waits(["ok", "ok", "ok"]) == []
    assert waits(["fail", "fail", "ok", "fail", "ok"]) == [BACKOFF_S, 2 * BACKOFF_S, BACKOFF_S]
