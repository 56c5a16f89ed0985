"""Shrinking a failing fault schedule: fewer faults, shorter faults, fewer nodes, a shorter workload.

In the spirit of hypothesis' shrinker: a greedy search over strictly smaller candidates, keeping the first
that still fails and starting over from it, until no candidate fails or the run budget is spent. "Smaller" is
the lexicographic order of ``size``: (number of faults, seconds of faults, nodes singled out, workload
seconds), so every accepted step is strictly smaller and the search ends. The search is pure: ``fails`` is the
only effect (the CLI runs the experiment; tests pass a predicate), so it is unit-tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from harness.experiment import Experiment
from harness.faults.base import FaultContext
from harness.faults.event import FaultEvent
from harness.registry import Registries
from harness.schedule import Schedule

MIN_FAULT_S = 0.5


@dataclass(frozen=True)
class Candidate:
    """A schedule and the workload duration it runs in."""

    schedule: Schedule
    duration: float

    def size(self, reg: Registries, ctx: FaultContext) -> tuple[int, float, int, float]:
        nodes = sum(len(reg.fault(e.kind).nodes(e.params, ctx)) for e in self.schedule.events)
        total = round(self.schedule.total_duration(), 3)
        return (len(self.schedule.events), total, nodes, round(self.duration, 3))


@dataclass
class ShrinkResult:
    original: Candidate
    best: Candidate
    runs: int = 0
    accepted: list[str] = field(default_factory=list)

    @property
    def shrunk(self) -> bool:
        return self.best != self.original


def _with(events: list[FaultEvent], duration: float) -> Candidate:
    return Candidate(Schedule(tuple(sorted(events, key=lambda e: (e.at, e.kind)))), duration)


def candidates(c: Candidate, reg: Registries, ctx: FaultContext) -> Iterator[tuple[str, Candidate]]:
    """Strictly smaller variants of ``c`` (by ``size``), boldest first, each with a short description."""
    size = c.size(reg, ctx)
    for what, cand in _variants(c, reg, ctx):
        if cand.size(reg, ctx) < size:
            yield what, cand


def _variants(c: Candidate, reg: Registries, ctx: FaultContext) -> Iterator[tuple[str, Candidate]]:
    ev = list(c.schedule.events)
    if len(ev) > 1:
        yield "no faults", _with([], c.duration)
        half = len(ev) // 2
        yield "first half of the faults", _with(ev[:half], c.duration)
        yield "second half of the faults", _with(ev[half:], c.duration)
    for i, e in enumerate(ev):
        yield f"without fault {i} ({e.kind} at {e.at:g} s)", _with(ev[:i] + ev[i + 1 :], c.duration)
    for i, e in enumerate(ev):
        if e.duration / 2 >= MIN_FAULT_S:
            shorter = replace(e, duration=round(e.duration / 2, 3))
            yield (
                f"fault {i} ({e.kind}) lasting {shorter.duration:g} s",
                _with(ev[:i] + [shorter] + ev[i + 1 :], c.duration),
            )
    for i, e in enumerate(ev):
        for params in reg.fault(e.kind).smaller(e.params, ctx):
            smaller = replace(e, params=MappingProxyType(params))
            yield f"fault {i} ({e.kind}) on fewer nodes", _with(ev[:i] + [smaller] + ev[i + 1 :], c.duration)
    end = max((e.end for e in ev), default=0.0)
    shorter_run = round(max(end + 1.0, c.duration / 2), 3)
    if shorter_run < c.duration:
        yield f"a workload of {shorter_run:g} s", _with(ev, shorter_run)


def shrink(
    start: Candidate,
    fails: Callable[[Candidate], bool],
    reg: Registries,
    ctx: FaultContext,
    *,
    max_runs: int = 20,
    log: Callable[[str], None] = lambda line: None,
) -> ShrinkResult:
    """Greedily shrink ``start`` while ``fails`` holds, calling ``fails`` at most ``max_runs`` times."""
    result = ShrinkResult(start, start)
    progress = True
    while progress and result.runs < max_runs:
        progress = False
        for what, cand in candidates(result.best, reg, ctx):
            if result.runs >= max_runs:
                break
            result.runs += 1
            ok = fails(cand)
            log(f"shrink try {result.runs}/{max_runs}: {what}: {'still fails' if ok else 'passes'}")
            if ok:
                result.best = cand
                result.accepted.append(what)
                progress = True
                break
    return result


def as_experiment(exp: Experiment, cand: Candidate) -> Experiment:
    """``exp`` with the candidate's schedule as explicit steps (no random schedule) and its duration."""
    workload = replace(exp.workload, duration=cand.duration)
    # bundles get this form
    return replace(exp, steps=cand.schedule.events, random=None, workload=workload, source=None)
