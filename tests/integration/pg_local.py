"""A throwaway PostgreSQL 15 server on loopback for tests: initdb in a temp dir, started with pg_ctl,
stopped by its pid. As root the server runs as the ``postgres`` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a conninfo string for a fresh server; the server is stopped (by pid) and its files removed."""
    root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
    os.chmod(root, 0o755)
    as_pg: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    pid: int | None = None
    try:
        subprocess.run(
            [*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        subprocess.run(
            [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", opts]
            + ["start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=5"
    finally:
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)  # fast shutdown
                for _ in range(300):
                    os.kill(pid, 0)
                    time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(root, ignore_errors=True)
