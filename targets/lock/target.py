"""``LockTarget``: how the harness lays out, starts and talks to the lock service (registered as ``lock``).

Topology for ``nodes=n``: lock replicas ``n1..nn`` with a full mesh of Raft links (one proxy per direction)
plus the ``resource``; clients reach every node. Target options (integers, optional, passed to the replicas):
``heartbeat_ms``, ``election_min_ms``, ``election_max_ms``, ``propose_timeout_ms``. Flags: ``no-fencing`` (the
resource ignores tokens), ``early-grant`` and ``token-reset`` (the replicas). Roles: the replicas'
``leader`` and ``followers`` (``roles``), so a fault can select them; the resource is neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos_targets.common.adapter import RAFT_ROLES, check_flags, check_int_options, node_argv, raft_roles
from chaos_targets.lock.client import LockClient
from chaos_targets.lock.machine import FLAGS
from chaos_targets.lock.node import LOCK_OPTIONS
from harness.errors import BadInput
from harness.target import Addr, Client, ClientContext, NodeContext, NodeSpec, Topology


def validate_options(options: Mapping[str, Any]) -> None:
    check_int_options("lock", options, LOCK_OPTIONS)


class LockTarget:
    name = "lock"
    planted_bugs: frozenset[str] = FLAGS  # the bugs this target offers
    role_names = RAFT_ROLES  # the replicas' leader and followers (the resource holds no role)

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        if not isinstance(nodes, int) or nodes < 1:
            raise BadInput(f"target lock: nodes is {nodes!r}; expected the number of lock replicas, e.g. 3")
        validate_options(options)
        replicas = tuple(f"n{i}" for i in range(1, nodes + 1))
        mesh = Topology.full_mesh(replicas)
        all_nodes = (*replicas, "resource")
        return Topology(all_nodes, mesh.links, all_nodes)

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        check_flags("lock", ctx.flags, FLAGS)
        role = "resource" if ctx.node == "resource" else "lock"
        argv = node_argv("lock", role, ctx)
        if role == "lock":
            validate_options(ctx.options)
            for peer, addr in sorted(ctx.peers.items()):
                if peer != "resource":
                    argv += ["--peer", f"{peer}={addr}"]
            for key, value in sorted(ctx.options.items()):
                argv += ["--option", f"{key}={value}"]
        return NodeSpec(tuple(argv))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Client:
        return LockClient(nodes, process, timeout)

    def roles(self, context: ClientContext) -> dict[str, list[str]]:
        """The replicas' leader and followers, from each replica's ``health`` (the resource is not asked)."""
        addrs = {n: next(iter(p.values())) for n, p in context.addrs.items() if p and n != "resource"}
        return raft_roles(addrs, min(context.timeout, 1.0))
