"""The harness-side queue client: a producer for ``send`` and the final-phase reads, recording honestly.

``send {msg, account, amount}`` sends the logical message under a producer message id (``<msg>.1``). On a
timeout or lost connection the producer retries; the correct producer re-sends the *same* id (the broker
acknowledges an id it already has without enqueueing it again), while a producer of a cluster started with the
``producer-retry-duplicates`` flag re-sends under a *fresh* id (``<msg>.2``...), so a first attempt that did
land is enqueued twice. The flag is part of the cluster's configuration: the producer learns it from the
broker's ``hello`` reply, as a client library picks up its cluster's settings. Completions: ``ok`` once an
attempt is acknowledged; ``fail`` only when no attempt can have reached the broker (all refused) or the broker
rejected it; otherwise ``info``.

``read-effects`` drains first (waits until the broker has no ready or in-flight message, bounded by
``DRAIN_TIMEOUT_S``), then returns the sink's effects; ``read-deliveries`` returns the broker's delivery
trail.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chaos_targets.common.adapter import completion_of, read_completion
from chaos_targets.common.wire import Indefinite, LineClient, NotSent
from harness.target import Addr, Completion

SEND_ATTEMPTS = 3
DRAIN_TIMEOUT_S = 30.0
SETTLE_S = 0.5
OPS = ("send", "read-effects", "read-deliveries")


class QueueClient:
    def __init__(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> None:
        self.process, self.timeout = process, timeout
        self.broker = LineClient(nodes["broker"].host, nodes["broker"].port, timeout)
        sink = nodes.get("sink")
        self.sink = LineClient(sink.host, sink.port, timeout) if sink is not None else None
        self.flags: frozenset[str] | None = None

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in OPS:
            return Completion("fail", None, f"unknown operation {f!r}; valid: {', '.join(OPS)}")
        if f == "send":
            return completion_of(lambda: self._send(value))
        if f == "read-effects":
            return completion_of(self._read_effects)
        return completion_of(lambda: read_completion(self.broker, "deliveries", "deliveries"))

    def _learn_flags(self) -> frozenset[str]:
        if self.flags is None:
            reply = self.broker.call({"op": "hello"})
            self.flags = frozenset(reply.get("flags", ()))
        return self.flags

    def _send(self, value: Mapping[str, Any]) -> Completion:
        try:
            fresh_ids = "producer-retry-duplicates" in self._learn_flags()
        except (NotSent, Indefinite) as e:  # hello changes nothing: the message was certainly not sent
            return Completion("fail", None, f"broker unreachable: {e}")
        msg = str(value["msg"])
        mid = f"{msg}.1"
        landed_maybe = False
        last_error = ""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            if attempt > 1 and fresh_ids:
                mid = f"{msg}.{attempt}"
            req = {
                "op": "send",
                "id": mid,
                "msg": msg,
                "account": value["account"],
                "amount": value["amount"],
            }
            try:
                reply = self.broker.call(req)
            except NotSent as e:
                last_error = str(e)
            except Indefinite as e:
                landed_maybe, last_error = True, str(e)
            else:
                if reply.get("ok"):
                    return Completion("ok", {**value, "id": mid})
                if not landed_maybe:
                    return Completion("fail", None, str(reply.get("error")))
                last_error = str(reply.get("error"))
            time.sleep(0.05 * attempt)
        return Completion("info" if landed_maybe else "fail", None, last_error)

    def _read_effects(self) -> Completion:
        if self.sink is None:
            return Completion("fail", None, "this client has no address for the sink")
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        drained = False
        while time.monotonic() < deadline:
            try:
                stats = self.broker.call({"op": "stats"})
                if stats.get("ok") and stats["ready"] == 0 and stats["inflight"] == 0:
                    drained = True
                    break
            except (NotSent, Indefinite):
                pass
            time.sleep(0.2)
        time.sleep(SETTLE_S)  # an apply that raced the last ack (ack-before-apply) lands before we read
        reply = self.sink.call({"op": "effects"})
        if not reply.get("ok"):
            return Completion("fail", None, str(reply.get("error")))
        late = None if drained else "queue not drained before the deadline"
        return Completion("ok", reply["effects"], late)

    def close(self) -> None:
        self.broker.close()
        if self.sink is not None:
            self.sink.close()
