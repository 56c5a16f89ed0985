"""Helpers for integration tests, importable by name from any test file (``from integration_env import ...``):
"is Docker / Toxiproxy here?" as a skip or, under ``CHAOS_REQUIRE_INTEGRATION=1`` (CI), a failure, and the
environment of a child ``chaos`` process with a ``CHAOS_HOME`` of its own. (A module named ``conftest`` cannot
be imported from tests: several conftest files share that name, and the first one imported wins.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REQUIRE_ENV = "CHAOS_REQUIRE_INTEGRATION"


def _missing(what: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{what} ({REQUIRE_ENV}=1: integration tests may not be skipped)", pytrace=False)
    pytest.skip(what)


def require_toxiproxy() -> None:
    from harness.cluster.toxiproxy_server import find_toxiproxy

    if find_toxiproxy() is None:
        _missing("toxiproxy-server not found; run scripts/setup")


def require_docker() -> None:
    """A reachable engine plus the target image (built here if only the base image is present)."""
    require_toxiproxy()
    from harness.cluster import docker as dk
    from harness.errors import InfrastructureError

    if not dk.docker_reachable():
        _missing("no Docker engine reachable; run scripts/setup")
    try:
        c = dk.client()
        dk.ensure_image(c)
        c.close()
    except InfrastructureError as e:
        _missing(str(e))


def require_kubernetes() -> None:
    """A reachable Kubernetes cluster (the project's test cluster: ``CHAOS_KUBERNETES=1 scripts/setup``) and
    the Docker engine its images are built with. ``CHAOS_KUBERNETES=0`` opts out (the tests skip)."""
    if os.environ.get("CHAOS_KUBERNETES") == "0":
        pytest.skip("CHAOS_KUBERNETES=0: the kubernetes backend's tests are off")
    require_docker()
    from harness.cluster import kubernetes as kube

    ok, how = kube.cluster_summary()
    if not ok:
        _missing(f"no Kubernetes cluster: {how}")


def isolated_env(home: object) -> dict[str, str]:
    """The environment for a child ``chaos`` process with its own ``CHAOS_HOME`` (a second "checkout"):
    it still finds this machine's toxiproxy-server and the base image set-up chose."""
    from harness.cluster.image import base_candidates
    from harness.cluster.toxiproxy_server import find_toxiproxy

    env = {**os.environ, "CHAOS_HOME": str(home)}
    toxiproxy = find_toxiproxy()
    if toxiproxy is not None:
        env["CHAOS_TOXIPROXY"] = str(toxiproxy)
    base = base_candidates()[0]
    try:
        from harness.cluster import docker as dk

        if dk.docker_reachable():
            c = dk.client()
            image = dk.base_image(c)
            c.close()
            base = image.tags[0] if image.tags else image.id
    except Exception:  # noqa: BLE001 - no engine: the local backend needs no image
        pass
    env["CHAOS_BASE_IMAGE"] = base
    return env


class ChaosRun:
    """``chaos run EXPERIMENT --out OUT`` as a child process whose stderr (the run's progress) is collected
    line by line, so a test can wait for a phase and then break something from outside."""

    def __init__(self, experiment: Path, out: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "run", str(experiment), "--out", str(out)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, seen: Callable[[str], bool], timeout: float = 90) -> bool:
        """Whether a progress line for which ``seen`` holds appears within ``timeout`` (False if it exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(seen(line) for line in list(self.lines)):
                return True
            if self.proc.poll() is not None:
                self._reader.join(2)
                return any(seen(line) for line in self.lines)
            time.sleep(0.05)
        return False

    def finish(self, timeout: float) -> int:
        """Its exit code (killed if it has not ended within ``timeout``); every stderr line collected."""
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(5)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)
