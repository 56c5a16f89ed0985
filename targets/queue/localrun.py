"""Run a target's nodes as local processes wired directly (no Toxiproxy): for unit tests and the benchmark.

This is not the harness's ``local`` backend (``harness.platform``), which adds the proxy mesh, logs and fault
bookkeeping; it only starts ``target.node_spec`` argvs on free loopback ports with peers addressed directly,
and can kill -9, restart, SIGSTOP and SIGCONT them, so the queue and lock services can be exercised end to end
in a few seconds without Docker. Everything it starts is stopped by ``close`` (or leaving the ``with`` block).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.target import Addr, NodeContext, Target

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalNodes:
    def __init__(
        self,
        target: Target,
        n: int,
        base_dir: str,
        flags: frozenset[str] = frozenset(),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.target, self.base_dir = target, base_dir
        os.makedirs(base_dir, exist_ok=True)
        self.topology = target.topology(n, options or {})
        self.addrs = {node: Addr("127.0.0.1", free_port()) for node in self.topology.nodes}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.ctxs = {
            node: NodeContext(
                node=node,
                nodes=self.topology.nodes,
                listen=self.addrs[node],
                peers={dst: self.addrs[dst] for src, dst in self.topology.links if src == node},
                data_dir=os.path.join(base_dir, node),
                flags=flags,
                options=dict(options or {}),
            )
            for node in self.topology.nodes
        }

    @property
    def client_addrs(self) -> dict[str, Addr]:
        return {n: self.addrs[n] for n in self.topology.client_nodes}

    def start(self, node: str) -> None:
        spec = self.target.node_spec(self.ctxs[node])
        argv = [sys.executable, *spec.argv[1:]] if spec.argv[0] == "python3" else list(spec.argv)
        self.logs[node] = Path(self.base_dir) / f"{node}.log"
        with open(self.logs[node], "ab") as log:
            self.procs[node] = subprocess.Popen(
                argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **spec.env}
            )

    def start_all(self, timeout: float = 10.0) -> None:
        for node in self.topology.nodes:
            self.start(node)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for node, addr in self.addrs.items():
            while True:
                try:
                    socket.create_connection((addr.host, addr.port), timeout=0.5).close()
                    break
                except OSError:
                    proc = self.procs.get(node)
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(
                            f"{node} exited with {proc.returncode}: {self.log(node)}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{node} not listening on {addr}") from None
                    time.sleep(0.05)

    def kill(self, node: str) -> None:
        proc = self.procs.pop(node)
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()

    def restart(self, node: str) -> None:
        if node in self.procs:
            self.kill(node)
        self.start(node)

    def pause(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGSTOP)

    def resume(self, node: str) -> None:
        self.procs[node].send_signal(signal.SIGCONT)

    def log(self, node: str) -> str:
        path = self.logs.get(node)
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def close(self) -> None:
        for node in list(self.procs):
            self.kill(node)

    def __enter__(self) -> LocalNodes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
