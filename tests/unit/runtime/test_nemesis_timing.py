"""The nemesis in simulated time (``ManualClock``, no sleeps): a schedule's faults start and stop exactly when
it says, in its order, and a ``FaultLoop`` waits its seeded gaps and holds each fault its duration."""

from __future__ import annotations

import random
from typing import Any

from harness.faults.base import FaultContext
from harness.faults.partition import Partition
from harness.faults.process import Kill, Pause
from harness.history import HistoryWriter
from harness.net.fake import FakeNet
from harness.registry import Registries
from harness.runtime.clock import ManualClock
from harness.runtime.nemesis import FaultLoop, Nemesis
from harness.schedule import FaultEvent, Schedule

NODES = ("n1", "n2", "n3")
CTX = FaultContext(NODES, tuple((a, b) for a in NODES for b in NODES if a != b))
REG = Registries.of(faults={"partition": Partition, "kill": Kill, "pause": Pause})


class TimedCluster:
    """Logs every action with the simulated time it happened at."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock, self.nodes, self.log = clock, NODES, list[tuple[float, str, str]]()
        outer = self

        class Net(FakeNet):
            def partition(self, grudge: Any, mode: str = "blackhole") -> None:
                outer.log.append((outer.clock.now(), "partition", ",".join(sorted(grudge))))
                super().partition(grudge, mode)

            def heal(self) -> None:
                outer.log.append((outer.clock.now(), "heal", ""))
                super().heal()

        self.net = Net(NODES)

    def __getattr__(self, name: str) -> Any:
        if name in ("kill", "start", "pause", "resume"):
            return lambda node: self.log.append((self.clock.now(), name, node))
        raise AttributeError(name)


def test_a_schedule_is_played_at_its_exact_times_in_its_order() -> None:
    clock = ManualClock(start=100.0)  # the workload starts at 100 s of the clock: times are relative to it
    cluster = TimedCluster(clock)
    writer = HistoryWriter(clock=clock.ns)
    schedule = Schedule.from_list(
        [
            {"kind": "partition", "at": 0.5, "duration": 1.0, "shape": "isolate", "nodes": ["n1"]},
            {"kind": "kill", "at": 1.0, "duration": 2.0, "nodes": ["n2"]},
            {"kind": "pause", "at": 1.5, "duration": 0.25, "nodes": ["n3"]},
        ]
    )
    nem = Nemesis(schedule, cluster, writer, REG, CTX, clock=clock)
    nem.run()  # in this thread, in simulated time
    assert nem.error is None and clock.now() == 103.0
    assert cluster.log == [
        (100.5, "partition", "n1,n2,n3"),
        (101.0, "kill", "n2"),
        (101.5, "heal", ""),  # the partition's end comes before the pause that starts at the same time
        (101.5, "pause", "n3"),
        (101.75, "resume", "n3"),
        (103.0, "start", "n2"),
    ]
    ops = [(op.time / 1e9, op.f) for op in writer.history()]
    assert ops == [
        (0.5, "start-partition"),
        (1.0, "start-kill"),
        (1.5, "stop-partition"),
        (1.5, "start-pause"),
        (1.75, "stop-pause"),
        (3.0, "stop-kill"),
    ]
    assert [s for _, s in clock.log] == [0.5, 0.5, 0.5, 0.25, 1.25]  # waits only between distinct times


def test_a_fault_loop_waits_its_seeded_gaps_and_holds_each_fault_its_duration() -> None:
    clock = ManualClock()
    cluster = TimedCluster(clock)
    writer = HistoryWriter(clock=clock.ns)
    chosen: list[str] = []

    def choose(c: Any, rng: random.Random) -> FaultEvent | None:
        if len(chosen) == 3:
            nem.stop()  # enough: the loop ends at its next wait
            return None
        chosen.append(rng.choice(NODES))
        return FaultEvent("kill", 0, 0.3, {"nodes": [chosen[-1]]})

    nem = Nemesis(FaultLoop(choose, gap=(0.5, 1.0), seed=7), cluster, writer, REG, CTX, clock=clock)
    nem.run()
    # the same draws, in the same order: gap, node, (hold 0.3), gap, node, ...
    rng, t, expected = random.Random(7), 0.0, []
    for _ in range(3):
        t += rng.uniform(0.5, 1.0)
        node = rng.choice(NODES)
        expected += [(t, "kill", node), (t + 0.3, "start", node)]
        t += 0.3
    got = [(round(at, 9), what, node) for at, what, node in cluster.log if what != "heal"]
    assert got == [(round(at, 9), what, node) for at, what, node in expected]
    starts = [op.value for op in writer.history() if op.f == "start-kill"]
    assert [v["nodes"] for v in starts] == [[n] for n in chosen]
    assert [v["at"] for v in starts] == [round(at, 3) for at, what, _ in expected if what == "kill"]
