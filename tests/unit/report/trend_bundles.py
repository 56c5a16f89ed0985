"""Folders of run bundles from several experiments and nights, for the night-over-night summary tests.

Each bundle is real (``Bundle`` + ``HistoryWriter``): a run.json with the facts the runner records (start,
seed, code version, timings), a history with one partition and a known recovery, and results.json with an
outcome. ``suite`` builds 20 of them: ``kv-flaky`` passes and fails on one code version (flaky), ``kv-fixed``
fails on an old version and passes on a new one (not flaky), ``queue-steady`` always passes.
"""

from __future__ import annotations

from pathlib import Path

from report_bundles import Recorder

from harness.bundle import Bundle
from harness.checkers.base import Composite, Result
from harness.record import RunRecord


def make_run(
    root: Path, experiment: str, night: int, outcome: str, version: str, recover_ms: int = 300
) -> Bundle:
    """One run: healthy ops, a partition 1-2 s, timeouts for ``recover_ms`` after the heal, healthy again."""
    b = Bundle.create(root, experiment)
    r = Recorder(b)
    p = 0
    for t in range(0, 1000, 50):
        p += 1
        r.call(t, t + 5, p, "read", None)
    r.at(1000, "nemesis", "info", "start-partition", {"kind": "partition", "nodes": ["n2"]})
    for t in range(1000, 2000 + recover_ms, 50):
        p += 1
        r.call(t, t + 40, p, "read", None, type_="info")
    r.at(2000, "nemesis", "info", "stop-partition", {"kind": "partition", "nodes": ["n2"]})
    for t in range(2000 + recover_ms + 50, 4000, 50):
        p += 1
        r.call(t, t + 5, p, "read", None)
    r.w.close()
    valid = outcome == "pass"
    b.write_run(
        RunRecord.from_dict(
            {
                "experiment": experiment,
                "seed": 1000 + night,
                "expect": "valid",
                "status": "finished",
                "started": f"2026-11-{night:02d}T02:17:00+0000",
                "code_version": version,
                "outcome": outcome,
                "timings": {"ops_per_s": 100.0 + night, "check_s": 0.5 + night / 10, "workload_s": 4.0},
            }
        )
    )
    res = Result("linearizable", valid, "ok" if valid else "a violation")
    b.write_results(Composite({"linearizable": res}), outcome=outcome, expect="valid")
    return b


def suite(root: Path) -> list[Bundle]:
    out = []
    for night in range(1, 8):
        out.append(make_run(root, "kv-flaky", night, "fail" if night in (3, 6) else "pass", "abc123"))
    for night in range(1, 8):
        out.append(
            make_run(
                root, "kv-fixed", night, "fail" if night <= 3 else "pass", "old" if night <= 3 else "new"
            )
        )
    for night in range(1, 7):
        out.append(make_run(root, "queue-steady", night, "pass", "abc123", recover_ms=100 * night))
    return out
