"""The broker: a durable message log with at-least-once delivery to a consumer group under leases.

``BrokerState`` is the pure logic (no I/O; time is passed in): messages keyed by the producer's message id
(re-sending an id already enqueued is acknowledged without enqueueing again), a ready queue, leases on
delivered messages (an unacknowledged message becomes deliverable again when its lease expires) and the
delivery trail. ``BrokerService`` serves it over the line protocol and makes it durable: a send is
acknowledged and made deliverable only after its ``enq`` record is fsync'd, an ack only after its ``ack``
record is; delivery events are journaled without waiting. After kill -9 and restart every enqueued,
unacknowledged message is ready again.

Requests: ``hello``/``health``, ``send {id, msg, account, amount}``, ``poll {consumer, lease_ms}``, ``ack {id,
consumer}``, ``stats``, ``deliveries``.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from chaos_targets.common.journal import Journal
from chaos_targets.common.service import JournaledService


@dataclass
class Message:
    id: str
    msg: str
    account: str
    amount: int
    acked: bool = False
    consumer: str | None = None
    lease_until: float = 0.0
    deliveries: int = 0

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "msg": self.msg, "account": self.account, "amount": self.amount}


class BrokerState:
    """Messages, the ready queue and leases; ``now`` is monotonic milliseconds supplied by the caller."""

    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.ready: deque[str] = deque()
        self.leases: list[tuple[float, str]] = []  # heap of (lease_until, id)
        self.events: list[dict[str, Any]] = []

    def load(self, records: list[dict[str, Any]]) -> None:
        """Rebuild from journal records; leases are not durable, so every unacknowledged message is ready."""
        for r in records:
            kind = r.get("t")
            if kind == "enq":
                if r["id"] not in self.messages:
                    self.messages[r["id"]] = Message(r["id"], r["msg"], r["account"], int(r["amount"]))
            elif kind == "ack" and r["id"] in self.messages:
                self.messages[r["id"]].acked = True
            elif kind == "ev":
                self.events.append(r["ev"])
                m = self.messages.get(r["ev"]["id"])
                if m is not None and r["ev"]["event"] != "ack":
                    m.deliveries += 1
        self.ready.extend(m.id for m in self.messages.values() if not m.acked)

    def has(self, mid: str) -> bool:
        return mid in self.messages

    def add(self, m: Message) -> None:
        if m.id not in self.messages:
            self.messages[m.id] = m
            self.ready.append(m.id)

    def _expire(self, now: float) -> None:
        while self.leases and self.leases[0][0] <= now:
            until, mid = heapq.heappop(self.leases)
            m = self.messages[mid]
            if not m.acked and m.lease_until == until:
                m.consumer = None
                self.ready.appendleft(mid)  # older than anything still waiting: redeliver it first

    def poll(
        self, consumer: str, lease_ms: int, now: float, wall_ns: int
    ) -> tuple[Message, dict[str, Any]] | None:
        """Lease the oldest ready message to ``consumer``; returns it and its delivery event, or ``None``."""
        self._expire(now)
        while self.ready:
            m = self.messages[self.ready.popleft()]
            if m.acked or m.consumer is not None:
                continue
            m.consumer, m.lease_until = consumer, now + lease_ms
            heapq.heappush(self.leases, (m.lease_until, m.id))
            event = "redeliver" if m.deliveries else "deliver"
            m.deliveries += 1
            ev = {"msg": m.msg, "id": m.id, "consumer": consumer, "event": event, "time": wall_ns}
            self.events.append(ev)
            return m, ev
        return None

    def ack(self, mid: str, consumer: str, wall_ns: int) -> dict[str, Any] | None:
        """Mark acknowledged (also after its lease expired); returns the event, or ``None`` if unchanged."""
        m = self.messages.get(mid)
        if m is None or m.acked:
            return None
        m.acked, m.consumer = True, None
        ev = {"msg": m.msg, "id": m.id, "consumer": consumer, "event": "ack", "time": wall_ns}
        self.events.append(ev)
        return ev

    def stats(self, now: float) -> dict[str, int]:
        self._expire(now)
        unacked = [m for m in self.messages.values() if not m.acked]
        inflight = sum(1 for m in unacked if m.consumer is not None)
        return {
            "total": len(self.messages),
            "acked": len(self.messages) - len(unacked),
            "inflight": inflight,
            "ready": len(unacked) - inflight,
        }


def _now_ms() -> float:
    return time.monotonic() * 1000.0


class BrokerService(JournaledService[BrokerState]):
    """The broker node: ``BrokerState`` behind the line protocol, journaled under ``data_dir``."""

    def __init__(self, data_dir: str, flags: frozenset[str]) -> None:
        super().__init__("broker", data_dir, flags, BrokerState())
        self._pending: dict[str, asyncio.Future[None]] = {}

    async def dispatch(self, op: Any, req: dict[str, Any], journal: Journal) -> dict[str, Any] | None:
        if op == "send":
            return await self._send(req, journal)
        if op == "poll":
            got = self.state.poll(str(req["consumer"]), int(req["lease_ms"]), _now_ms(), time.time_ns())
            if got is None:
                return {"ok": True, "message": None}
            journal.append_nowait({"t": "ev", "ev": got[1]})
            return {"ok": True, "message": got[0].body()}
        if op == "ack":
            mid = str(req["id"])
            if mid not in self.state.messages:
                return {"ok": False, "error": f"unknown message id {mid!r}"}
            ev = self.state.ack(mid, str(req["consumer"]), time.time_ns())
            if ev is not None:
                journal.append_nowait({"t": "ev", "ev": ev})
                await journal.append({"t": "ack", "id": mid})
            return {"ok": True}
        if op == "stats":
            return {"ok": True, **self.state.stats(_now_ms())}
        if op == "deliveries":
            return {"ok": True, "deliveries": list(self.state.events)}
        return None

    async def _send(self, req: dict[str, Any], journal: Journal) -> dict[str, Any]:
        m = Message(str(req["id"]), str(req["msg"]), str(req["account"]), int(req["amount"]))
        if self.state.has(m.id):
            return {"ok": True, "duplicate": True}
        pending = self._pending.get(m.id)
        if pending is not None:  # the same id is being made durable right now: answer when it is
            await asyncio.shield(pending)
            return {"ok": True, "duplicate": True}
        fut = journal.append({"t": "enq", **m.body()})
        self._pending[m.id] = fut
        try:
            await asyncio.shield(fut)
        finally:
            self._pending.pop(m.id, None)
        self.state.add(m)
        return {"ok": True, "duplicate": False}
