"""Interrupts (SIGINT, SIGTERM) that unwind a run exactly once and never cut its cleanup short.

    with trapped():                 # the CLI and the runner: both signals raise KeyboardInterrupt, once
        ...
        with shielded():            # teardown, and the few calls whose effect must be recorded first
            ...                     # a signal here is only noted; it is raised when the shield ends

Rules: the first signal outside a shield raises ``KeyboardInterrupt`` in the main thread; every later
signal is only noted (so the unwinding it started, i.e. teardown, is never cut in half by a second Ctrl-C
or SIGTERM);
a signal that arrives inside a shield is raised when the outermost shield ends, unless another exception is
already unwinding. Signal dispositions belong to the whole process, so this state is one module-level object
(``TRAP``); only the main thread installs handlers, elsewhere both context managers do nothing.
``hold(point)`` is a test hook: when ``CHAOS_TEST_HOLD`` names ``point`` the run stops there until a signal
arrives (or 30 s pass), so interrupt tests can hit each phase exactly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
HOLD_ENV = "CHAOS_TEST_HOLD"


class _Trap:
    def __init__(self) -> None:
        self.depth = 0  # nesting of trapped()
        self.shield = 0  # nesting of shielded()
        self.raised = False  # a KeyboardInterrupt has been raised for a signal
        self.pending: int | None = None  # a signal noted inside a shield, not raised yet
        self.count = 0  # signals received since the outermost trapped() began
        self._old: dict[int, Any] = {}

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.raised:
            return
        if self.shield:
            self.pending = signum
            return
        self.raised = True
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    def install(self) -> None:
        self._old = {s: signal.signal(s, self.handler) for s in SIGNALS}

    def restore(self) -> None:
        for s, old in self._old.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)
        self._old = {}
        self.raised, self.pending, self.count = False, None, 0


TRAP = _Trap()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def trapped() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` once (nestable; main thread only)."""
    if not _main_thread():
        yield
        return
    if TRAP.depth == 0:
        TRAP.install()
    TRAP.depth += 1
    try:
        yield
    finally:
        TRAP.depth -= 1
        if TRAP.depth == 0:
            TRAP.restore()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Signals are only noted inside; the first one is raised when the outermost shield ends."""
    if not _main_thread():
        yield
        return
    with trapped():
        TRAP.shield += 1
        try:
            yield
        finally:
            TRAP.shield -= 1
        # reached only when the body did not raise: a noted signal is raised now
        if TRAP.shield == 0 and TRAP.pending is not None and not TRAP.raised:
            signum, TRAP.pending = TRAP.pending, None
            TRAP.raised = True
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def ignore_after_trap() -> None:
    """The process is about to exit after an interrupt: when the outermost trap ends, ignore both signals
    (a late second signal must not turn exit 130 into death by SIGTERM). For the program's entry only."""
    if _main_thread():
        TRAP._old = dict.fromkeys(SIGNALS, signal.SIG_IGN)


def interrupted() -> bool:
    """Whether a signal has been raised or noted in the current trap."""
    return TRAP.raised or TRAP.pending is not None


def hold(point: str) -> None:
    """Test hook (``CHAOS_TEST_HOLD=point``): say so on stderr and wait for a signal (at most 30 s)."""
    if os.environ.get(HOLD_ENV) != point:
        return
    seen = TRAP.count
    print(f"chaos-test-hold {point}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 30
    while TRAP.count == seen and time.monotonic() < deadline:
        time.sleep(0.02)
