"""``LockTarget``: how the harness lays out, starts and talks to the lock service (registered as ``lock``).

Topology for ``nodes=n``: lock replicas ``n1..nn`` with a full mesh of Raft links (one proxy per direction)
plus the ``resource``; clients reach every node. Target options (integers, optional, passed to the replicas):
``heartbeat_ms``, ``election_min_ms``, ``election_max_ms``, ``propose_timeout_ms``. Flags: ``no-fencing`` (the
resource ignores tokens), ``early-grant`` and ``token-reset`` (the replicas).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import BadInput
from harness.target import Addr, Client, NodeContext, NodeSpec, Topology
from targets.lock.client import LockClient
from targets.lock.machine import FLAGS
from targets.lock.node import LOCK_OPTIONS


def validate_options(options: Mapping[str, Any]) -> None:
    for key, value in options.items():
        if key not in LOCK_OPTIONS:
            raise BadInput(f"target lock: option {key!r} is unknown; valid: {', '.join(LOCK_OPTIONS)}")
        lo, hi = LOCK_OPTIONS[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise BadInput(f"target lock: option {key} is {value!r}; expected an integer in {lo}..{hi}")


class LockTarget:
    name = "lock"
    planted_bugs: frozenset[str] = FLAGS  # the bugs this target offers

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        if not isinstance(nodes, int) or nodes < 1:
            raise BadInput(f"target lock: nodes is {nodes!r}; expected the number of lock replicas, e.g. 3")
        validate_options(options)
        replicas = tuple(f"n{i}" for i in range(1, nodes + 1))
        mesh = Topology.full_mesh(replicas)
        all_nodes = (*replicas, "resource")
        return Topology(all_nodes, mesh.links, all_nodes)

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        unknown = sorted(ctx.flags - FLAGS)
        if unknown:
            raise BadInput(f"target lock: flag {unknown[0]!r} is unknown; valid: {', '.join(sorted(FLAGS))}")
        role = "resource" if ctx.node == "resource" else "lock"
        argv = [
            "python3",
            "-m",
            "targets.lock.node",
            "--role",
            role,
            "--name",
            ctx.node,
            "--listen",
            str(ctx.listen),
            "--data-dir",
            ctx.data_dir,
            "--flags",
            ",".join(sorted(ctx.flags)),
        ]
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
