"""Entry point of every lock-target node: ``python3 -m chaos_targets.lock.node --role lock|resource ...``.

``--role lock``: one replica of ``LockMachine`` over the shared Raft core
(``chaos_targets.raft.server.RaftServer``), peers given as ``--peer NAME=HOST:PORT`` (mesh proxies), state
under ``--data-dir``. Client requests: ``acquire {lock, client, lease_ms}`` and ``release {lock, token}``,
answered only by the leader; a follower answers ``{"ok": false, "error": "not-leader", "leader": name|null,
"definite": true}`` so the client can go to the leader. ``definite`` says whether a failure certainly did not
take effect. ``--role resource``: the protected resource (``resource.py``). A bad configuration stops the node
at start with one line ``lock node: error: ...`` and exit code 2 (an unusable journal: exit code 3).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

from chaos_targets.common.journal import CorruptJournal
from chaos_targets.common.nodeargs import EXIT_CORRUPT, NodeArgs
from chaos_targets.common.wire import serve
from chaos_targets.lock.machine import FLAGS, LeaseClock, LockMachine
from chaos_targets.lock.resource import ResourceService
from chaos_targets.raft.core import NotLeader, RaftConfig
from chaos_targets.raft.server import RaftServer, Rejected, Unknown
from chaos_targets.raft.storage import FileStorage, StorageError

ROLES = ("lock", "resource")
LOCK_OPTIONS = {
    "heartbeat_ms": (5, 10_000),
    "election_min_ms": (20, 60_000),
    "election_max_ms": (20, 60_000),
    "propose_timeout_ms": (10, 60_000),
}
MAX_LEASE_MS = 3_600_000
ARGS = NodeArgs("lock node", "chaos_targets.lock.node")
die = ARGS.die


def _own_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer", action="append", default=[], metavar="NAME=HOST:PORT")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    a = ARGS.parser(_own_arguments).parse_args(argv)
    ARGS.check_common(a, ROLES, FLAGS)
    a.peers = ARGS.peers(a.peer)
    if a.role == "lock" and not a.peers:
        die("a lock node needs its Raft peers: --peer NAME=HOST:PORT, one per other lock node")
    table = LOCK_OPTIONS if a.role == "lock" else {}
    a.opts = ARGS.int_options(a.option, table, f"a {a.role} node", require_sep=False)
    if a.opts.get("election_min_ms", 300) > a.opts.get("election_max_ms", 600):
        die("--option election_min_ms is greater than election_max_ms; give min <= max")
    ARGS.check_data_dir(a.data_dir)
    return a


class LockNode:
    """The client protocol of one replica: proposes stamped commands, answers honestly about the outcome."""

    def __init__(self, a: argparse.Namespace) -> None:
        self.flags: frozenset[str] = a.flag_set
        self.timeout = a.opts.get("propose_timeout_ms", 2000) / 1000
        self.local_tokens: dict[str, int] = {}  # only used by the token-reset bug: never replicated
        cfg = RaftConfig(
            heartbeat_ms=a.opts.get("heartbeat_ms", 50),
            election_min_ms=a.opts.get("election_min_ms", 300),
            election_max_ms=a.opts.get("election_max_ms", 600),
        )
        machine = LockMachine(a.flag_set)
        self.clock = LeaseClock(machine)
        self.server = RaftServer(a.name, a.peers, machine, FileStorage(a.data_dir), cfg, handler=self.handle)

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        try:
            if op == "hello":
                return {"ok": True, "role": "lock", "flags": sorted(self.flags), "leader": self.server.leader}
            if op == "acquire":
                lease = int(req.get("lease_ms", 1000))
                if not 1 <= lease <= MAX_LEASE_MS:
                    return {
                        "ok": False,
                        "error": f"lease_ms {lease} out of 1..{MAX_LEASE_MS}",
                        "definite": True,
                    }
                lock = str(req["lock"])
                cmd: dict[str, Any] = {
                    "op": "acquire",
                    "lock": lock,
                    "client": req["client"],
                    "lease_ms": lease,
                    "now": self._now(),
                }
                if "token-reset" in self.flags:
                    cmd["token"] = self.local_tokens.get(lock, 0) + 1
                res = await self._propose(cmd)
                if res.get("granted") and "token-reset" in self.flags:
                    self.local_tokens[lock] = max(self.local_tokens.get(lock, 0), int(res["token"]))
                return res
            if op == "release":
                return await self._propose(
                    {"op": "release", "lock": str(req["lock"]), "token": int(req["token"])}
                )
        except (KeyError, TypeError, ValueError) as e:
            return {"ok": False, "error": f"bad-request: {op}: missing or bad field {e}", "definite": True}
        return {"ok": False, "error": f"bad-request: unknown op {op!r}", "definite": True}

    def _now(self) -> int:
        """The service time of a stamp: the leader's wall clock (the ``wall-clock-lease`` bug) or the
        skew-proof ``LeaseClock``."""
        if "wall-clock-lease" in self.flags:
            return int(time.time() * 1000)
        return self.clock.now()

    async def _propose(self, cmd: dict[str, Any]) -> dict[str, Any]:
        try:
            res = await self.server.propose(cmd, self.timeout)
        except NotLeader as e:
            return {"ok": False, "error": "not-leader", "leader": e.leader, "definite": True}
        except Rejected as e:
            return {"ok": False, "error": f"rejected: {e}", "definite": True}
        except Unknown as e:
            return {"ok": False, "error": f"unknown: {e}", "definite": False}
        if "error" in res:
            return {"ok": False, "error": res["error"], "definite": True}
        return {"ok": True, **res}


async def amain(a: argparse.Namespace) -> None:
    host, port = a.listen_addr
    if a.role == "resource":
        service = ResourceService(a.data_dir, a.flag_set)
        server = await serve(host, port, service.handle)
        print(f"{a.name}: resource listening on {host}:{port}, flags={sorted(a.flag_set)}", flush=True)
        async with server:
            await server.serve_forever()
        return
    node = LockNode(a)
    print(f"{a.name}: lock node, flags={sorted(a.flag_set)}", flush=True)
    await node.server.serve(host, port)


def main(argv: Sequence[str] | None = None) -> None:
    a = parse(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(amain(a))
    except (CorruptJournal, StorageError) as e:
        die(str(e), EXIT_CORRUPT)
    except OSError as e:
        die(f"--listen {a.listen}: cannot listen ({e.strerror or e}); choose a free port")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
