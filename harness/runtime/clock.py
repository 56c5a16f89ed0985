"""The time a run waits on: read it (``now``) and wait on it (``wait``), injected so tests need no sleeps.

Everything in the runtime that waits -- the nemesis following its schedule, the interpreter's workload window,
recovery pause and final-op retries -- waits through a ``Clock``: ``wait(event, seconds)`` returns ``True`` as
soon as ``event`` is set, else ``False`` after ``seconds``. ``MONOTONIC`` is the real one. A test passes a
clock whose ``wait`` advances its own time instead of sleeping (``ManualClock``), and then asserts a
schedule's exact timing and order in microseconds of real time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Seconds on a monotonic scale, and a wait that an event cuts short."""

    def now(self) -> float: ...

    def wait(self, event: threading.Event, seconds: float) -> bool: ...


class MonotonicClock:
    """Real time: ``time.monotonic`` and ``Event.wait``."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


MONOTONIC: Clock = MonotonicClock()


class ManualClock:
    """Simulated time for tests: ``wait`` returns at once, moving ``now`` forward by what it would have slept.

    Use it from one thread (drive a nemesis's ``run()`` directly); ``log`` lists every wait as
    ``(start, seconds)`` so a test can also assert how the waiting went.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.log: list[tuple[float, float]] = []

    def now(self) -> float:
        return self.t

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.log.append((self.t, seconds))
        self.t += max(0.0, seconds)
        return event.is_set()

    def ns(self) -> int:
        """``now`` in nanoseconds: ``HistoryWriter(clock=manual.ns)`` stamps ops in this time."""
        return round(self.t * 1e9)
