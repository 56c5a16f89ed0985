"""Pure, seeded fault schedules: an experiment + a seed -> the exact list of faults, as plain data.

Everything random about the faults (a random schedule's times, kinds and shapes, and the nodes an explicit
step left open) is drawn from one ``random.Random(seed)`` in a fixed order before the run starts; so the same
seed gives the same schedule, which is recorded in ``run.json`` and replayed or shrunk as data. Each
``FaultEvent`` (``harness.faults.event``, the same record as an experiment's step) is concrete (resolved
nodes, links, shape order). ``simulate`` lists the start / stop timeline
with no I/O, which is what the nemesis executes and what the tests check.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from harness.experiment import Experiment
from harness.faults.base import FaultContext, random_spec
from harness.faults.event import FaultEvent
from harness.limits import MAX_RANDOM_FAULTS
from harness.registry import Registries


@dataclass(frozen=True)
class Schedule:
    events: tuple[FaultEvent, ...] = ()

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.events]

    @classmethod
    def from_list(cls, items: Sequence[Mapping[str, Any]]) -> Schedule:
        return cls(tuple(FaultEvent.from_dict(d) for d in items))

    def total_duration(self) -> float:
        return sum(e.duration for e in self.events)

    def involved_nodes(self, faults: Registries, ctx: FaultContext) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for e in self.events:
            out |= faults.fault(e.kind).nodes(e.params, ctx)
        return out

    def size(self, faults: Registries, ctx: FaultContext) -> tuple[int, float, int]:
        """(faults, seconds of faults, nodes involved): shrinking makes this strictly smaller."""
        return (len(self.events), round(self.total_duration(), 3), len(self.involved_nodes(faults, ctx)))


def _conflicts(faults: Registries, ctx: FaultContext, a: FaultEvent, b: FaultEvent) -> bool:
    if not (a.at < b.end and b.at < a.end):
        return False
    ka, kb = faults.fault(a.kind), faults.fault(b.kind)
    if ka.network and kb.network:
        return True
    if ka.network or kb.network:
        return False
    return bool(ka.nodes(a.params, ctx) & kb.nodes(b.params, ctx))


def generate(exp: Experiment, seed: int, registries: Registries | None = None) -> Schedule:
    """The schedule of ``exp`` for ``seed``: explicit steps (resolved) plus the random schedule, sorted."""
    reg = registries or Registries()
    rng = random.Random(seed)
    ctx = exp.fault_context
    events: list[FaultEvent] = []
    for step in exp.steps:
        kind = reg.fault(step.kind)
        params = kind.random_params(rng, ctx, dict(step.params))
        events.append(replace(step, params=MappingProxyType(params)))
    rnd = exp.random
    if rnd is not None:
        events += _random_events(exp, reg, rng, rnd, events)
    return Schedule(tuple(sorted(events, key=lambda e: (e.at, e.kind))))


def _random_events(
    exp: Experiment, reg: Registries, rng: random.Random, rnd: Any, steps: list[FaultEvent]
) -> list[FaultEvent]:
    """Draw random faults in time order, at most ``MAX_RANDOM_FAULTS`` (so the loop always ends), each
    kept unless it collides with an explicit step. Random faults never overlap one another, so only the
    steps that can overlap (found by bisection on their start times) are compared: no quadratic work."""
    ctx = exp.fault_context
    by_start = sorted(steps, key=lambda e: e.at)
    starts = [e.at for e in by_start]
    longest = max((e.duration for e in by_start), default=0.0)
    cap = min(rnd.max_faults or MAX_RANDOM_FAULTS, MAX_RANDOM_FAULTS)
    out: list[FaultEvent] = []
    start, end = exp.fault_window
    t, drawn = start, 0
    while drawn < cap:
        t += rng.uniform(*rnd.interval) if drawn else rng.uniform(0.0, rnd.interval[0])
        dur = rng.uniform(*rnd.duration)
        if t + dur > end:
            break
        name = rng.choice(rnd.kinds)
        kind = reg.fault(name)
        params = kind.random_params(rng, ctx, random_spec(kind, rnd.params))
        ev = FaultEvent(name, round(t, 3), round(dur, 3), MappingProxyType(params))
        drawn += 1
        t += dur
        near = by_start[bisect_left(starts, ev.at - longest) : bisect_right(starts, ev.end)]
        near += out[-1:]  # rounding to milliseconds can make a fault touch the one before it
        if not any(_conflicts(reg, ctx, ev, other) for other in near):
            out.append(ev)
    return out


def simulate(schedule: Schedule) -> list[tuple[float, str, FaultEvent]]:
    """The timeline ``(seconds, "start" | "stop", event)``; at equal times stops come before starts."""
    marks = [(e.at, 1, "start", i, e) for i, e in enumerate(schedule.events)]
    marks += [(e.end, 0, "stop", i, e) for i, e in enumerate(schedule.events)]
    return [(t, what, e) for t, _, what, _, e in sorted(marks, key=lambda m: (m[0], m[1], m[3]))]
