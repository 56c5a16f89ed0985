"""``LockWorkload``: clients loop acquire -> write (several times, with work in between) -> release.

A holder's "pause" (a GC pause, a stopped VM) is modelled by the worker plan itself: harness workers are
threads, so with probability ``stall_probability`` per grant the plan stalls for ``stall_ms`` (default twice
the lease) between the grant and its first write, and then writes anyway with its old token, exactly as a
paused process would on waking. With fencing the resource refuses that write once a newer holder has written;
with the ``no-fencing`` bug it is accepted after the newer holder's writes. All choices come from the seeded
``rng``.

Options (integers, optional): ``locks`` (1), ``lease_ms`` (1000), ``writes`` per grant (2), ``work_ms``
between writes (20), ``retry_ms`` after a refused acquire (20), ``stall_probability_pct`` (0..100, default 0),
``stall_ms`` (default 2 x lease_ms). Final phase: ``read-resource``; checker: ``lock-safety``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from chaos_targets.common.adapter import check_workload_options
from harness.target import Completion

OPTIONS = {
    "locks": (1, 1000),
    "lease_ms": (1, 3_600_000),
    "writes": (1, 1000),
    "work_ms": (0, 60_000),
    "retry_ms": (0, 60_000),
    "stall_probability_pct": (0, 100),
    "stall_ms": (0, 3_600_000),
}


class LockPlan:
    def __init__(self, process: int, rng: Any, o: Mapping[str, int]) -> None:
        self.process, self.rng, self.o = process, rng, o
        self.lock: str | None = None
        self.token: int | None = None
        self.writes_left = 0
        self.stall = False
        self.n = 0

    def _sleep(self, ms: int) -> None:
        if ms > 0:
            time.sleep(ms / 1000)

    def _acquire(self) -> tuple[str, Any]:
        self.lock = f"L{self.rng.randrange(self.o['locks'])}"
        return "acquire", {"lock": self.lock, "lease_ms": self.o["lease_ms"]}

    def next(self, last: tuple[str, Any, Completion] | None) -> tuple[str, Any] | None:
        if last is None:
            return self._acquire()
        f, _, out = last
        if f == "acquire":
            if out.type != "ok":
                self._sleep(self.o["retry_ms"])
                return self._acquire()
            self.token, self.writes_left = out.value["token"], self.o["writes"]
            self.stall = self.rng.randrange(100) < self.o["stall_probability_pct"]
        elif f == "write":
            self.writes_left = self.writes_left - 1 if out.type == "ok" else 0
        elif f == "release":
            self.token = None
            self._sleep(self.o["retry_ms"])
            return self._acquire()
        if self.writes_left > 0:
            self._sleep(self.o["stall_ms"] if self.stall else self.o["work_ms"])
            self.stall = False
            self.n += 1
            return "write", {"lock": self.lock, "token": self.token, "data": f"p{self.process}-{self.n}"}
        return "release", {"lock": self.lock, "token": self.token}


class LockWorkload:
    name = "lock"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        o = check_workload_options(options or {}, self.name, OPTIONS)
        lease = o.get("lease_ms", 1000)
        self.options = {
            "locks": 1,
            "lease_ms": lease,
            "writes": 2,
            "work_ms": 20,
            "retry_ms": 20,
            "stall_probability_pct": 0,
            "stall_ms": 2 * lease,
            **o,
        }

    def plan(self, process: int, rng: Any) -> LockPlan:
        return LockPlan(process, rng, self.options)

    def final_ops(self) -> Sequence[tuple[str, Any]]:
        return [("read-resource", None)]

    def checkers(self) -> Mapping[str, Mapping[str, Any]]:
        return {"lock-safety": {}}
