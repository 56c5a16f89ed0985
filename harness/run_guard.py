"""The runner's side of the steady-state hypothesis: probes before faults, the abort monitor, and what they
leave in the bundle.

``harness.probes`` knows probes; this module ties them to one run. Op probes go through the target's client
and are recorded in the history like any other client op (a probe's write is a real write, and checkers must
see it); an op probe continues as a fresh process after anything but ``ok``. A hypothesis that does not
hold, or an abort that trips, is recorded as a nemesis op (``f`` = ``steady-state-failed`` / ``abort``, value
= the probe and what it saw) and in ``run.json`` (``steady_state`` / ``aborted``); and the verdict gains a
``steady-state`` result that is ``unknown`` (an untested or cut-short run proves nothing about passing,
though a violation found before an abort still stands).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.bundle import Bundle
from harness.checkers.base import UNKNOWN, Composite, PlainDetails, Result
from harness.history import HistoryWriter
from harness.op import NEMESIS
from harness.probes import AbortMonitor, OpCall, ProbeFailure, SteadyState, verify
from harness.runtime.workers import call

STEADY = "steady-state"
PROBE_PROCESS_BASE = 1_000_000  # op probes run as their own processes, far from the workers' ids


class Guard:
    """One run's steady-state checks; a no-op when the experiment declares no ``steady_state``."""

    def __init__(self, steady: SteadyState | None, writer: HistoryWriter, bundle: Bundle) -> None:
        self.steady, self.writer, self.bundle = steady, writer, bundle
        self.not_steady: ProbeFailure | None = None
        self.aborted: ProbeFailure | None = None
        self.monitor: AbortMonitor | None = None
        self._process = PROBE_PROCESS_BASE + 1

    def _op_call(self, make_client: Callable[[int], Any]) -> OpCall:
        def op(f: str, value: Any) -> str:
            client = make_client(self._process)
            try:
                kind = call(self.writer, client, self._process, f, value).type
            finally:
                client.close()
            # A fresh process after anything but ok: after an unknown outcome a process is never reused (as
            # a worker does), and after a failure the next check may reach the service another way (the
            # kv client picks its node by process id): a streak of failures means the service, not one node.
            if kind != "ok":
                self._process += 1
            return kind

        return op

    def before_faults(self, addrs: Any, make_client: Callable[[int], Any]) -> bool:
        """Verify the hypothesis; False (recorded) when a probe never passed within its time."""
        if self.steady is None:
            return True
        failure = verify(self.steady, addrs, self._op_call(make_client))
        if failure is None:
            self.bundle.update_run(steady_state={"held": True, **self.steady.to_data()})
            return True
        self.not_steady = failure
        self.writer.record(NEMESIS, "info", "steady-state-failed", failure.to_dict())
        self.bundle.update_run(steady_state={"held": False, **failure.to_dict(), **self.steady.to_data()})
        return False

    def start_monitor(self, addrs: Any, make_client: Callable[[int], Any], t0: float) -> None:
        if self.steady is not None and self.steady.abort is not None:
            self.monitor = AbortMonitor(self.steady, addrs, self._op_call(make_client), t0).start()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (and the abort recorded, once) when the abort condition tripped."""
        if self.monitor is None:
            time.sleep(seconds)
            return False
        if not self.monitor.wait(seconds):
            return False
        if self.aborted is None and self.monitor.tripped is not None:
            self.aborted = self.monitor.tripped
            self.writer.record(NEMESIS, "info", "abort", self.aborted.to_dict())
            self.bundle.update_run(aborted=self.aborted.to_dict())
        return True

    def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()

    def verdict(self, check: Callable[[], Composite]) -> Composite:
        """The checkers' results, plus a steady-state result when the hypothesis failed or the run aborted."""
        if self.not_steady is not None:
            f = self.not_steady
            return Composite(
                {
                    STEADY: Result(
                        STEADY,
                        UNKNOWN,
                        f"not tested: the steady-state probe {f.probe!r} did not pass before faults: "
                        f"{f.reason}",
                        PlainDetails({"probe": f.probe, "reason": f.reason, "phase": "before faults"}),
                    )
                }
            )
        composite = check()
        if self.aborted is None:
            return composite
        a = self.aborted
        result = Result(
            STEADY,
            UNKNOWN,
            f"aborted at {a.at_s:g} s: the abort probe {a.probe!r} failed ({a.reason}); faults were stopped "
            "and the cluster healed, so the run was cut short",
            PlainDetails({"probe": a.probe, "reason": a.reason, "at_s": a.at_s, "phase": "during the run"}),
        )
        return Composite({**composite.results, STEADY: result})
