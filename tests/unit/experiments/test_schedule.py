"""Seeded schedules: same seed -> same schedule; explicit steps resolved; no colliding network faults."""

from __future__ import annotations

from experiment_fakes import BASE, Harness

from harness.faults.event import FaultEvent
from harness.loader import loads
from harness.schedule import Schedule, generate, simulate

RANDOM = BASE.replace("duration: 1,", "duration: 30,") + (
    "faults:\n  random: {kinds: [partition, link, kill, pause], interval: [0.5, 2], duration: [1, 3]}\n"
)


def test_same_seed_same_schedule_other_seed_other_schedule() -> None:
    h = Harness()
    exp = loads(RANDOM, "x.yaml", h.registries)
    a, b = generate(exp, 11, h.registries), generate(exp, 11, h.registries)
    assert a == b and a.to_list() == b.to_list() and len(a.events) >= 4
    assert generate(exp, 12, h.registries).to_list() != a.to_list()


def test_random_faults_stay_in_the_window_and_network_faults_never_overlap() -> None:
    h = Harness()
    exp = loads(RANDOM, "x.yaml", h.registries)
    start, end = exp.fault_window
    for seed in range(20):
        s = generate(exp, seed, h.registries)
        assert all(start <= e.at and e.end <= end + 1e-6 for e in s.events)
        net = [e for e in s.events if e.kind in ("partition", "link")]
        for x, y in zip(net, net[1:], strict=False):
            assert x.end <= y.at


def test_explicit_steps_are_resolved_from_the_seed() -> None:
    h = Harness()
    text = (
        RANDOM.split("faults:")[0]
        + "faults:\n  steps:\n    - {kind: partition, shape: halves, at: 0.5, duration: 1}\n"
    )
    exp = loads(text, "x.yaml", h.registries)
    ev = generate(exp, 5, h.registries).events[0]
    assert sorted(ev.params["nodes"]) == ["n1", "n2", "n3"] and ev.params["mode"] == "blackhole"
    assert generate(exp, 5, h.registries) == generate(exp, 5, h.registries)


def test_schedule_round_trips_through_json_form() -> None:
    h = Harness()
    s = generate(loads(RANDOM, "x.yaml", h.registries), 3, h.registries)
    assert Schedule.from_list(s.to_list()).to_list() == s.to_list()


def test_simulate_orders_stops_before_starts_at_the_same_time() -> None:
    s = Schedule.from_list(
        [
            {"kind": "kill", "at": 2.0, "duration": 1.0, "nodes": ["n2"]},
            {"kind": "kill", "at": 1.0, "duration": 1.0, "nodes": ["n1"]},
        ]
    )
    timeline = [(t, what, e.params["nodes"][0]) for t, what, e in simulate(s)]
    assert timeline == [(1.0, "start", "n1"), (2.0, "stop", "n1"), (2.0, "start", "n2"), (3.0, "stop", "n2")]


def test_a_step_and_a_scheduled_fault_are_one_record() -> None:
    """``FaultEvent`` is both an experiment's explicit step and a schedule's entry: the schedule resolves the
    step's open params (its nodes) and keeps the rest; the file form keeps the step's own times, the recorded
    form rounds them to the millisecond."""
    h = Harness()
    text = (
        RANDOM.split("faults:")[0]
        + "faults:\n  steps:\n    - {kind: kill, at: 0.12345, duration: 1.5}\n"
    )
    exp = loads(text, "x.yaml", h.registries)
    (step,) = exp.steps
    (event,) = generate(exp, 3, h.registries).events
    assert type(step) is type(event) is FaultEvent
    assert (event.kind, event.at, event.duration) == (step.kind, step.at, step.duration)
    assert dict(step.params) == {} and len(event.params["nodes"]) == 1
    assert step.to_dict(exact=True) == {"kind": "kill", "at": 0.12345, "duration": 1.5}
    assert event.to_dict()["at"] == 0.123 and FaultEvent.from_dict(event.to_dict()).params == event.params
    assert exp.to_data()["faults"]["steps"] == [{"kind": "kill", "at": 0.12345, "duration": 1.5}]
