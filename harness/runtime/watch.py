"""The nemesis's watch: an outage the harness did not cause is recorded, never hidden.

While the workload runs, a thread polls the cluster's node states (``Cluster.node_states()``: ``running``,
``paused`` or ``down``) a few times a second. A node found down or paused while no scheduled fault is acting
on it (the nemesis says which nodes its active faults touch) is recorded in the history as a fault op pair
(``harness.faultop.FaultOp``: kind ``observed-down`` / ``observed-paused``, ``observed``, details
``{"state"}``), so the report draws it on the timeline and lists it in the faults table like any fault,
marked as observed. An outage still open when the watch stops stays open ("never ended").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from harness.faultop import FaultOp
from harness.history import HistoryWriter

WATCH_INTERVAL = 0.3


class NodeWatch:
    """Polls ``cluster.node_states()``; ``faulted(node)`` says whether a scheduled fault acts on it now."""

    def __init__(
        self,
        cluster: Any,
        writer: HistoryWriter,
        faulted: Callable[[str], bool],
        interval: float = WATCH_INTERVAL,
    ) -> None:
        self.cluster = cluster
        self.writer = writer
        self.faulted = faulted
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.open: dict[str, str] = {}  # node -> the state of its open observed outage
        self.error: str | None = None

    @staticmethod
    def supported(cluster: Any) -> bool:
        return callable(getattr(cluster, "node_states", None))

    def poll(self) -> None:
        """One look at every node (also callable directly, e.g. by tests)."""
        states: dict[str, str] = self.cluster.node_states()
        for node, state in sorted(states.items()):
            seen = self.open.get(node)
            if state == "running" or self.faulted(node):
                if seen is not None and state == "running":
                    del self.open[node]
                    self._record("stop", node, seen)
                continue
            if seen is None:
                self.open[node] = state
                self._record("start", node, state)

    def _record(self, what: str, node: str, state: str) -> None:
        FaultOp(what, f"observed-{state}", (node,), {"state": state}, observed=True).write(
            self.writer, node=node
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - a failed look is retried; the run goes on
                self.error = f"{type(e).__name__}: {e}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="node-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
