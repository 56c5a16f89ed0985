"""``EchoTarget``: the echo service plugged into the target API (registered as ``echo``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos_targets.echo.client import EchoClient
from harness.target import Addr, NodeContext, NodeSpec, Topology


class EchoTarget:
    name = "echo"
    planted_bugs: frozenset[str] = frozenset()

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        argv = ["python3", "-m", "chaos_targets.echo.node", "--node", ctx.node, "--listen", str(ctx.listen)]
        argv += ["--data-dir", ctx.data_dir]
        for peer, addr in sorted(ctx.peers.items()):
            argv += ["--peer", f"{peer}={addr}"]
        return NodeSpec(tuple(argv))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> EchoClient:
        return EchoClient(nodes, process, timeout)
