"""A consumer of the group: poll the broker, apply the message's effect to the sink, acknowledge.

The correct order is poll -> work -> apply (with the message id as idempotency key) -> ack: a consumer that
dies anywhere leaves the message unacknowledged, its lease expires, another consumer gets it, and the sink's
key check turns the second apply into a no-op. Planted bugs (node flags):

- ``no-dedup``: apply without the key check, so a redelivery (lease expired while this consumer was slow or
  paused, or a crash between apply and ack) is applied twice.
- ``ack-before-apply``: poll -> ack -> work -> apply, so a consumer killed after acking loses the message.

``work_ms`` is the simulated processing time of one message (the window a kill or pause lands in). The
consumer also serves ``health`` on its listen address so the harness can tell it is up.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from chaos_targets.common.wire import AsyncConn, Indefinite, NotSent


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    broker: tuple[str, int]
    sink: tuple[str, int]
    flags: frozenset[str]
    lease_ms: int = 1000
    work_ms: int = 20
    idle_ms: int = 20
    rpc_timeout_s: float = 2.0


class Consumer:
    def __init__(self, cfg: ConsumerConfig) -> None:
        self.cfg = cfg
        self.broker = AsyncConn(*cfg.broker)
        self.sink = AsyncConn(*cfg.sink)
        self.processed = 0

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("op") in ("hello", "health"):
            return {"ok": True, "role": "consumer", "name": self.cfg.name, "processed": self.processed}
        return {"ok": False, "error": f"bad-request: unknown op {req.get('op')!r}"}

    async def run(self) -> None:
        while True:
            try:
                if not await self.step():
                    await asyncio.sleep(self.cfg.idle_ms / 1000)
            except (NotSent, Indefinite) as e:
                print(f"{self.cfg.name}: {e}; retrying", file=sys.stderr, flush=True)
                await asyncio.sleep(0.1)

    async def step(self) -> bool:
        """Process at most one message; ``False`` when none was ready."""
        cfg, t = self.cfg, self.cfg.rpc_timeout_s
        reply = await self.broker.call({"op": "poll", "consumer": cfg.name, "lease_ms": cfg.lease_ms}, t)
        m = reply.get("message")
        if not reply.get("ok") or m is None:
            return False
        if "ack-before-apply" in cfg.flags:
            await self._ack(m)
            await asyncio.sleep(cfg.work_ms / 1000)
            await self._apply(m)
        else:
            await asyncio.sleep(cfg.work_ms / 1000)
            await self._apply(m)
            await self._ack(m)
        self.processed += 1
        return True

    async def _apply(self, m: dict[str, Any]) -> None:
        req = {"op": "apply", **m, "consumer": self.cfg.name, "dedup": "no-dedup" not in self.cfg.flags}
        reply = await self.sink.call(req, self.cfg.rpc_timeout_s)
        if not reply.get("ok"):
            raise Indefinite(f"sink refused apply of {m['id']}: {reply.get('error')}")

    async def _ack(self, m: dict[str, Any]) -> None:
        reply = await self.broker.call(
            {"op": "ack", "id": m["id"], "consumer": self.cfg.name}, self.cfg.rpc_timeout_s
        )
        if not reply.get("ok"):
            raise Indefinite(f"broker refused ack of {m['id']}: {reply.get('error')}")
