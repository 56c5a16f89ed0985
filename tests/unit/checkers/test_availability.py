"""The availability checker on hand-built histories whose figures are known exactly."""

from __future__ import annotations

from harness.checkers.availability import analyse, check
from harness.history import History
from harness.op import Op

MS = 1_000_000
S = 1_000_000_000


class Builder:
    """Appends ops with explicit times (ms) so each figure can be computed by hand."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.proc = 0

    def op(self, at_ms: float, took_ms: float, type_: str = "ok", f: str = "read") -> None:
        self.proc += 1
        i = len(self.ops)
        self.ops.append(Op(i, int(at_ms * MS), self.proc, "invoke", f, None))
        self.ops.append(Op(i + 1, int((at_ms + took_ms) * MS), self.proc, type_, f, None))  # type: ignore[arg-type]

    def fault(
        self, at_ms: float, what: str, kind: str = "partition", nodes: tuple[str, ...] = ("n1",)
    ) -> None:
        value = {"kind": kind, "nodes": list(nodes)}
        self.ops.append(Op(len(self.ops), int(at_ms * MS), "nemesis", "info", f"{what}-{kind}", value))

    def history(self) -> History:
        ops = sorted(self.ops, key=lambda o: (o.time, o.index))
        return History(Op(i, o.time, o.process, o.type, o.f, o.value) for i, o in enumerate(ops))


def _steady(b: Builder, start_ms: int, end_ms: int, step_ms: int = 100, took_ms: int = 10) -> None:
    for t in range(start_ms, end_ms, step_ms):
        b.op(t, took_ms)


def scenario() -> History:
    """0-2 s healthy (20 ok, 10 ms); fault 2-4 s: 10 info (timeouts), 10 ok; heal at 4 s; 4.0-5.5 s: info
    timeouts; from 5.5 s healthy again (20 ms). Known: recovery 1.52 s (first ok at 5.5 + 0.02 s)."""
    b = Builder()
    _steady(b, 0, 2000)
    b.fault(2000, "start")
    for t in range(2000, 4000, 100):
        b.op(t, 50, "info" if (t // 100) % 2 == 0 else "ok", f="write")
    b.fault(4000, "stop")
    for t in range(4000, 5500, 100):
        b.op(t, 90, "info")
    _steady(b, 5500, 8000, took_ms=20)
    return b.history()


def test_rates_and_latencies_per_segment_are_known() -> None:
    fig = analyse(scenario())
    out = fig["outside"]
    # outside: 20 ok before, 15 info + 25 ok after the heal
    assert out["*"]["ops"] == 60 and out["*"]["ok"] == 45 and out["*"]["info"] == 15
    assert out["*"]["ok_rate"] == 0.75
    assert out["read"]["p50_ms"] == 20.0 and out["read"]["p99_ms"] == 20.0
    (f,) = fig["faults"]
    assert f["kind"] == "partition" and f["nodes"] == ["n1"]
    assert f["start_s"] == 0.0 or f["start_s"] == 2.0
    st = f["stats"]["write"]
    assert st["ops"] == 20 and st["ok"] == 10 and st["info"] == 10 and st["ok_rate"] == 0.5
    assert st["p50_ms"] == 50.0
    assert fig["after_heal"]["*"]["ops"] == 40 and fig["after_heal"]["*"]["ok_rate"] == 25 / 40


def test_recovery_time_is_heal_to_first_sustained_ok() -> None:
    fig = analyse(scenario())
    assert fig["faults"][0]["recovery_s"] == 1.52
    assert fig["faults"][0]["recovered"] is True


def test_an_isolated_ok_amid_failures_is_not_sustained() -> None:
    b = Builder()
    _steady(b, 0, 1000)
    b.fault(1000, "start")
    b.fault(2000, "stop")
    b.op(2000, 10)  # one lucky ok at 2.01 s ...
    for t in range(2100, 3000, 100):
        b.op(t, 10, "fail")  # ... then failures until 3 s
    _steady(b, 3000, 6000)
    fig = analyse(b.history())
    assert fig["faults"][0]["recovery_s"] == 1.01
    # with a run of one ok required, the lucky op counts
    assert analyse(b.history(), sustain_ops=1, sustain_s=0.05)["faults"][0]["recovery_s"] == 0.01


def test_no_recovery_before_the_next_fault_is_reported() -> None:
    b = Builder()
    _steady(b, 0, 1000)
    b.fault(1000, "start")
    b.fault(2000, "stop")
    for t in range(2000, 3000, 100):
        b.op(t, 10, "info")
    b.fault(3000, "start", nodes=("n2",))
    b.fault(4000, "stop", nodes=("n2",))
    _steady(b, 4000, 6000)
    r = check(b.history(), max_recovery_s=5)
    first, second = r.details["faults"]
    assert first["recovery_s"] is None and first["recovered"] is False
    assert second["recovery_s"] == 0.01
    assert r.valid is False
    assert r.details["breaches"] == [
        "fault #0 partition n1 (1.0s-2.0s): not recovered before the next fault or the end of the run"
    ]


def test_unavailability_windows_skip_idle_gaps() -> None:
    b = Builder()
    _steady(b, 0, 1000)
    for t in range(1000, 3000, 200):
        b.op(t, 100, "fail")
    _steady(b, 3000, 4000)
    # idle from 4 s to 8 s: no op invoked, so no unavailability
    _steady(b, 8000, 9000)
    fig = analyse(b.history())
    (u,) = fig["unavailable"]
    assert u["start_s"] == 1.0 and u["end_s"] == 3.01 and u["duration_s"] == 2.01


def test_no_thresholds_is_figures_only_and_valid() -> None:
    r = check(scenario())
    assert r.valid is True and r.summary.startswith("figures only")
    assert r.details["thresholds"] == {}


def test_thresholds_that_hold_are_valid() -> None:
    r = check(scenario(), min_ok_rate=0.7, max_p99_ms=25, max_recovery_s=2)
    assert r.valid is True, r.summary
    assert r.details["thresholds"] == {"min_ok_rate": 0.7, "max_p99_ms": 25, "max_recovery_s": 2}


def test_a_broken_threshold_names_the_window() -> None:
    r = check(scenario(), max_recovery_s=1.0)
    assert r.valid is False
    assert r.details["breaches"] == [
        "fault #0 partition n1 (2.0s-4.0s): recovered 1.52 s after the heal > max_recovery_s 1"
    ]
    assert "fault #0 partition n1 (2.0s-4.0s)" in r.summary


def test_ok_rate_inside_faults_only_checked_when_outside_faults_is_false() -> None:
    assert check(scenario(), min_ok_rate=0.7).valid is True
    r = check(scenario(), min_ok_rate=0.7, outside_faults=False)
    assert r.valid is False
    assert r.details["breaches"][0].startswith("fault #0 partition n1 (2.0s-4.0s): ok rate 0.5 < min_ok_rate")
    assert any(x.startswith("after heal: ok rate 0.625") for x in r.details["breaches"])


def test_p99_threshold_names_the_segment() -> None:
    r = check(scenario(), max_p99_ms=15)
    assert r.valid is False
    assert r.details["breaches"] == ["outside faults: p99 latency 20 ms > max_p99_ms 15"]


def test_no_faults_no_after_heal_and_empty_history() -> None:
    b = Builder()
    _steady(b, 0, 1000)
    fig = analyse(b.history())
    assert fig["faults"] == [] and fig["after_heal"] is None and fig["unavailable"] == []
    assert fig["outside"]["*"]["ok_rate"] == 1.0
    empty = check(History(), min_ok_rate=0.9)
    assert empty.valid is True and empty.details["outside"]["*"]["ok_rate"] is None


def test_a_fault_that_never_ended_has_no_recovery_and_is_not_a_breach() -> None:
    b = Builder()
    _steady(b, 0, 1000)
    b.fault(1000, "start", kind="kill")
    for t in range(1000, 2000, 100):
        b.op(t, 10, "info")
    r = check(b.history(), max_recovery_s=1)
    (f,) = r.details["faults"]
    assert f["end_s"] is None and f["recovery_s"] is None
    assert r.valid is True


def test_max_unavailable_names_the_window_and_the_fault_before_it() -> None:
    assert check(scenario(), max_unavailable_s=2).valid is True  # oks inside the fault break it up
    r = check(scenario(), max_unavailable_s=1)
    assert r.valid is False
    (b,) = r.details["breaches"]
    assert b == (
        "unavailable 4s-5.52s (after fault #0 partition n1 (2.0s-4.0s)): 1.52 s > max_unavailable_s 1"
    )
