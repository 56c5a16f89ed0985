"""Run directories and ``chaos clean``: leftovers of dead runners are killed by pid file, live runs and
recycled pids are left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.cli.clean import clean
from harness.cluster.rundir import RunDir


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path))
    return tmp_path


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_clean_kills_recorded_processes_of_a_dead_runner(capsys: pytest.CaptureFixture[str]) -> None:
    run = RunDir.create("dead-run")
    (run.path / "owner").write_text("999999 1\n")  # a runner that no longer exists
    p = sleeper()
    run.record_pid("n1", p.pid)
    assert main(["clean", "--no-docker"]) == 0
    assert p.wait(timeout=5) == -9
    assert not run.path.exists()
    assert f"removed process {p.pid} of run dead-run" in capsys.readouterr().out


def test_clean_leaves_live_runs_and_recycled_pids_alone() -> None:
    live = RunDir.create("live-run")  # owned by this (alive) test process
    p1 = sleeper()
    live.record_pid("n1", p1.pid)
    stale = RunDir.create("stale-run")
    (stale.path / "owner").write_text("999999 1\n")
    p2 = sleeper()
    (stale.path / "pids" / "n1.pid").write_text(f"{p2.pid} 12345\n")  # same pid, another start time: not ours
    try:
        clean(docker=False)
        assert p1.poll() is None and p2.poll() is None
        assert live.path.exists() and not stale.path.exists()
        assert [r for r in clean("live-run", docker=False) if "process" in r] == [
            f"process {p1.pid} of run live-run"
        ]
        assert p1.wait(timeout=5) == -9
    finally:
        for p in (p1, p2):
            p.kill()
            p.wait()


def test_clean_with_nothing_left() -> None:
    assert clean(docker=False) == []
