"""Run directories and ``chaos clean``: leftovers of dead runners are killed by pid file, live runs and
recycled pids are left alone."""

from __future__ import annotations

import json
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


def dead_owner(run: RunDir, old_format: bool = True) -> None:
    """Make ``run`` look owned by a runner that no longer exists (in an older checkout's format, or ours)."""
    if old_format:
        (run.path / "owner.json").unlink()
        (run.path / "owner").write_text("999999 1\n")
    else:
        data = json.loads((run.path / "owner.json").read_text())
        data.update(pid=999999, start=1)
        (run.path / "owner.json").write_text(json.dumps(data))


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_clean_kills_recorded_processes_of_a_dead_runner(capsys: pytest.CaptureFixture[str]) -> None:
    run = RunDir.create("dead-run")
    dead_owner(run)
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
    dead_owner(stale)
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


def test_a_dead_owner_in_the_new_format_is_cleaned_and_its_bundle_marked_killed(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "logs").mkdir(parents=True)
    (bundle / "run.json").write_text(json.dumps({"status": "running", "experiment": "x"}))
    run = RunDir.create("dead-new", owner_log_dir=bundle / "logs")
    assert run.owner() is not None and run.owner().bundle == str(bundle.resolve())  # type: ignore[union-attr]
    dead_owner(run, old_format=False)
    removed = clean(docker=False)
    assert not run.path.exists()
    assert any("marked killed" in line for line in removed), removed
    meta = json.loads((bundle / "run.json").read_text())
    assert meta["status"] == "killed" and "killed" in meta["error"]


def test_a_run_directory_without_any_owner_record_counts_as_live() -> None:
    run = RunDir.create("no-owner")
    (run.path / "owner.json").unlink()
    (run.path / "owner").unlink()
    assert run.owner() is None and run.owner_alive()
    clean(docker=False)
    assert run.path.exists()


def test_a_finished_bundle_is_never_marked_killed(tmp_path: Path) -> None:
    from harness.cluster.owner import mark_killed

    (tmp_path / "run.json").write_text(json.dumps({"status": "finished"}))
    assert not mark_killed(str(tmp_path))
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "finished"
    assert not mark_killed("")


def test_a_bundle_whose_runner_died_after_its_cluster_is_marked_killed(home: Path, tmp_path: Path) -> None:
    from harness.cluster.owner import register_bundle

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "run.json").write_text(json.dumps({"status": "running"}))
    live = register_bundle(home, bundle)
    assert clean(docker=False) == [] and live.exists()  # this (alive) process still writes it
    data = json.loads(live.read_text())
    data.update(pid=999999, start=1)
    live.write_text(json.dumps(data))
    assert clean(docker=False) == [f"bundle {bundle.resolve()} marked killed"]
    assert json.loads((bundle / "run.json").read_text())["status"] == "killed"
    assert not live.exists()
