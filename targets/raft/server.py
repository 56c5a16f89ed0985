"""``RaftServer``: one ``RaftCore`` driven over asyncio and TCP, with the application API of README.md.

The server owns the node's port: lines ``{"op": "raft", ...}`` feed the core, ``{"op": "health"}`` is answered
here, everything else goes to the application's handler. A tick task advances the core's clock; a pump task
drains the core's outputs in rounds: (1) hand journal records to the OS, (2) fsync in a worker thread (so the
event loop never blocks on the disk), (3) only then send the round's messages and resolve the futures of
proposals and reads. Messages the core produces while a sync is running wait for the next round, so nothing
that depends on an un-synced vote or log entry ever leaves the node.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chaos_targets.raft.core import NotLeader, RaftConfig, RaftCore, StateMachine
from chaos_targets.raft.storage import Entry, Loaded, Storage
from chaos_targets.raft.wire import LinkUnknown, PeerLink, serve_lines

AppHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
RESET_SILENT_LINK_S = 3.0


class Unknown(Exception):
    """The outcome is unknown: it may have taken effect, or may still."""


class Rejected(Exception):
    """Certainly not applied: another leader's entry took this proposal's place in the log."""


class _Tracked:
    """Counts writes so the pump only fsyncs when something changed."""

    def __init__(self, inner: Storage) -> None:
        self.inner, self.dirty = inner, False

    def load(self) -> Loaded:
        return self.inner.load()

    def save_state(self, term: int, vote: str | None) -> None:
        self.dirty = True
        self.inner.save_state(term, vote)

    def append(self, first_index: int, entries: list[Entry]) -> None:
        self.dirty = True
        self.inner.append(first_index, entries)

    def truncate(self, from_index: int) -> None:
        self.dirty = True
        self.inner.truncate(from_index)

    def sync(self) -> None:
        self.inner.sync()


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class RaftServer:
    def __init__(
        self,
        node_id: str,
        peers: Mapping[str, tuple[str, int]],
        sm: StateMachine,
        storage: Storage,
        config: RaftConfig | None = None,
        handler: AppHandler | None = None,
        seed: int | None = None,
        log: Callable[[str], None] | None = None,
        tick_ms: int = 10,
    ) -> None:
        self.node_id = node_id
        self.sm = sm
        self._storage = _Tracked(storage)
        self._log = log or (lambda m: print(f"{node_id}: {m}", file=sys.stderr, flush=True))
        self.core = RaftCore(
            node_id, [node_id, *peers], self._storage, sm, random.Random(seed), _now_ms(), config
        )
        self._peer_addrs = dict(peers)
        self._links: dict[str, PeerLink] = {}
        self._handler = handler
        self._tick_s = tick_ms / 1000
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._proposals: dict[int, tuple[int, asyncio.Future[Any]]] = {}
        self._reads: dict[int, asyncio.Future[None]] = {}
        self._last_heard: dict[str, float] = {}
        self._last_reset: dict[str, float] = {}
        self._last_role = ""

    # ----- leadership info ----------
    @property
    def is_leader(self) -> bool:
        return self.core.is_leader

    @property
    def leader(self) -> str | None:
        return self.core.leader

    @property
    def term(self) -> int:
        return self.core.term

    @property
    def commit_index(self) -> int:
        return self.core.commit

    def health(self) -> dict[str, Any]:
        c = self.core
        return {
            "ok": True,
            "node": self.node_id,
            "role": c.role,
            "term": c.term,
            "leader": c.leader,
            "commit": c.commit,
            "applied": c.applied,
        }

    # ----- application API ----------
    async def propose(self, command: Any, timeout: float = 2.0) -> Any:
        index, term = self.core.propose(command)  # raises NotLeader
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._proposals[index] = (term, fut)
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError as e:
            raise Unknown(f"not committed within {timeout}s") from e
        finally:
            self._proposals.pop(index, None)

    def append_only(self, command: Any) -> int:
        index, _ = self.core.propose(command)
        self._wake.set()
        return index

    async def read_index(self, timeout: float = 2.0) -> None:
        rid = self.core.request_read()  # raises NotLeader
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reads[rid] = fut
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError as e:
            raise Unknown(f"leadership not confirmed within {timeout}s") from e
        finally:
            self._reads.pop(rid, None)

    async def forward(self, request: dict[str, Any], timeout: float = 2.0) -> dict[str, Any]:
        leader = self.core.leader
        if leader is None or leader == self.node_id or leader not in self._links:
            raise NotLeader(None if leader == self.node_id else leader)
        try:
            return await self._links[leader].call(request, timeout)
        except ConnectionRefusedError as e:
            raise NotLeader(leader) from e  # never sent: certainly not applied
        except LinkUnknown as e:
            raise Unknown(str(e)) from e

    # ----- running ----------
    async def serve(self, host: str, port: int) -> None:
        server = await serve_lines(host, port, self._dispatch)
        for p, (h, pt) in self._peer_addrs.items():
            self._links[p] = PeerLink(h, pt)
            self._links[p].start()
        tasks = [asyncio.create_task(self._ticker()), asyncio.create_task(self._pump())]
        self._log(
            f"listening on {host}:{port}; peers {self._peer_addrs}; term {self.core.term}, "
            f"log {self.core.last_index} entries"
        )
        try:
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            server.close()
            for link in self._links.values():
                await link.close()

    def stop(self) -> None:
        self._stop.set()

    async def _dispatch(self, req: dict[str, Any]) -> dict[str, Any] | None:
        op = req.get("op")
        if op == "raft":
            msg = req.get("msg")
            if isinstance(msg, dict):
                self._last_heard[str(msg.get("from"))] = time.monotonic()
                self.core.receive(msg)
                self._wake.set()
            return None
        if op == "health":
            return self.health()
        if self._handler is None:
            return {"ok": False, "error": f"unknown op {op!r}", "definite": True}
        return await self._handler(req)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            self.core.tick(_now_ms())
            self._wake.set()
            if self.core.role != self._last_role:
                self._last_role = self.core.role
                self._log(f"now {self.core.role} in term {self.core.term} (leader {self.core.leader})")
            self._reset_silent_links()

    def _reset_silent_links(self) -> None:
        now = time.monotonic()
        for p, link in self._links.items():
            heard = self._last_heard.get(p, 0.0)
            if (
                now - heard > RESET_SILENT_LINK_S
                and now - self._last_reset.get(p, now - 1e9) > RESET_SILENT_LINK_S
            ):
                self._last_reset[p] = now
                if link.connected:
                    link.reset()  # a connection held by a (now healed) blackhole never recovers by itself

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            msgs = self.core.take_messages()
            applied = self.core.take_applied()
            reads = self.core.take_reads()
            if self._storage.dirty:
                self._storage.dirty = False
                flush = getattr(self._storage.inner, "flush", None)
                if flush is not None:
                    flush()
                await asyncio.to_thread(self._storage.sync)
            for dst, msg in msgs:
                link = self._links.get(dst)
                if link is not None:
                    link.send({"op": "raft", "msg": msg})
            for a in applied:
                entry = self._proposals.get(a.index)
                if entry is not None and not entry[1].done():
                    if entry[0] == a.term:
                        entry[1].set_result(a.result)
                    else:
                        entry[1].set_exception(Rejected(f"index {a.index} holds another leader's entry"))
            for r in reads:
                fut = self._reads.get(r.read_id)
                if fut is not None and not fut.done():
                    if r.ok:
                        fut.set_result(None)
                    else:
                        fut.set_exception(NotLeader(self.core.leader))
