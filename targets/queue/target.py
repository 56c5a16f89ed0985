"""``QueueTarget``: how the harness lays out, starts and talks to the queue (registered as target ``queue``).

Topology for ``nodes=n``: ``broker``, consumers ``c1..cn`` and ``sink``; each consumer has a link to the
broker and a link to the sink (one mesh proxy each, so partitions and latency can be put on exactly those
links), and clients (producers, final reads) reach the broker and the sink. Target options (all optional,
integers, passed to every consumer): ``lease_ms``, ``work_ms``, ``idle_ms``, ``rpc_timeout_ms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos_targets.common.adapter import check_flags, check_int_options, node_argv
from chaos_targets.queue.client import QueueClient
from chaos_targets.queue.node import CONSUMER_OPTIONS, FLAGS
from harness.errors import BadInput
from harness.target import Addr, Client, NodeContext, NodeSpec, Topology


def consumer_names(n: int) -> tuple[str, ...]:
    return tuple(f"c{i}" for i in range(1, n + 1))


def validate_options(options: Mapping[str, Any]) -> None:
    check_int_options("queue", options, CONSUMER_OPTIONS)


class QueueTarget:
    name = "queue"
    planted_bugs: frozenset[str] = FLAGS  # the bugs this target offers

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        if not isinstance(nodes, int) or nodes < 1:
            raise BadInput(f"target queue: nodes is {nodes!r}; expected the number of consumers, at least 1")
        validate_options(options)
        consumers = consumer_names(nodes)
        links = tuple((c, dst) for c in consumers for dst in ("broker", "sink"))
        return Topology(("broker", *consumers, "sink"), links, ("broker", "sink"))

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        check_flags("queue", ctx.flags, FLAGS)
        role = ctx.node if ctx.node in ("broker", "sink") else "consumer"
        argv = node_argv("queue", role, ctx)
        if role == "consumer":
            argv += ["--broker", str(ctx.peers["broker"]), "--sink", str(ctx.peers["sink"])]
            validate_options(ctx.options)
            for key, value in sorted(ctx.options.items()):
                argv += ["--option", f"{key}={value}"]
        return NodeSpec(tuple(argv))

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Client:
        return QueueClient(nodes, process, timeout)
