"""Entry point of every queue node: ``python3 -m targets.queue.node --role broker|consumer|sink ...``.

Validates the whole configuration before binding anything: a bad role, address, flag, option or data directory
stops the node at start with one line ``queue node: error: <what>; <what would be valid>`` and exit code 2 (a
corrupt journal: exit code 3). Then it serves the role's requests on ``--listen`` (consumers serve ``health``
there and run their loop against ``--broker`` and ``--sink``, which are mesh proxies chosen by the harness).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from targets.queue.broker import BrokerService
from targets.queue.consumer import Consumer, ConsumerConfig
from targets.queue.journal import CorruptJournal
from targets.queue.sink import SinkService
from targets.queue.wire import serve

ROLES = ("broker", "consumer", "sink")
FLAGS = frozenset({"no-dedup", "ack-before-apply", "producer-retry-duplicates"})
CONSUMER_OPTIONS = {
    "lease_ms": (1, 600_000),
    "work_ms": (0, 600_000),
    "idle_ms": (1, 10_000),
    "rpc_timeout_ms": (10, 600_000),
}
EXIT_CONFIG = 2
EXIT_CORRUPT = 3


def die(msg: str, code: int = EXIT_CONFIG) -> NoReturn:
    print(f"queue node: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def parse_addr(field: str, text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        die(f"{field} is {text!r}; expected HOST:PORT with a port in 1..65535")
    return host, int(port)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        die(f"{message}; run with --help for the valid arguments")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = _Parser(prog="python3 -m targets.queue.node")
    p.add_argument("--role", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--listen", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--broker")
    p.add_argument("--sink")
    p.add_argument("--flags", default="")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args(argv)
    if a.role not in ROLES:
        die(f"--role is {a.role!r}; expected one of {', '.join(ROLES)}")
    a.listen_addr = parse_addr("--listen", a.listen)
    a.flag_set = frozenset(f for f in a.flags.split(",") if f)
    unknown = sorted(a.flag_set - FLAGS)
    if unknown:
        die(f"--flags: unknown flag {unknown[0]!r}; valid flags: {', '.join(sorted(FLAGS))}")
    a.opts = {}
    for item in a.option:
        key, sep, value = item.partition("=")
        if not sep:
            die(f"--option {item!r}: expected KEY=VALUE")
        if a.role != "consumer" or key not in CONSUMER_OPTIONS:
            valid = ", ".join(CONSUMER_OPTIONS) if a.role == "consumer" else "none"
            die(f"--option {key!r} is not an option of a {a.role}; valid: {valid}")
        lo, hi = CONSUMER_OPTIONS[key]
        if not value.lstrip("-").isdigit() or not lo <= int(value) <= hi:
            die(f"--option {key}={value!r}: expected an integer in {lo}..{hi}")
        a.opts[key] = int(value)
    if a.role == "consumer":
        for field in ("broker", "sink"):
            if not getattr(a, field):
                die(f"a consumer needs --{field} HOST:PORT (the mesh proxy to the {field})")
        a.broker_addr = parse_addr("--broker", a.broker)
        a.sink_addr = parse_addr("--sink", a.sink)
    try:
        os.makedirs(a.data_dir, exist_ok=True)
    except OSError as e:
        die(f"--data-dir {a.data_dir!r}: cannot create it ({e.strerror}); give a writable directory")
    if not os.access(a.data_dir, os.W_OK):
        die(f"--data-dir {a.data_dir!r} is not writable; give a writable directory")
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
