"""Entry point of every queue node: ``python3 -m chaos_targets.queue.node --role broker|consumer|sink ...``.

Validates the whole configuration before binding anything: a bad role, address, flag, option or data directory
stops the node at start with one line ``queue node: error: <what>; <what would be valid>`` and exit code 2 (a
corrupt journal: exit code 3). Then it serves the role's requests on ``--listen`` (consumers serve ``health``
there and run their loop against ``--broker`` and ``--sink``, which are mesh proxies chosen by the harness).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from chaos_targets.common.journal import CorruptJournal
from chaos_targets.common.nodeargs import EXIT_CONFIG, EXIT_CORRUPT, NodeArgs
from chaos_targets.common.wire import serve
from chaos_targets.queue.broker import BrokerService
from chaos_targets.queue.consumer import Consumer, ConsumerConfig
from chaos_targets.queue.sink import SinkService

ROLES = ("broker", "consumer", "sink")
FLAGS = frozenset({"no-dedup", "ack-before-apply", "producer-retry-duplicates"})
CONSUMER_OPTIONS = {
    "lease_ms": (1, 600_000),
    "work_ms": (0, 600_000),
    "idle_ms": (1, 10_000),
    "rpc_timeout_ms": (10, 600_000),
}
ARGS = NodeArgs("queue node", "chaos_targets.queue.node")
die = ARGS.die


def _own_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker")
    p.add_argument("--sink")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    a = ARGS.parser(_own_arguments).parse_args(argv)
    ARGS.check_common(a, ROLES, FLAGS)
    table = CONSUMER_OPTIONS if a.role == "consumer" else {}
    a.opts = ARGS.int_options(a.option, table, f"a {a.role}", require_sep=True)
    if a.role == "consumer":
        for field in ("broker", "sink"):
            if not getattr(a, field):
                die(f"a consumer needs --{field} HOST:PORT (the mesh proxy to the {field})")
        a.broker_addr = ARGS.parse_addr("--broker", a.broker)
        a.sink_addr = ARGS.parse_addr("--sink", a.sink)
    ARGS.check_data_dir(a.data_dir)
    return a


async def amain(a: argparse.Namespace) -> None:
    host, port = a.listen_addr
    if a.role == "consumer":
        consumer = Consumer(
            ConsumerConfig(
                name=a.name,
                broker=a.broker_addr,
                sink=a.sink_addr,
                flags=a.flag_set,
                lease_ms=a.opts.get("lease_ms", 1000),
                work_ms=a.opts.get("work_ms", 20),
                idle_ms=a.opts.get("idle_ms", 20),
                rpc_timeout_s=a.opts.get("rpc_timeout_ms", 2000) / 1000,
            )
        )
        server = await serve(host, port, consumer.handle)
        print(f"{a.name}: consumer listening on {host}:{port}, flags={sorted(a.flag_set)}", flush=True)
        async with server:
            await consumer.run()
        return
    service = (
        BrokerService(a.data_dir, a.flag_set) if a.role == "broker" else SinkService(a.data_dir, a.flag_set)
    )
    server = await serve(host, port, service.handle)
    print(f"{a.name}: {a.role} listening on {host}:{port}, flags={sorted(a.flag_set)}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    a = parse(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(amain(a))
    except CorruptJournal as e:
        die(str(e), EXIT_CORRUPT)
    except OSError as e:
        die(f"--listen {a.listen}: cannot listen ({e.strerror or e}); choose a free port", EXIT_CONFIG)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
