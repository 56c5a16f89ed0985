"""The sink: a ledger that records every applied effect together with its message id, durably.

An effect ("credit account A by N, for message id X") and its idempotency key X are one journal record, so the
effect and the key are stored atomically: after kill -9 either both are there or neither. ``apply`` with
``dedup`` (the correct consumer) skips an id already applied and says so; without it (the ``no-dedup``
consumer) every delivery becomes one more effect. A reply is sent only once the record is fsync'd, and a
duplicate of an id still being made durable waits for it, so "already applied" is never said about an effect
that could vanish.

Requests: ``hello``/``health``, ``apply {id, msg, consumer, account, amount, dedup}``, ``effects``,
``balances``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from chaos_targets.common.journal import Journal
from chaos_targets.common.service import JournaledService


class SinkState:
    """Applied effects in order, the set of applied ids, and account balances."""

    def __init__(self) -> None:
        self.effects: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.balances: dict[str, int] = {}

    def load(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            self.record(r)

    def record(self, effect: dict[str, Any]) -> None:
        self.effects.append(effect)
        self.ids.add(effect["id"])
        self.balances[effect["account"]] = self.balances.get(effect["account"], 0) + int(effect["amount"])


class SinkService(JournaledService[SinkState]):
    def __init__(self, data_dir: str, flags: frozenset[str]) -> None:
        super().__init__("sink", data_dir, flags, SinkState())
        self._pending: dict[str, asyncio.Future[None]] = {}

    async def dispatch(self, op: Any, req: dict[str, Any], journal: Journal) -> dict[str, Any] | None:
        if op == "apply":
            return await self._apply(req, journal)
        if op == "effects":
            return {"ok": True, "effects": list(self.state.effects)}
        if op == "balances":
            return {"ok": True, "balances": dict(self.state.balances)}
        return None

    async def _apply(self, req: dict[str, Any], journal: Journal) -> dict[str, Any]:
        effect: dict[str, Any] = {
            "msg": str(req["msg"]),
            "id": str(req["id"]),
            "consumer": str(req["consumer"]),
            "account": str(req["account"]),
            "amount": int(req["amount"]),
            "time": time.time_ns(),
        }
        mid = str(req["id"])
        if bool(req.get("dedup", True)):
            pending = self._pending.get(mid)
            if pending is not None:
                await asyncio.shield(pending)
                return {"ok": True, "applied": False}
            if mid in self.state.ids:
                return {"ok": True, "applied": False}
        fut = journal.append(effect)
        self._pending[mid] = fut
        try:
            await asyncio.shield(fut)
        finally:
            if self._pending.get(mid) is fut:
                del self._pending[mid]
        self.state.record(effect)
        return {"ok": True, "applied": True}
