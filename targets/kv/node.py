"""Entry point of one KV node:
``python3 -m chaos_targets.kv.node --id n1 --listen HOST:PORT --peer n2=HOST:PORT ...``.

Every option may also come from the environment (``KV_ID``, ``KV_LISTEN``, ``KV_PEERS`` as ``n2=h:p,n3=h:p``,
``KV_DATA_DIR``, ``KV_FLAGS`` as ``a,b``), so the same image runs any node. The configuration is checked
before anything starts: no peers, a duplicate node id, a malformed address, an unknown flag or an unusable
data dir stop the node with one line ``kv-node: error: ...`` and exit code 2. Standard library only: this runs
inside the target image and imports nothing from ``harness``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from chaos_targets.kv.service import FLAGS, SLOW_ELECTION_FACTOR, KvService, KvStateMachine
from chaos_targets.raft.core import RaftConfig
from chaos_targets.raft.server import RaftServer
from chaos_targets.raft.storage import FileStorage, MemoryStorage, Storage, StorageError

EXIT_CONFIG = 2


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class NodeConfig:
    node_id: str
    listen: tuple[str, int]
    peers: dict[str, tuple[str, int]]
    data_dir: str
    flags: frozenset[str]
    raft: RaftConfig
    op_timeout: float
    seed: int | None


def parse_addr(text: str, field: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{field}: {text!r} is not HOST:PORT with a port in 1..65535")
    return host, int(port)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    p = _Parser(prog="kv-node", description="One node of the Raft-replicated KV store.")
    p.add_argument("--id", default=env.get("KV_ID"), help="this node's id (env KV_ID)")
    p.add_argument("--listen", default=env.get("KV_LISTEN"), help="HOST:PORT for clients and peers")
    p.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="ID=HOST:PORT",
        help="a peer and the address this node reaches it at (repeat; env KV_PEERS=a=h:p,b=h:p)",
    )
    p.add_argument("--data-dir", default=env.get("KV_DATA_DIR"), help="durable Raft journal directory")
    p.add_argument(
        "--flag", action="append", default=[], help=f"planted bug: one of {', '.join(sorted(FLAGS))}"
    )
    p.add_argument("--heartbeat-ms", type=int, default=50)
    p.add_argument("--election-ms", default="300-600", help="MIN-MAX randomized election timeout")
    p.add_argument("--op-timeout", type=float, default=1.0, help="seconds a node waits for commit/forward")
    p.add_argument("--seed", type=int, default=None)
    return p


def parse_config(argv: Sequence[str]) -> NodeConfig:
    a = build_parser().parse_args(list(argv))
    if not a.id:
        raise ConfigError("--id (or KV_ID) is required: this node's name, e.g. n1")
    if not a.listen:
        raise ConfigError("--listen (or KV_LISTEN) is required: HOST:PORT")
    listen = parse_addr(a.listen, "--listen")
    peer_texts = list(a.peer) or [s for s in os.environ.get("KV_PEERS", "").split(",") if s]
    if not peer_texts:
        raise ConfigError(
            "no peers: give every other node as --peer ID=HOST:PORT (a Raft cluster needs >= 2 nodes)"
        )
    peers: dict[str, tuple[str, int]] = {}
    for text in peer_texts:
        pid, sep, addr = text.partition("=")
        if not sep or not pid:
            raise ConfigError(f"--peer {text!r}: expected ID=HOST:PORT")
        if pid == a.id:
            raise ConfigError(f"--peer {text!r}: duplicate node id {pid!r} (it is this node's own --id)")
        if pid in peers:
            raise ConfigError(f"--peer {text!r}: duplicate node id {pid!r} (given twice)")
        peers[pid] = parse_addr(addr, f"--peer {pid}")
    flags = set(a.flag) | {s for s in os.environ.get("KV_FLAGS", "").split(",") if s}
    unknown = flags - FLAGS
    if unknown:
        raise ConfigError(
            f"--flag {sorted(unknown)[0]!r} is unknown; valid flags: {', '.join(sorted(FLAGS))}"
        )
    lo, sep, hi = a.election_ms.partition("-")
    if not (sep and lo.isdigit() and hi.isdigit() and 0 < int(lo) <= int(hi)):
        raise ConfigError(f"--election-ms {a.election_ms!r}: expected MIN-MAX milliseconds, e.g. 300-600")
    if not 0 < a.heartbeat_ms < int(lo):
        raise ConfigError(f"--heartbeat-ms {a.heartbeat_ms}: must be > 0 and below the election minimum {lo}")
    if "volatile-log" not in flags and not a.data_dir:
        raise ConfigError("--data-dir (or KV_DATA_DIR) is required unless the volatile-log flag is set")
    return NodeConfig(
        node_id=a.id,
        listen=listen,
        peers=peers,
        data_dir=a.data_dir or "",
        flags=frozenset(flags),
        raft=RaftConfig(
            heartbeat_ms=a.heartbeat_ms,
            election_min_ms=int(lo),
            election_max_ms=int(hi),
            reelection_factor=SLOW_ELECTION_FACTOR if "slow-election" in flags else 1,
        ),
        op_timeout=a.op_timeout,
        seed=a.seed,
    )


def open_storage(cfg: NodeConfig) -> Storage:
    if "volatile-log" in cfg.flags:
        return MemoryStorage()  # planted bug: a restarted node comes back empty
    if os.path.exists(cfg.data_dir) and not os.path.isdir(cfg.data_dir):
        raise StorageError(f"data dir {cfg.data_dir!r} is not a directory")
    storage = FileStorage(cfg.data_dir, fsync="no-fsync" not in cfg.flags)
    storage.load()  # surfaces an unreadable or corrupt journal now, before serving
    return storage


async def run(cfg: NodeConfig, storage: Storage) -> None:
    sm = KvStateMachine()
    service = KvService(sm, cfg.flags, cfg.op_timeout)
    raft = RaftServer(cfg.node_id, cfg.peers, sm, storage, cfg.raft, handler=service.handle, seed=cfg.seed)
    service.attach(raft)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, raft.stop)
    print(f"{cfg.node_id}: flags {sorted(cfg.flags) or 'none'}", file=sys.stderr, flush=True)
    await raft.serve(*cfg.listen)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        cfg = parse_config(sys.argv[1:] if argv is None else argv)
        storage = open_storage(cfg)
    except (ConfigError, StorageError) as e:
        print(f"kv-node: error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        asyncio.run(run(cfg, storage))
    except OSError as e:
        print(
            f"kv-node: error: cannot listen on {cfg.listen[0]}:{cfg.listen[1]}: {e.strerror or e}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
