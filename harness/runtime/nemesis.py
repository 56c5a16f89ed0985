"""The nemesis: executes a fault schedule against a live cluster and records every start and stop.

It runs in its own thread, following ``schedule.simulate`` on the run's clock (seconds since the workload
started). Each fault start and stop is an op of process ``"nemesis"``, type ``info``, ``f`` =
``start-<kind>`` / ``stop-<kind>``, value = ``{"kind", "nodes", ...params, ...what start returned (e.g. the
grudge)}``, in the same history as the client ops. ``stop()`` ends every active fault (recording its stop) and
heals the network, so a run that is interrupted still records an end for every start. While it follows the
schedule it also watches the nodes (``harness.runtime.watch``): an outage it did not cause is recorded too.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from harness.faults.base import FaultContext
from harness.faults.event import FaultEvent
from harness.history import HistoryWriter
from harness.op import NEMESIS
from harness.registry import Registries
from harness.runtime.watch import NodeWatch
from harness.schedule import Schedule, simulate


class Nemesis:
    """Applies ``schedule`` to ``cluster``; ``t0`` is the ``time.monotonic()`` when the workload started."""

    def __init__(
        self,
        schedule: Schedule,
        cluster: Any,
        writer: HistoryWriter,
        registries: Registries,
        ctx: FaultContext,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.schedule = schedule
        self.cluster = cluster
        self.writer = writer
        self.registries = registries
        self.ctx = ctx
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[int, FaultEvent] = {}
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.t0 = clock()
        self._acting: Counter[str] = Counter()  # nodes a scheduled process fault is acting on right now
        self.watch = NodeWatch(cluster, writer, self.acting_on) if NodeWatch.supported(cluster) else None

    def acting_on(self, node: str) -> bool:
        with self._lock:
            return self._acting[node] > 0

    def _touch(self, ev: FaultEvent, delta: int) -> None:
        kind = self.registries.fault(ev.kind)
        if getattr(kind, "network", False):
            return
        with self._lock:
            for n in kind.nodes(ev.params, self.ctx):
                self._acting[n] += delta

    @property
    def active(self) -> list[FaultEvent]:
        with self._lock:
            return list(self._active.values())

    def _value(self, ev: FaultEvent, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        nodes = sorted(self.registries.fault(ev.kind).nodes(ev.params, self.ctx))
        value = {**ev.params, "kind": ev.kind, "nodes": nodes, "at": ev.at, "duration": ev.duration}
        if "nodes" in ev.params:  # the step's own node list (an order, the cut-off side) beside the affected
            value["step_nodes"] = list(ev.params["nodes"])
        return {**value, **(extra or {})}

    def _start(self, ev: FaultEvent) -> None:
        kind = self.registries.fault(ev.kind)
        self._touch(ev, +1)  # before the fault acts, so the watch never mistakes it for an outside outage
        try:
            extra = kind.start(self.cluster, ev.params)
        except BaseException:
            self._touch(ev, -1)
            raise
        with self._lock:
            self._active[id(ev)] = ev
        self.writer.record(NEMESIS, "info", f"start-{ev.kind}", self._value(ev, extra))

    def _end(self, ev: FaultEvent, error: str | None = None) -> None:
        with self._lock:
            if self._active.pop(id(ev), None) is None:
                return
        try:
            self.registries.fault(ev.kind).stop(self.cluster, ev.params)
        except Exception as e:  # noqa: BLE001 - the stop is recorded either way; heal() follows
            error = f"{type(e).__name__}: {e}"
        finally:
            self._touch(ev, -1)
        self.writer.record(NEMESIS, "info", f"stop-{ev.kind}", self._value(ev), error=error)

    def run(self) -> None:
        """Follow the timeline until it ends or ``stop`` is called (blocking; ``start`` threads it)."""
        try:
            for t, what, ev in simulate(self.schedule):
                delay = self.t0 + t - self._clock()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._stop.is_set():
                    return
                self._start(ev) if what == "start" else self._end(ev)
        except BaseException as e:  # noqa: BLE001 - surfaced by the runner after healing
            self.error = e

    def start(self, t0: float | None = None) -> None:
        self.t0 = self._clock() if t0 is None else t0
        self._thread = threading.Thread(target=self.run, name="nemesis", daemon=True)
        self._thread.start()
        if self.watch is not None:
            self.watch.start()

    def stop(self) -> None:
        """Stop following the schedule, end every active fault (recording it) and heal the network."""
        self._stop.set()
        if self.watch is not None:
            self.watch.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for ev in self.active:
            self._end(ev)
        net = getattr(self.cluster, "net", None)
        if net is not None:
            net.heal()
