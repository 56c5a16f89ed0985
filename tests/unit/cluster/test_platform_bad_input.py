"""Bad input and missing infrastructure: one clear line, exit code 3, no traceback (through the real CLI)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from chaos_targets.echo.target import EchoTarget
from harness.errors import BadInput
from harness.platform import open_cluster


def chaos(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chaos: error: "), r.stderr
    return lines[0]


def test_unknown_backend() -> None:
    line = one_error_line(chaos("doctor", "--smoke", "vmware"))
    assert "'vmware'" in line and "auto, docker, kubernetes, local" in line
    with pytest.raises(BadInput, match="valid backends: auto, docker, kubernetes, local"):
        with open_cluster(EchoTarget(), backend="vm"):
            pass


def test_port_already_taken() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = one_error_line(chaos("doctor", "--smoke", "local", "--base-port", str(port)))
    assert f"port 127.0.0.1:{port} is already in use" in line and "base_port" in line


def test_toxiproxy_server_missing() -> None:
    line = one_error_line(
        chaos("doctor", "--smoke", "local", CHAOS_TOXIPROXY="/nonexistent/toxiproxy-server")
    )
    assert "CHAOS_TOXIPROXY=/nonexistent/toxiproxy-server is not an executable file" in line
    assert "scripts/setup" in line


def test_no_docker_engine_on_docker_backend(tmp_path: object) -> None:
    line = one_error_line(chaos("doctor", "--smoke", "docker", DOCKER_HOST="unix:///nonexistent/docker.sock"))
    assert "no Docker engine reachable at unix:///nonexistent/docker.sock" in line
    assert "local backend" in line


def test_bad_node_count_and_run_id() -> None:
    with pytest.raises(BadInput, match="nodes 0"):
        with open_cluster(EchoTarget(), nodes=0):
            pass
    with pytest.raises(BadInput, match="run_id '../x'"):
        with open_cluster(EchoTarget(), run_id="../x"):
            pass
