"""What a report shows, read from a run bundle and derived once: facts, op pairs, fault windows, lanes.

The report never re-checks and never talks to the cluster: everything here comes from the bundle's files
(``run.json`` and ``results.json`` as their typed records, ``harness.record``; ``history.jsonl``; ``logs/``).
Missing files or fields yield empty values so that a crashed or interrupted run still renders; a field of the
wrong type is ``BadInput`` naming the file and the field. The outcome is ``harness.outcome.of_bundle``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness import outcome as oc
from harness.bundle import Bundle
from harness.faultop import FaultWindow, fault_windows
from harness.history import History, Pair
from harness.op import Op, Process
from harness.record import ResultsRecord, RunRecord

__all__ = ["FaultWindow", "ReportData", "load", "pack_lanes"]  # FaultWindow: harness.faultop's


@dataclass(frozen=True)
class ReportData:
    """Everything the renderer needs, already parsed."""

    run: RunRecord
    results: ResultsRecord | None
    history: History
    pairs: list[Pair]
    faults: list[FaultWindow]
    nemesis_points: list[Op]
    logs: dict[str, str]
    t0: int
    t1: int
    history_error: str | None = None
    lanes: dict[Process, int] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        seen: list[str] = list(self.run.nodes or ())
        for w in self.faults:
            seen.extend(n for n in w.nodes if n not in seen)
        seen.extend(n for n in self.logs if n not in seen)
        return list(dict.fromkeys(seen))

    @property
    def lane_count(self) -> int:
        return max(self.lanes.values(), default=-1) + 1

    def outcome(self) -> str:
        """pass / fail / unknown / crashed / none, as ``harness.outcome.of_bundle`` decides it."""
        if self.results is None:
            return oc.of_bundle(self.run, None)
        valid = self.results.valid
        return oc.of_bundle(self.run, "unknown" if valid is None else valid, self.results.outcome)


def pack_lanes(pairs: list[Pair], t_end: int) -> dict[Process, int]:
    """Give each process a lane; a fresh process reuses the lane of one that ended in ``info`` (crashed).

    A worker whose call ends ``info`` continues as a new process, so a run can have hundreds of processes;
    reusing the crashed one's lane keeps one lane per concurrent worker, as Jepsen's timeline does.
    """
    span: dict[Process, list[Any]] = {}
    for p in pairs:
        end = p.complete.time if p.complete is not None else t_end
        s = span.setdefault(p.invoke.process, [p.invoke.time, end, p.type])
        s[0] = min(s[0], p.invoke.time)
        if end >= s[1]:
            s[1], s[2] = end, p.type
    lanes: dict[Process, int] = {}
    reusable: list[tuple[int, int]] = []  # (free from, lane) of lanes whose process crashed
    count = 0
    for proc, (start, end, last) in sorted(span.items(), key=lambda kv: (kv[1][0], str(kv[0]))):
        slot = next((k for k, (free, _) in enumerate(reusable) if free < start), None)
        if slot is not None:
            lanes[proc] = reusable.pop(slot)[1]
        else:
            lanes[proc] = count
            count += 1
        if last == "info":
            reusable.append((end, lanes[proc]))
    return lanes


def load(bundle: Bundle) -> ReportData:
    """Read a bundle for rendering; a missing or unreadable part becomes empty, with the reason kept."""
    run = bundle.read_run() if bundle.run_file.exists() else RunRecord()
    results = bundle.read_results()
    history_error: str | None = None
    history = bundle.read_history()
    try:
        pairs = history.pairs()
    except Exception as e:  # noqa: BLE001 - a malformed history still gets a report saying so
        history_error = str(e)
        pairs = []
    times = [op.time for op in history] or [0]
    t0, t1 = min(times), max(times)
    if t1 <= t0:
        t1 = t0 + 1
    faults, points = fault_windows(history)
    return ReportData(
        run=run,
        results=results,
        history=history,
        pairs=pairs,
        faults=faults,
        nemesis_points=points,
        logs=bundle.node_logs(),
        t0=t0,
        t1=t1,
        history_error=history_error,
        lanes=pack_lanes(pairs, t1),
    )
