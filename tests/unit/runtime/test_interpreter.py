"""The run interpreter with fake clients and a fake cluster: a process that got ``info`` is never reused, a
client exception is ``info`` and the worker goes on as a fresh process, the nemesis always heals (a fault
whose start or stop raised, a caller that raised mid-run), and the final phase runs after the heal."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from harness.faults.base import FaultContext
from harness.history import History, HistoryWriter
from harness.net.fake import FakeNet
from harness.registry import Registries
from harness.runtime.clock import ManualClock
from harness.runtime.interpreter import Hooks, Interpreter
from harness.runtime.nemesis import Nemesis
from harness.schedule import Schedule
from harness.target import Completion

NODES = ("n1", "n2", "n3")


class Script:
    """Per process, the outcomes its client gives (an exception is raised); afterwards ``ok``."""

    def __init__(
        self, by_process: Mapping[int, list[Any]] | None = None, gate: threading.Event | None = None
    ):
        self.by_process = {p: list(v) for p, v in (by_process or {}).items()}
        self.gate = gate
        self.opened: list[int] = []
        self.closed: list[int] = []

    def client(self, process: int) -> Any:
        self.opened.append(process)
        script = self

        class Client:
            def invoke(self, f: str, value: Any) -> Completion:
                if script.gate is not None:
                    assert script.gate.wait(5), "the nemesis never started its fault"
                todo = script.by_process.get(process)
                out = todo.pop(0) if todo else Completion("ok", value)
                if isinstance(out, BaseException):
                    raise out
                return out

            def close(self) -> None:
                script.closed.append(process)

        return Client()


class Ops:
    """A workload: each plan does ``n`` writes; ``final`` ops after the heal."""

    name = "ops"

    def __init__(self, n: int, final: tuple[tuple[str, Any], ...] = (("read", None),)) -> None:
        self.n, self.final = n, final

    def plan(self, process: int, rng: Any) -> Any:
        left = [self.n]

        class Plan:
            def next(self, last: Any) -> tuple[str, Any] | None:
                left[0] -= 1
                return None if left[0] < 0 else ("write", process)

        return Plan()

    def final_ops(self) -> tuple[tuple[str, Any], ...]:
        return self.final

    def checkers(self) -> dict[str, Any]:
        return {}


class Cluster:
    def __init__(self) -> None:
        self.nodes = NODES
        self.net = FakeNet(NODES)
        self.down: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    def kill(self, node: str) -> None:
        self.calls.append(("kill", node))
        self.down.add(node)

    def start(self, node: str) -> None:
        self.calls.append(("start", node))
        self.down.discard(node)


class Flaky:
    """A process fault that takes down its first node, then raises (start) or raises on stop."""

    name = capability = "flaky"
    network = False

    def __init__(self, fail_on: str, started: threading.Event | None = None) -> None:
        self.fail_on, self.started = fail_on, started

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(params["nodes"])

    def start(self, cluster: Cluster, params: Mapping[str, Any]) -> dict[str, Any]:
        cluster.kill(params["nodes"][0])
        if self.started is not None:
            self.started.set()
        if self.fail_on == "start":
            raise OSError("engine gone")
        return {}

    def stop(self, cluster: Cluster, params: Mapping[str, Any]) -> None:
        cluster.start(params["nodes"][0])
        if self.fail_on == "stop":
            raise OSError("cannot start")


def registries(**faults: Any) -> Registries:
    from harness.faults.partition import Partition

    return Registries.of(faults={"partition": Partition, **{k: (lambda v=v: v) for k, v in faults.items()}})


def nemesis(
    cluster: Cluster, writer: HistoryWriter, events: list[dict[str, Any]], reg: Registries
) -> Nemesis:
    ctx = FaultContext(NODES, tuple((a, b) for a in NODES for b in NODES if a != b))
    return Nemesis(Schedule.from_list(events), cluster, writer, reg, ctx)


def interpreter(script: Script, workload: Ops, writer: HistoryWriter, **kw: Any) -> Interpreter:
    return Interpreter(workload, script.client, writer, concurrency=2, seed=1, **kw)


def processes(h: History) -> list[tuple[Any, str]]:
    return [(op.process, op.type) for op in h if op.process != "nemesis"]


def test_a_process_that_got_info_is_never_reused() -> None:
    w = HistoryWriter()
    script = Script({0: [Completion("ok", 0), Completion("info", None, "timeout")]})
    played = interpreter(script, Ops(3, final=()), w).run(30)
    assert played.ended == "done" and played.crashes == ()
    ops = [(p, t) for p, t in processes(w.history()) if p in (0, 2)]
    # process 0: ok, then info -> retired; its worker goes on as process 0 + concurrency = 2, with a new plan
    assert ops == [(0, "invoke"), (0, "ok"), (0, "invoke"), (0, "info")] + [(2, "invoke"), (2, "ok")] * 3
    assert script.opened.count(0) == 1 and sorted(script.opened) == [0, 1, 2]
    assert sorted(script.closed) == sorted(script.opened)  # every client closed, the retired one first
    w.history().pairs()  # well formed: no process ever has two open ops


def test_a_client_exception_is_recorded_as_info_and_the_worker_goes_on() -> None:
    w = HistoryWriter()
    script = Script({1: [RuntimeError("socket closed")], 3: [ValueError("bad reply")]})
    played = interpreter(script, Ops(2, final=()), w).run(30)
    assert played.ended == "done" and played.crashes == ()
    h = w.history()
    infos = [(op.process, op.error) for op in h if op.type == "info"]
    assert infos == [(1, "RuntimeError: socket closed"), (3, "ValueError: bad reply")]
    assert [(p, t) for p, t in processes(h) if p == 5] == [(5, "invoke"), (5, "ok")] * 2
    assert not any(op.process in (1, 3) for op in h[h.ops.index(next(o for o in h if o.process == 5)) :])


def test_the_final_phase_runs_after_the_heal_as_fresh_processes() -> None:
    w = HistoryWriter()
    cluster, started = Cluster(), threading.Event()
    reg = registries(flaky=Flaky("never", started))
    nem = nemesis(cluster, w, [{"kind": "flaky", "at": 0, "duration": 60, "nodes": ["n2"]}], reg)
    # the final read fails once (as process 2000), then succeeds as the fresh process 2001
    script = Script({2000: [Completion("fail", None, "no leader")]}, gate=started)
    phases: list[str] = []
    interp = interpreter(script, Ops(2), w, nemesis=nem, final_backoff=0)
    played = interp.run(30, hooks=Hooks(phase=phases.append))
    assert phases == ["workload", "heal", "final"] and played.ended == "done"
    h = w.history()
    assert played.final_from == h.ops.index(next(op for op in h if op.process == 2000))
    before, final = h.ops[: played.final_from], h.ops[played.final_from :]
    assert [op.f for op in before if op.process == "nemesis"] == ["start-flaky", "stop-flaky"]
    assert [(op.process, op.type) for op in final] == [
        (2000, "invoke"),
        (2000, "fail"),
        (2001, "invoke"),
        (2001, "ok"),
    ]
    assert cluster.calls == [("kill", "n2"), ("start", "n2")] and cluster.down == set()


def test_a_fault_that_raises_on_start_is_undone_and_the_run_ends_crashed_and_healed() -> None:
    w = HistoryWriter()
    cluster, started = Cluster(), threading.Event()
    reg = registries(flaky=Flaky("start", started))
    events = [
        {"kind": "partition", "at": 0, "duration": 60, "shape": "isolate", "nodes": ["n1"]},
        {"kind": "flaky", "at": 0.001, "duration": 60, "nodes": ["n3"]},
    ]
    nem = nemesis(cluster, w, events, reg)
    phases: list[str] = []
    played = interpreter(Script(gate=started), Ops(10**6), w, nemesis=nem).run(
        30, recovery=5, hooks=Hooks(phase=phases.append)
    )
    assert played.ended == "crash" and [c.where for c in played.crashes] == ["nemesis"]
    assert "OSError: engine gone" in played.crashes[0].error
    assert phases == ["workload", "heal"]  # no recovery, no final phase after a crash
    assert cluster.calls == [("kill", "n3"), ("start", "n3")] and cluster.down == set()
    assert cluster.net.grudge == {}
    assert [op.f for op in w.history().nemesis_ops()] == ["start-partition", "stop-partition"]


def test_a_fault_whose_stop_raises_is_recorded_with_the_error_and_the_network_healed() -> None:
    w = HistoryWriter()
    cluster, started = Cluster(), threading.Event()
    reg = registries(flaky=Flaky("stop", started))
    events = [
        {"kind": "flaky", "at": 0, "duration": 60, "nodes": ["n2"]},
        {"kind": "partition", "at": 0, "duration": 60, "shape": "halves"},
    ]
    played = interpreter(
        Script(gate=started), Ops(3, final=()), w, nemesis=nemesis(cluster, w, events, reg)
    ).run(30)
    assert played.crashes == ()
    stops = {op.f: op.error for op in w.history().nemesis_ops() if op.f.startswith("stop-")}
    assert stops == {"stop-flaky": "OSError: cannot start", "stop-partition": None}
    assert cluster.net.grudge == {}


def test_leaving_the_run_by_an_exception_still_ends_every_fault_and_stops_the_workers() -> None:
    w = HistoryWriter()
    cluster, started = Cluster(), threading.Event()
    reg = registries(flaky=Flaky("never", started))
    nem = nemesis(cluster, w, [{"kind": "flaky", "at": 0, "duration": 60, "nodes": ["n1"]}], reg)
    interp = interpreter(Script(gate=started), Ops(10**6), w, nemesis=nem, tick_s=0.01)

    def tick(elapsed: float) -> None:
        raise KeyboardInterrupt("signal SIGINT")

    with pytest.raises(KeyboardInterrupt):
        interp.run(30, hooks=Hooks(tick=tick))
    assert not interp.workers.alive() and cluster.down == set()
    assert [op.f for op in w.history().nemesis_ops()] == ["start-flaky", "stop-flaky"]
    w.history().pairs()


def test_the_wait_hook_cuts_the_window_short_and_a_worker_crash_ends_it() -> None:
    w = HistoryWriter()
    cut = interpreter(Script(), Ops(10**6, final=()), w, tick_s=0.01).run(
        30, hooks=Hooks(wait=lambda s: True)
    )
    assert cut.ended == "cut" and cut.crashes == ()

    class Exploding(Ops):
        def plan(self, process: int, rng: Any) -> Any:
            raise RuntimeError("plan exploded")

    crashed = interpreter(Script(), Exploding(1), HistoryWriter()).run(30)
    assert crashed.ended == "crash"
    assert sorted(c.where for c in crashed.crashes) == ["worker-0 (process 0)", "worker-1 (process 1)"]


def test_recovery_and_final_retries_wait_on_the_injected_clock() -> None:
    clock = ManualClock(start=10.0)
    w = HistoryWriter(clock=clock.ns)
    script = Script({0: [Completion("fail", None, "no leader")], 1: [Completion("info", None, "timeout")]})
    interp = Interpreter(Ops(1), script.client, w, concurrency=0, seed=1, clock=clock, final_backoff=0.25)
    interp.final_tries = 3
    played = interp.run(30, recovery=2.0)  # no workers: the window ends at once, in no simulated time
    assert played.ended == "done" and played.workload_s == 0
    final = [(op.time / 1e9, op.process, op.type) for op in w.history()]
    assert final == [
        (2.0, 0, "invoke"),  # after the 2 s recovery pause
        (2.0, 0, "fail"),
        (2.25, 1, "invoke"),  # each retry a fresh process, 0.25 s later
        (2.25, 1, "info"),
        (2.5, 2, "invoke"),
        (2.5, 2, "ok"),
    ]
    assert clock.log == [(10.0, 2.0), (12.0, 0.25), (12.25, 0.25)]
