"""``KvTarget``: the Raft KV store plugged into the harness target API (registered as ``kv``).

Nodes ``n1..nN`` (N >= 3) form a full mesh: node i reaches peer j through the proxy of link i->j, so
partitions, latency and one-way faults are applied per direction. Every node is client-reachable. Options:
``heartbeat_ms`` (50), ``election_ms`` ("300-600"), ``op_timeout`` (seconds a node waits for commit, 1.0).
Roles: ``leader`` and ``followers``, asked of the nodes at run time (``roles``), so a fault can select them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos_targets.common.adapter import RAFT_ROLES, raft_roles
from chaos_targets.kv.client import KvClient
from chaos_targets.kv.service import FLAGS
from harness.errors import BadInput
from harness.target import Addr, ClientContext, NodeContext, NodeSpec, Topology

OPTIONS = ("heartbeat_ms", "election_ms", "op_timeout")


class KvTarget:
    name = "kv"
    planted_bugs: frozenset[str] = FLAGS
    role_names = RAFT_ROLES  # faults may select leader / followers (and the selectors built on them)

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        if nodes < 3:
            raise BadInput(f"nodes: the kv target needs at least 3 Raft nodes, got {nodes}")
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise BadInput(f"options.{unknown[0]}: unknown kv option; valid: {', '.join(OPTIONS)}")
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        unknown = sorted(ctx.flags - FLAGS)
        if unknown:
            raise BadInput(f"flags: {unknown[0]!r} is not a kv flag; valid: {', '.join(sorted(FLAGS))}")
        argv = ["python3", "-m", "chaos_targets.kv.node", "--id", ctx.node, "--listen", str(ctx.listen)]
        argv += ["--data-dir", ctx.data_dir]
        for peer, addr in sorted(ctx.peers.items()):
            argv += ["--peer", f"{peer}={addr}"]
        for flag in sorted(ctx.flags):
            argv += ["--flag", flag]
        opts = ctx.options
        if "heartbeat_ms" in opts:
            argv += ["--heartbeat-ms", str(int(opts["heartbeat_ms"]))]
        if "election_ms" in opts:
            argv += ["--election-ms", str(opts["election_ms"])]
        if "op_timeout" in opts:
            argv += ["--op-timeout", str(float(opts["op_timeout"]))]
        return NodeSpec(tuple(argv))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> KvClient:
        return KvClient(nodes, process, timeout)

    def roles(self, context: ClientContext) -> dict[str, list[str]]:
        """Who leads now, from every node's own ``health`` answer (``raft_roles``)."""
        addrs = {n: next(iter(ports.values())) for n, ports in context.addrs.items() if ports}
        return raft_roles(addrs, min(context.timeout, 1.0))
