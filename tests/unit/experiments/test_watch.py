"""The nemesis's watch: outages it did not cause are recorded as observed nemesis ops; its own are not."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from harness.faultop import fault_windows
from harness.faults.base import FaultContext
from harness.faults.event import FaultEvent
from harness.faults.process import Kill, Pause
from harness.history import HistoryWriter
from harness.registry import Registries
from harness.runtime.clock import ManualClock
from harness.runtime.nemesis import Nemesis
from harness.runtime.watch import NodeWatch
from harness.schedule import Schedule

NODES = ("n1", "n2", "n3")


class StatefulCluster:
    """Process controls that change what ``node_states`` reports, as a real backend's would."""

    def __init__(self) -> None:
        self.nodes = NODES
        self.state = dict.fromkeys(NODES, "running")

    def node_states(self) -> dict[str, str]:
        return dict(self.state)

    def kill(self, node: str) -> None:
        self.state[node] = "down"

    def start(self, node: str) -> None:
        self.state[node] = "running"

    def pause(self, node: str) -> None:
        self.state[node] = "paused"

    def resume(self, node: str) -> None:
        self.state[node] = "running"


def test_an_outside_outage_is_recorded_as_a_window_and_a_faulted_node_is_not() -> None:
    cluster, writer = StatefulCluster(), HistoryWriter()
    faulted = {"n1"}
    watch = NodeWatch(cluster, writer, lambda n: n in faulted)
    watch.poll()
    cluster.state.update(n1="down", n2="paused")  # n1 by a scheduled fault, n2 from outside
    watch.poll()
    watch.poll()  # still paused: recorded once
    cluster.state.update(n1="running", n2="running", n3="down")
    watch.poll()
    fs = [(op.f, op.value["nodes"]) for op in writer.history()]
    assert fs == [
        ("start-observed-paused", ["n2"]),
        ("stop-observed-paused", ["n2"]),
        ("start-observed-down", ["n3"]),
    ]
    assert all(op.process == "nemesis" and op.type == "info" for op in writer.history())
    windows, _ = fault_windows(writer.history())
    assert [(w.kind, w.nodes, w.end is None) for w in windows] == [
        ("observed-paused", ("n2",), False),
        ("observed-down", ("n3",), True),
    ]
    assert "observed by the nemesis" in windows[1].detail()


def test_the_nemesis_own_kills_and_pauses_are_never_observed_outages() -> None:
    reg = Registries.of(faults={"kill": Kill, "pause": Pause})
    events = (
        FaultEvent("kill", 0.05, 0.4, MappingProxyType({"nodes": ["n1"]})),
        FaultEvent("pause", 0.1, 0.4, MappingProxyType({"nodes": ["n2"]})),
    )

    def observed(watch_knows_the_nemesis: bool) -> list[list[str]]:
        cluster, writer = WatchedCluster(), HistoryWriter()
        nem = Nemesis(Schedule(events), cluster, writer, reg, FaultContext(NODES, ()), clock=ManualClock())
        assert nem.watch is not None
        if not watch_knows_the_nemesis:
            nem.watch.faulted = lambda node: False
        cluster.look = nem.watch.poll  # the watch looks right after every change of a node's state
        nem.run()  # the whole schedule, in simulated time
        cluster.state["n3"] = "down"  # from outside, after the faults
        nem.watch.poll()
        nem.stop()
        return [op.value["nodes"] for op in writer.history() if op.f.startswith("start-observed")]

    assert observed(watch_knows_the_nemesis=True) == [["n3"]]
    # the same run with a watch that did not ask the nemesis: its own faults would be reported as outages
    assert observed(watch_knows_the_nemesis=False) == [["n1"], ["n2"], ["n3"]]


class WatchedCluster(StatefulCluster):
    """Calls ``look()`` after each process control has changed a node's state."""

    look: Callable[[], None] = staticmethod(lambda: None)

    def kill(self, node: str) -> None:
        super().kill(node)
        self.look()

    def start(self, node: str) -> None:
        super().start(node)
        self.look()

    def pause(self, node: str) -> None:
        super().pause(node)
        self.look()

    def resume(self, node: str) -> None:
        super().resume(node)
        self.look()
