"""``MemKvTarget``: memkv plugged into the harness's target API, registered as ``memkv`` by this package's
entry point (``chaos_harness.targets``). Nothing in ``harness/`` names it.

It uses the optional members of ``harness.target.Target`` through ``TargetBase``: its named ``ports``, one
node by default (``default_nodes``), the bundled ``kv`` workload (``default_workload``) and the fault
capabilities it allows (``capabilities``: with one node there is nothing to partition).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos_example_target.client import MemKvClient
from harness.target import Addr, NodeContext, NodeSpec, TargetBase, Topology


class MemKvTarget(TargetBase):
    name = "memkv"
    planted_bugs = frozenset({"lost-writes"})
    ports = {"client": 7400}
    default_nodes = 1
    default_workload = "kv"
    capabilities = frozenset({"kill", "restart", "pause"})

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        if nodes != 1:
            raise ValueError(f"memkv runs on exactly one node, not {nodes}")
        return Topology(("n1",), (), ("n1",))

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        argv = ["python3", "-m", "chaos_example_target.node", "--listen", str(ctx.listen)]
        argv += ["--data-dir", ctx.data_dir]
        if "lost-writes" in ctx.flags:
            argv.append("--lost-writes")
        return NodeSpec(tuple(argv))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> MemKvClient:
        return MemKvClient(nodes, timeout)
