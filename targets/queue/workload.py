"""``QueueWorkload``: producers sending ledger credits, then a drain and a read of the applied effects.

Each worker sends messages with logical ids ``p<process>-<n>`` crediting a random account (seeded ``rng``) by
1..``max_amount``. The final phase reads the sink's effects (after draining the queue) and the broker's
delivery trail; the ``exactly-once`` checker compares effects with sends.

Options (all optional): ``messages`` per worker (default: unlimited, the run's duration stops the workers),
``accounts`` (default 5), ``max_amount`` (default 10), ``interval_ms`` (default 0: each worker pauses this
long before each send after its first, to spread a run's messages over its faults), ``trail`` (default 1; 0: a
broker that keeps no delivery trail, e.g. RabbitMQ: the final phase does not ask for ``read-deliveries``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from chaos_targets.common.adapter import check_workload_options
from harness.target import Completion

OPTIONS = {
    "messages": (1, 10_000_000),
    "accounts": (1, 10_000),
    "max_amount": (1, 1_000_000),
    "interval_ms": (0, 60_000),
    "trail": (0, 1),
}


class SendPlan:
    def __init__(
        self,
        process: int,
        rng: Any,
        messages: int | None,
        accounts: int,
        max_amount: int,
        interval_ms: int = 0,
    ) -> None:
        self.process, self.rng, self.interval_s = process, rng, interval_ms / 1000
        self.left = messages
        self.accounts, self.max_amount = accounts, max_amount
        self.n = 0

    def next(self, last: tuple[str, Any, Completion] | None) -> tuple[str, Any] | None:
        if self.left is not None:
            if self.left <= 0:
                return None
            self.left -= 1
        if self.n and self.interval_s:
            time.sleep(self.interval_s)
        self.n += 1
        account = f"a{self.rng.randrange(self.accounts)}"
        amount = self.rng.randint(1, self.max_amount)
        return "send", {"msg": f"p{self.process}-{self.n}", "account": account, "amount": amount}


class QueueWorkload:
    name = "queue"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        opts = check_workload_options(options or {}, self.name, OPTIONS)
        self.messages = opts.get("messages")
        self.accounts = opts.get("accounts", 5)
        self.max_amount = opts.get("max_amount", 10)
        self.interval_ms = opts.get("interval_ms", 0)
        self.trail = bool(opts.get("trail", 1))

    def plan(self, process: int, rng: Any) -> SendPlan:
        return SendPlan(process, rng, self.messages, self.accounts, self.max_amount, self.interval_ms)

    def final_ops(self) -> Sequence[tuple[str, Any]]:
        return [("read-effects", None), *([("read-deliveries", None)] if self.trail else [])]

    def checkers(self) -> Mapping[str, Mapping[str, Any]]:
        return {"exactly-once": {}}
