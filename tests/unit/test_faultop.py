"""The one fault-operation record: what the nemesis writes is what every reader decodes, ops of older
bundles (no ``effect``) still read with the effect they had, and the pairing into windows is one function."""

from __future__ import annotations

from pathlib import Path

from harness.bundle import Bundle
from harness.faultop import DOWN, PAUSED, START, STOP, FaultOp, decode, fault_ops, fault_windows
from harness.faults.base import FaultContext
from harness.faults.event import FaultEvent
from harness.faults.partition import Partition
from harness.history import HistoryWriter
from harness.registry import Registries
from harness.report.data import load
from harness.report.timeline import node_lanes
from harness.runtime.nemesis import Nemesis
from harness.schedule import Schedule


class Ticks:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        self.now += 10
        return self.now


def test_a_written_op_decodes_to_the_same_record() -> None:
    w = HistoryWriter()
    fop = FaultOp(START, "stutter", ("n1", "n2"), {"pause_ms": 50, "at": 1.0}, PAUSED)
    op = fop.write(w, node="n1")
    assert (op.process, op.type, op.f) == ("nemesis", "info", "start-stutter")
    assert op.value == {"pause_ms": 50, "at": 1.0, "kind": "stutter", "nodes": ["n1", "n2"], "effect": PAUSED}
    back = decode(op)
    assert back is not None and (back.phase, back.kind, back.nodes, back.effect) == (
        START,
        "stutter",
        ("n1", "n2"),
        PAUSED,
    )
    assert dict(back.details) == {"pause_ms": 50, "at": 1.0} and back.index == op.index and not back.observed


def test_the_nemesis_writes_the_fields_older_readers_read() -> None:
    """The history format is unchanged: f, process, type and the value keys of before, plus ``effect``."""
    w = HistoryWriter()
    nem = Nemesis(Schedule(), _Cluster(), w, Registries.of(faults={"partition": Partition}), CTX)
    ev = FaultEvent("partition", 0.0, 1.0, {"shape": "isolate", "nodes": ["n1"], "mode": "blackhole"})
    nem._start(ev)  # noqa: SLF001 - one step of the plan, without the thread
    nem._end(ev)  # noqa: SLF001
    start, stop = w.history()
    assert (start.f, stop.f) == ("start-partition", "stop-partition")
    assert start.value["kind"] == "partition" and start.value["nodes"] == ["n1"]
    assert start.value["step_nodes"] == ["n1"] and start.value["shape"] == "isolate"
    assert start.value["grudge"] == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}
    assert {"at", "duration", "mode"} <= set(
        start.value
    ) and "effect" not in start.value  # no effect on nodes


def test_ops_of_older_bundles_get_the_effect_their_kind_had() -> None:
    w = HistoryWriter()
    for kind in ("kill", "restart", "pause", "partition"):
        w.record("nemesis", "info", f"start-{kind}", {"kind": kind, "nodes": ["n1"]})
    w.record("nemesis", "info", "start-kill", {"kind": "kill", "nodes": ["n1"], "effect": None})
    assert [f.effect for f in fault_ops(w.history())] == [DOWN, DOWN, PAUSED, None, None]


def test_other_nemesis_ops_and_lone_stops_are_points_and_pairing_prefers_the_same_nodes() -> None:
    w = HistoryWriter(clock=Ticks())
    w.record("nemesis", "info", "steady-state-failed", {"probe": "x"})
    w.record("nemesis", "info", "stop-kill", {"kind": "kill", "nodes": ["n9"]})
    a = w.record("nemesis", "info", "start-kill", {"kind": "kill", "nodes": ["n1"]})
    b = w.record("nemesis", "info", "start-kill", {"kind": "kill", "nodes": ["n2"]})
    w.record("nemesis", "info", "stop-kill", {"kind": "kill", "nodes": ["n2"]})
    w.record(
        "nemesis", "info", "start-observed-down", {"kind": "observed-down", "nodes": ["n3"], "observed": True}
    )
    w.record(
        "nemesis", "info", "start-partition", {"kind": "partition", "grudge": {"n1": ["n2"], "n2": ["n1"]}}
    )
    windows, points = fault_windows(w.history())
    assert [p.f for p in points] == ["steady-state-failed", "stop-kill"]
    assert [(x.kind, x.nodes, x.end is None, x.start_index) for x in windows] == [
        ("kill", ("n1",), True, a.index),
        ("kill", ("n2",), False, b.index),
        ("observed-down", ("n3",), True, b.index + 2),
        ("partition", ("n1", "n2"), True, b.index + 3),  # nodes from the grudge when none were recorded
    ]
    assert windows[2].observed and "observed by the nemesis" in windows[2].detail()
    assert decode(w.history()[0]) is None and [f.phase for f in fault_ops(w.history())].count(STOP) == 2


def test_the_report_draws_a_plugin_kinds_paused_window_from_the_recorded_effect(tmp_path: Path) -> None:
    b = Bundle.create(tmp_path, "plugin")
    w = HistoryWriter(b.history_file, clock=Ticks())
    FaultOp(START, "stutter", ("n2",), {"pause_ms": 30}, PAUSED).write(w)
    FaultOp(STOP, "stutter", ("n2",), {"pause_ms": 30}, PAUSED).write(w)
    FaultOp(START, "wobble", ("n1",), {}).write(w)  # a kind with no effect on its nodes: not on the lanes
    w.close()
    svg, rows = node_lanes(load(b))
    assert 'class="node-pause" data-node="n2" data-kind="stutter"' in svg and "node-down" not in svg
    assert {r["node"]: (r["pauses"], r["downs"]) for r in rows}["n2"] == (1, 0)
    assert {r["node"]: r["faults"] for r in rows}["n1"] == 1


NODES = ("n1", "n2", "n3")
CTX = FaultContext(NODES, tuple((a, b) for a in NODES for b in NODES if a != b))


class _Cluster:
    nodes = NODES

    class net:  # noqa: N801 - a stand-in network that records the grudge
        grudge: dict = {}

        @classmethod
        def partition(cls, grudge: dict, mode: str = "blackhole") -> None:
            cls.grudge = grudge

        @classmethod
        def heal(cls) -> None:
            cls.grudge = {}
