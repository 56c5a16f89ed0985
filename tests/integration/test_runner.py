"""The runner against real clusters (local processes or Docker, behind Toxiproxy): a full run's bundle,
replay with the same seed giving the same nemesis ops, shrinking a planted bug, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.bundle import Bundle
from harness.loader import load, with_overrides
from harness.registry import Registries
from harness.run import run_experiment
from harness.schedule import Schedule
from harness.shrink import Candidate, as_experiment, shrink

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


def _nemesis(bundle: Bundle) -> list[tuple[str, Any]]:
    return [(op.f, op.value) for op in bundle.read_history().nemesis_ops()]


def test_kv_run_writes_a_complete_bundle(backend: str, tmp_path: Path) -> None:
    exp = with_overrides(load(EXPERIMENTS / "kv-register.yaml"), backend=backend, duration=9)
    o = run_experiment(exp, out=tmp_path)
    assert o.exit_code == 0, o.summary
    meta = o.bundle.read_run()
    assert meta.status == "finished" and meta.backend == backend
    hist = o.bundle.read_history()
    assert len(hist.client_ops()) > 100
    starts = [f for f, _ in _nemesis(o.bundle) if f.startswith("start-")]
    stops = [f for f, _ in _nemesis(o.bundle) if f.startswith("stop-")]
    assert len(starts) == len(stops) == len(o.schedule.events) >= 1
    assert set(o.bundle.node_logs()) == {"n1", "n2", "n3"}
    assert o.report is not None and o.report.is_file()


def test_same_seed_replays_the_same_fault_schedule(local_backend: str, tmp_path: Path) -> None:
    exp = with_overrides(load(EXPERIMENTS / "kv-register.yaml"), seed=5, backend="local", duration=9)
    a = run_experiment(exp, out=tmp_path)
    b = run_experiment(exp, out=tmp_path)
    assert a.schedule == b.schedule and a.schedule.events
    assert _nemesis(a.bundle) == _nemesis(b.bundle)
    other = run_experiment(with_overrides(exp, seed=6), out=tmp_path)
    assert _nemesis(other.bundle) != _nemesis(a.bundle)


def test_chaos_replay_reruns_the_recorded_seed(local_backend: str, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "harness.cli"]
    first = subprocess.run(
        [
            *cmd,
            "run",
            str(EXPERIMENTS / "kv-register.yaml"),
            "--backend",
            "local",
            "--duration",
            "7",
            "--seed",
            "9",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert first.returncode == 0, first.stderr
    replay = subprocess.run(
        [*cmd, "replay", str(tmp_path / "kv-register" / "latest"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert replay.returncode == 0, replay.stderr
    assert "fault schedule identical" in replay.stdout and "seed 9" in replay.stdout


def test_shrinking_a_planted_bug_gives_a_strictly_smaller_failing_schedule(
    local_backend: str, tmp_path: Path
) -> None:
    reg = Registries()
    exp = with_overrides(load(EXPERIMENTS / "kv-stale-read.yaml"), backend="local", duration=8, seed=3)
    first = run_experiment(exp, out=tmp_path)
    assert first.valid is False, first.summary
    start = Candidate(Schedule.from_list(first.bundle.read_run().schedule), exp.workload.duration)

    def fails(c: Candidate) -> bool:
        # a real system: a stale read can also come from replication lag alone, so a candidate counts as
        # failing only when two runs of it both fail (an empty schedule that failed once by luck is not kept)
        return all(
            run_experiment(as_experiment(exp, c), seed=exp.seed, out=tmp_path / "shrink").valid is False
            for _ in range(2)
        )

    result = shrink(start, fails, reg, exp.fault_context, max_runs=4)
    assert result.shrunk
    assert result.best.size(reg, exp.fault_context) < start.size(reg, exp.fault_context)
    # the shrunk schedule still fails; the system is real (a stale read needs timing), so up to three tries
    again = [
        run_experiment(as_experiment(exp, result.best), seed=exp.seed, out=tmp_path / f"again-{i}").valid
        for i in range(3)
    ]
    assert False in again, again


def _descendants(pid: int) -> set[int]:
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            out.add(k)
            todo.append(k)
    return out


def test_ctrl_c_heals_cleans_up_and_keeps_the_history(local_backend: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            str(EXPERIMENTS / "kv-register.yaml"),
            "--backend",
            "local",
            "--duration",
            "30",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    run_dir = tmp_path / "kv-register" / "latest"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        hist_file = run_dir / "history.jsonl"
        if hist_file.exists() and hist_file.read_text().count("\n") > 200:
            break
        time.sleep(0.2)
    children = _descendants(proc.pid)
    assert children, "the run started no node processes"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    meta = Bundle.open(run_dir).read_run()
    assert meta.status == "interrupted"
    hist = Bundle.open(run_dir).read_history()
    assert len(hist.client_ops()) > 200
    nem = [op.f for op in hist.nemesis_ops()]
    assert nem.count("start-partition") + nem.count("start-kill") + nem.count("start-pause") == sum(
        f.startswith("stop-") for f in nem
    )
    time.sleep(0.5)
    alive = [p for p in children if Path(f"/proc/{p}").exists() and "zombie" not in _state(p)]
    assert alive == [], f"processes left running: {alive}"
    assert os.listdir(run_dir / "logs")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"
