"""Acceptance: two checkouts on one engine. A live run of one survives an unscoped ``chaos clean`` in the
other; a run whose runner was SIGKILLed is removed by a clean from either checkout (its bundle marked
``killed``); a labelled run with no owner labels (an older checkout's) is left alone unless a run directory
says its owner is dead.

The checkouts are two ``CHAOS_HOME`` directories; each ``chaos clean`` runs as a subprocess in one of them.
Other runs on the engine may be removed too when their owners are certainly gone (a shared engine, killed runs
of other tests); the test asserts that nothing it keeps live is touched.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

RUNNER = """
import sys, time
from pathlib import Path
from harness.platform import open_cluster
from chaos_targets.echo.target import EchoTarget
logs = Path(sys.argv[2]) / "logs"
try:
    with open_cluster(EchoTarget(), nodes=3, backend="docker", run_id=sys.argv[1], log_dir=logs) as c:
        c.wait_ready(timeout=30)
        print("READY", flush=True)
        time.sleep(120)
except KeyboardInterrupt:
    pass
"""


def _env(home: Path) -> dict[str, str]:
    from integration_env import isolated_env

    return isolated_env(home)


def start(home: Path, bundle: Path) -> tuple[subprocess.Popen[str], str]:
    run_id = "x" + secrets.token_hex(4)
    (bundle / "logs").mkdir(parents=True)
    (bundle / "run.json").write_text(json.dumps({"status": "running", "experiment": "x"}))
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, run_id, str(bundle)], stdout=subprocess.PIPE, text=True, env=_env(home)
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), f"runner said {line!r}, exit {proc.poll()}"
    return proc, run_id


def labelled(run_id: str) -> list[str]:
    flt = f"label=chaos-harness.run={run_id}"
    ps = subprocess.run(["docker", "ps", "-aq", "--filter", flt], capture_output=True, text=True, check=True)
    nets = subprocess.run(["docker", "network", "ls", "-q", "--filter", flt], capture_output=True, text=True)
    return ps.stdout.split() + nets.stdout.split()


def chaos_clean(home: Path) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "clean"], capture_output=True, text=True, env=_env(home)
    )
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line.startswith("removed")]


def test_unscoped_clean_removes_only_runs_whose_owner_is_gone(tmp_path: Path, docker_backend: str) -> None:
    home_a, home_b = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    home_a.mkdir()
    home_b.mkdir()
    old_live, old_dead = "old" + secrets.token_hex(3), "old" + secrets.token_hex(3)
    procs: list[subprocess.Popen[str]] = []
    try:
        live, live_id = start(home_a, tmp_path / "bundle-a")
        procs.append(live)
        dead, dead_id = start(home_b, tmp_path / "bundle-b")
        procs.append(dead)
        dead.kill()
        dead.wait()
        # two runs of an older checkout (a network labelled with the run id only): one whose run directory
        # in B says its owner is dead, one with no run directory at all (it must count as live)
        for rid in (old_live, old_dead):
            label = f"chaos-harness.run={rid}"
            cmd = ["docker", "network", "create", "--internal", "--label", label, f"c-{rid}"]
            subprocess.run(cmd, capture_output=True, check=True)
        (home_b / "runs" / old_dead / "pids").mkdir(parents=True)
        (home_b / "runs" / old_dead / "owner").write_text("999999 1\n")
        # a 3-node docker run: its network plus, per node, the node and its network sandbox (Toxiproxy when
        # the run routes links through proxies); the same layout for both runs
        size = len(labelled(live_id))
        assert size >= 7 and len(labelled(dead_id)) == size

        removed_in_a = chaos_clean(home_a)  # the checkout that never knew the dead run
        assert labelled(dead_id) == [], removed_in_a
        assert len(labelled(live_id)) == size, removed_in_a
        # the older run's directory lives in B, which the dead run's labels name: judged dead from A too
        assert labelled(old_dead) == [] and labelled(old_live), removed_in_a
        # nothing live was touched (other stale runs on a shared engine, whose owners are gone, may go too)
        assert not any(live_id in line or old_live in line for line in removed_in_a), removed_in_a
        assert json.loads((tmp_path / "bundle-b" / "run.json").read_text())["status"] == "killed"
        assert not (home_b / "runs" / dead_id).exists() and not (home_b / "runs" / old_dead).exists()

        assert chaos_clean(home_b) == []  # the other checkout: A's live run and the owner-less run stay
        assert chaos_clean(home_a) == []
        assert len(labelled(live_id)) == size and labelled(old_live)
        assert live.poll() is None
        assert json.loads((tmp_path / "bundle-a" / "run.json").read_text())["status"] == "running"
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=30)
        for rid in (old_live, old_dead):
            subprocess.run(["docker", "network", "rm", f"c-{rid}"], capture_output=True)
    assert labelled(live_id) == []
