"""RaftServer over real loopback TCP, three servers in one event loop: election, propose, read, forward."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from chaos_targets.raft.core import NotLeader, RaftConfig
from chaos_targets.raft.server import RaftServer, Unknown
from chaos_targets.raft.sim import RecordingSM
from chaos_targets.raft.storage import MemoryStorage

CFG = RaftConfig(heartbeat_ms=20, election_min_ms=100, election_max_ms=200)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


async def start_cluster() -> tuple[dict[str, RaftServer], list[asyncio.Task[None]]]:
    names = ["n1", "n2", "n3"]
    ports = dict(zip(names, free_ports(3), strict=True))
    servers: dict[str, RaftServer] = {}

    def make_handler(name: str) -> Any:
        async def handler(req: dict[str, Any]) -> dict[str, Any]:
            return {"ok": True, "handled_by": name, "echo": req.get("x")}

        return handler

    for n in names:
        peers = {p: ("127.0.0.1", ports[p]) for p in names if p != n}
        servers[n] = RaftServer(
            n, peers, RecordingSM(), MemoryStorage(), CFG, make_handler(n), log=lambda m: None
        )
    tasks = [asyncio.create_task(s.serve("127.0.0.1", ports[n])) for n, s in servers.items()]
    return servers, tasks


async def wait_leader(servers: dict[str, RaftServer], exclude: str = "") -> RaftServer:
    for _ in range(300):
        leaders = [s for n, s in servers.items() if s.is_leader and n != exclude]
        if leaders:
            return leaders[0]
        await asyncio.sleep(0.01)
    raise AssertionError("no leader")


async def scenario() -> None:
    servers, tasks = await start_cluster()
    try:
        leader = await wait_leader(servers)
        assert await leader.propose("a", timeout=2) == 1
        assert await leader.propose("b", timeout=2) == 2
        await leader.read_index(timeout=2)
        follower = next(s for s in servers.values() if not s.is_leader)
        with pytest.raises(NotLeader):
            await follower.propose("c")
        await asyncio.sleep(0.2)
        assert follower.leader == leader.node_id
        assert follower.sm.applied == ["a", "b"]  # type: ignore[attr-defined]
        reply = await follower.forward({"op": "x", "x": 42}, timeout=2)
        assert reply["handled_by"] == leader.node_id and reply["echo"] == 42
        assert follower.health()["leader"] == leader.node_id
        # Stop the leader: the others elect a new one that still holds the committed entries.
        leader.stop()
        new = await wait_leader(servers, exclude=leader.node_id)
        assert new.node_id != leader.node_id
        assert await new.propose("c", timeout=2) == 3
        # A lone node cannot commit: the outcome of its proposal is unknown, not a failure.
        others = [s for s in servers.values() if s is not leader and s is not new]
        others[0].stop()
        await asyncio.sleep(0.05)
        with pytest.raises((Unknown, NotLeader)):
            await new.propose("d", timeout=0.5)
    finally:
        for s in servers.values():
            s.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)


def test_three_servers_elect_replicate_forward_and_fail_over() -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))
