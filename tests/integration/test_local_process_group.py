"""Local backend: process faults hit a node's whole process tree (a shell and the server it forked, which
even left the group with setsid), and the node's data directory exists before it starts. Also: several named
ports per node, readiness by command."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.cluster.rundir import proc_start_time
from harness.platform import open_cluster
from harness.target import Addr, NodeContext, NodeSpec, Readiness, Topology

pytestmark = pytest.mark.integration

SERVER = """
import os, socket, sys
os.setsid()  # leave the node's process group, as PostgreSQL's backends do: only the process tree finds it
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
t = socket.socket(); t.bind(("127.0.0.1", int(sys.argv[2]))); t.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"hi\\n"); c.close()
"""

# the shell refuses to start unless its data dir exists, forks the server, records the child's pid, waits
SHELL = (
    'test -d "$1" || { echo "no data dir $1"; exit 9; }; '
    'python3 -c "$4" "$2" "$3" & echo $! > "$1/child"; wait'
)


class ForkingTarget:
    name = "forking"
    planted_bugs: frozenset[str] = frozenset()
    ports = {"client": 7000, "extra": 7001}

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        argv = (
            "sh",
            "-c",
            SHELL,
            "sh",
            ctx.data_dir,
            str(ctx.ports["client"]),
            str(ctx.ports["extra"]),
            SERVER,
        )
        probe = f"import socket; socket.create_connection(('127.0.0.1', {ctx.ports['extra']}), timeout=1)"
        return NodeSpec(argv, ready=Readiness(kind="command", argv=("python3", "-c", probe)))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Any:
        raise NotImplementedError


def child(cluster: Any, node: str) -> int:
    path = Path(cluster.contexts[node].data_dir) / "child"
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{node} never wrote its child's pid"
        time.sleep(0.02)
    return int(path.read_text())


def state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


def test_kill_pause_resume_reach_the_whole_group(local_backend: str) -> None:
    with open_cluster(ForkingTarget(), nodes=2, backend=local_backend) as cluster:
        cluster.wait_ready(timeout=20)
        ctx = cluster.contexts["n1"]
        assert set(ctx.ports) == {"client", "extra"} and len(set(ctx.ports.values())) == 2
        assert set(ctx.peer_addrs["n2"]) == {"client", "extra"}
        assert ctx.peer_addrs["n2"]["extra"].port not in cluster.contexts["n2"].ports.values()  # a proxy
        pid = child(cluster, "n1")
        cluster.pause("n1")
        time.sleep(0.2)
        assert state(pid) == "T"
        cluster.resume("n1")
        time.sleep(0.2)
        assert state(pid) in "RS"
        cluster.kill("n1")
        deadline = time.monotonic() + 5
        while proc_start_time(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc_start_time(pid) is None, "the forked server outlived its node"
        addr = cluster.backend.direct_addr("n1")
        with pytest.raises(OSError):
            socket.create_connection((addr.host, addr.port), timeout=0.5).close()
        os.unlink(Path(ctx.data_dir) / "child")
        cluster.start("n1")
        cluster.wait_ready(timeout=20)
        assert child(cluster, "n1") != pid
