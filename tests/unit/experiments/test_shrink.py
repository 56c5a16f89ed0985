"""Shrinking: a pure greedy search (tested with a predicate), and end to end with fake runs: the shrunk
schedule is strictly smaller, still fails, and is written as a runnable experiment file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, Harness

import harness.cli.run as cli_run
from harness.cli import main
from harness.faults.base import FaultContext
from harness.loader import load, loads
from harness.schedule import Schedule
from harness.shrink import Candidate, candidates, shrink
from harness.target import Topology

NODES = ("n1", "n2", "n3")
CTX = FaultContext(NODES, Topology.full_mesh(NODES).links)
SCHEDULE = Schedule.from_list(
    [
        {"kind": "kill", "at": 1.0, "duration": 2.0, "nodes": ["n2"]},
        {
            "kind": "partition",
            "at": 4.0,
            "duration": 4.0,
            "shape": "halves",
            "nodes": ["n3", "n1", "n2"],
            "mode": "blackhole",
        },
        {"kind": "pause", "at": 9.0, "duration": 2.0, "nodes": ["n1"]},
        {
            "kind": "link",
            "at": 12.0,
            "duration": 2.0,
            "toxic": "latency",
            "latency": 100,
            "jitter": 0,
            "links": [["n1", "n2"], ["n2", "n1"]],
        },
    ]
)


def test_every_candidate_is_strictly_smaller() -> None:
    reg = Harness().registries
    start = Candidate(SCHEDULE, 20.0)
    for _, cand in candidates(start, reg, CTX):
        assert cand.size(reg, CTX) < start.size(reg, CTX)


def test_shrinks_to_the_one_fault_that_matters() -> None:
    reg = Harness().registries

    def fails(c: Candidate) -> bool:  # the "bug" needs a partition lasting at least one second
        return any(e.kind == "partition" and e.duration >= 1.0 for e in c.schedule.events)

    result = shrink(Candidate(SCHEDULE, 20.0), fails, reg, CTX, max_runs=60)
    events = result.best.schedule.events
    assert len(events) == 1 and events[0].kind == "partition"
    assert 1.0 <= events[0].duration < 2.0 and events[0].params["shape"] == "isolate"
    assert result.best.duration < 20.0 and result.runs <= 60 and fails(result.best)


def test_budget_is_respected_and_nothing_smaller_means_no_change() -> None:
    reg = Harness().registries
    calls: list[Candidate] = []

    def passes(c: Candidate) -> bool:
        calls.append(c)
        return False

    result = shrink(Candidate(SCHEDULE, 20.0), passes, reg, CTX, max_runs=5)
    assert len(calls) == 5 and result.runs == 5 and not result.shrunk


def _fake_cli(monkeypatch: pytest.MonkeyPatch, h: Harness) -> None:
    import harness.run as run_mod

    monkeypatch.setattr(cli_run, "Registries", lambda: h.registries)
    monkeypatch.setattr(run_mod, "_default_cluster_factory", lambda: h.open_cluster)


def test_chaos_shrink_end_to_end_on_a_planted_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    h = Harness()
    _fake_cli(monkeypatch, h)
    text = BASE.replace("expect: valid", "expect: invalid").replace(
        "nodes: 3}", "nodes: 3, mode: stale-read}"
    )
    text += (
        "faults:\n  steps:\n"
        "    - {kind: kill, nodes: [n3], at: 0.05, duration: 0.2}\n"
        "    - {kind: partition, shape: halves, at: 0.3, duration: 0.5}\n"
        "    - {kind: pause, nodes: [n2], at: 0.85, duration: 0.1}\n"
    )
    exp_file = tmp_path / "buggy.yaml"
    exp_file.write_text(text, encoding="utf-8")
    assert main(["run", str(exp_file), "--out", str(tmp_path / "reports")]) == 0  # caught, as expected
    run_dir = tmp_path / "reports" / "fake-exp" / "latest"
    capsys.readouterr()
    assert main(["shrink", str(run_dir), "--max-runs", "5"]) == 0
    out = capsys.readouterr().out
    assert "minimal failing experiment" in out
    shrunk = load(run_dir / "shrunk.yaml", h.registries)
    original = loads(text, "buggy.yaml", h.registries)
    assert len(shrunk.steps) < len(original.steps)
    assert all(s.kind == "partition" for s in shrunk.steps)
    trial = run_dir / "shrink" / "fake-exp" / "latest"  # a trial bundle records the schedule it really ran
    trial_steps = load(trial / "experiment.yaml", h.registries).steps
    assert [s.kind for s in trial_steps] == [
        e["kind"] for e in json.loads((trial / "run.json").read_text())["schedule"]
    ]
    # the written file is runnable and still fails (the planted bug is still caught)
    assert main(["run", str(run_dir / "shrunk.yaml"), "--out", str(tmp_path / "again")]) == 0


def test_shrinking_a_passing_run_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    h = Harness()
    _fake_cli(monkeypatch, h)
    exp_file = tmp_path / "ok.yaml"
    exp_file.write_text(BASE, encoding="utf-8")
    assert main(["run", str(exp_file), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["shrink", str(tmp_path / "fake-exp" / "latest")]) == 3
    assert "did not fail" in capsys.readouterr().err


def test_replay_uses_the_recorded_seed_and_reports_the_same_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    h = Harness()
    _fake_cli(monkeypatch, h)
    text = BASE.replace("seed: 7\n", "").replace("duration: 1,", "duration: 2,")
    text += "faults:\n  random: {kinds: [partition, kill], interval: [0.1, 0.3], duration: [0.1, 0.3]}\n"
    exp_file = tmp_path / "r.yaml"
    exp_file.write_text(text, encoding="utf-8")
    assert main(["run", str(exp_file), "--seed", "99", "--out", str(tmp_path)]) == 0
    first: Any = (tmp_path / "fake-exp" / "latest").resolve()
    capsys.readouterr()
    assert main(["replay", str(first), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fault schedule identical" in out and "seed 99" in out
