"""The one set-up script (scripts/setup; `chaos setup` runs it) on a hosted runner's terms: not root.

With a fake `id` (uid 1000) and a fake `docker` whose engine does not answer, it must not try to install or
start an engine itself: it says what to do and exits 1. With CHAOS_NO_DOCKER=1 it prepares the local backend
only and succeeds. The package is already installed (CHAOS_SETUP_PYTHON): the virtualenv step is skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.paths import native_crate, setup_script


def _fake(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def _run(tmp_path: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    bindir = tmp_path / "fakebin"
    bindir.mkdir(exist_ok=True)
    _fake(bindir, "id", 'if [ "$1" = "-u" ]; then echo 1000; else exec /usr/bin/id "$@"; fi')
    _fake(bindir, "docker", "exit 1")  # no engine answers
    _fake(bindir, "dockerd", 'echo "dockerd must not be started by a non-root set-up" >&2; exit 9')
    _fake(bindir, "sudo", "exit 1")  # no passwordless sudo
    _fake(bindir, "toxiproxy-server", "exit 0")  # found on PATH: nothing to build
    _fake(bindir, "cargo", "exit 0")  # the native core's build is not what this test is about
    full = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "CHAOS_SETUP_PYTHON": sys.executable,
        "CHAOS_HOME": str(tmp_path / "home"),
        "CHAOS_NATIVE_CRATE": str(native_crate()),
        **env,
    }
    return subprocess.run(
        ["bash", str(setup_script()), *extra], env=full, capture_output=True, text=True, timeout=600
    )


def test_non_root_without_an_engine_says_what_to_do(tmp_path: Path) -> None:
    proc = _run(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "only root starts one here" in proc.stdout and "CHAOS_NO_DOCKER=1" in proc.stdout
    assert "dockerd must not be started" not in proc.stderr
    assert "creating .venv" not in proc.stdout and "pip install" not in proc.stdout  # already installed


def test_non_root_local_backend_only_succeeds(tmp_path: Path) -> None:
    proc = _run(tmp_path, CHAOS_NO_DOCKER="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CHAOS_NO_DOCKER=1: skipping Docker and images" in proc.stdout
    assert (tmp_path / "home" / "stamps").is_dir()  # state in CHAOS_HOME, not the checkout's .chaos
