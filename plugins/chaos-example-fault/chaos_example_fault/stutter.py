"""``kind: stutter``: the chosen nodes keep freezing, like a node with long garbage-collection pauses.

For the fault's ``duration`` each node is paused for ``pause_ms``, then runs for ``run_ms``, over and over;
at the end it is resumed. It needs only what ``kind: pause`` needs (the cluster's ``pause`` capability:
SIGSTOP on the local backend, ``docker pause`` on docker) and combines it differently. Everything the
harness needs to know is declared: the parameters (the experiment schema, editor completion and the
validation errors with file:line follow from them), the capability, and the effect (``paused``: the report
draws the node's paused time). ``Kind`` derives validate, random draws and shrinking from the declarations,
so this module writes only how the fault is applied (``start``) and healed (``stop``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.faults.base import AMONG, Kind, Param

PAUSE_MS = Param(
    "pause_ms", "integer", "How long each freeze lasts, ms.", default=300, minimum=10, maximum=60_000
)
RUN_MS = Param(
    "run_ms",
    "integer",
    "How long the node runs between freezes, ms.",
    default=200,
    minimum=10,
    maximum=60_000,
)


@dataclass
class _Stutter:
    """One running stutter: the thread that freezes and thaws, and how to end it."""

    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: str | None = None


# A kind is constructed afresh each time the harness looks it up, so what runs lives here, keyed by the
# cluster and the nodes (two process faults never act on one node at once).
_RUNNING: dict[tuple[int, tuple[str, ...]], _Stutter] = {}
_LOCK = threading.Lock()


class Stutter(Kind):
    """``kind: stutter``: freeze the nodes for ``pause_ms``, let them run ``run_ms``, again and again."""

    name = "stutter"
    capability = "pause"
    description = "freeze the nodes for pause_ms, let them run for run_ms, over and over (GC-like stalls)"
    effect = "paused"
    parameters = (
        Param("nodes", "nodes", "The nodes that stutter (default: one chosen by the seed)."),
        PAUSE_MS,
        RUN_MS,
    )
    random_parameters = (AMONG, PAUSE_MS, RUN_MS)

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        nodes = tuple(params["nodes"])
        pause_s = params.get("pause_ms", PAUSE_MS.default) / 1000
        run_s = params.get("run_ms", RUN_MS.default) / 1000
        for n in nodes:  # the first freeze is in effect when start returns
            cluster.pause(n)
        state = _Stutter()
        state.thread = threading.Thread(
            target=_loop, args=(cluster, nodes, pause_s, run_s, state), name="stutter", daemon=True
        )
        with _LOCK:
            _RUNNING[(id(cluster), nodes)] = state
        state.thread.start()
        return {"cycle_ms": round((pause_s + run_s) * 1000)}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        nodes = tuple(params["nodes"])
        with _LOCK:
            state = _RUNNING.pop((id(cluster), nodes), None)
        if state is not None:
            state.done.set()
            if state.thread is not None:
                state.thread.join(timeout=70)
        for n in nodes:  # healed whatever the loop was doing (resuming a running node does nothing)
            cluster.resume(n)
        if state is not None and state.error:
            raise RuntimeError(f"stutter on {', '.join(nodes)}: {state.error}")


def _loop(cluster: Any, nodes: tuple[str, ...], pause_s: float, run_s: float, state: _Stutter) -> None:
    """Paused (by ``start``) -> wait -> resume -> wait -> pause ... until ``done``; always left running."""
    try:
        while True:
            state.done.wait(pause_s)
            for n in nodes:
                cluster.resume(n)
            if state.done.wait(run_s):
                return
            for n in nodes:
                cluster.pause(n)
    except Exception as e:  # noqa: BLE001 - reported by stop(), which the nemesis records
        state.error = f"{type(e).__name__}: {e}"
