"""``LockMachine``: the deterministic lock table replicated by Raft (one instance per lock node).

Commands (JSON, stamped by the leader that proposes them, so every replica computes the same result):

- ``{"op": "acquire", "lock", "client", "lease_ms", "now"}``: grant when the lock is free or its holder's
  lease has expired at ``now`` (leader service time, ms). A grant gets the next fencing token of that lock:
  the counter is part of the replicated state, so tokens increase strictly across every grant, also across
  leader changes.
- ``{"op": "release", "lock", "token"}``: free the lock if ``token`` still holds it.

Planted bugs (the same flags on every replica, so replicas still agree):

- ``early-grant``: a holder's lease is taken as expired halfway through it, so a second client is granted the
  lock while the first one's lease is still running.
- ``token-reset``: the token comes from the proposing leader's own, unreplicated counter
  (``command["token"]``), so a new leader hands out tokens that an old leader already issued.

- ``wall-clock-lease`` (``node.py``): the leader stamps ``now`` with its own wall clock, trusting it to agree
  with the clock that stamped the running lease. A leader whose clock is ahead (an NTP step, a skewed VM)
  counts a live lease as expired and grants the lock to a second client. The correct service stamps with
  ``LeaseClock``: the highest stamp it has applied plus the monotonic time elapsed on this node since it
  applied it, which never runs ahead of real time (a new leader counts leases from when it learned of them).

Results are plain dicts handed back to the proposer: ``{"granted": true, "token", "lease_ms", "granted_at",
"expires_at"}`` / ``{"granted": false, "holder", "expires_at"}``, ``{"released": bool}``.
"""

from __future__ import annotations

import time
from typing import Any

FLAGS = frozenset({"no-fencing", "early-grant", "token-reset", "wall-clock-lease"})


class LockMachine:
    def __init__(self, flags: frozenset[str] = frozenset(), mono: Any = time.monotonic) -> None:
        self.flags = flags
        self.mono = mono  # this replica's monotonic clock: when it applied the highest stamp (LeaseClock)
        self.locks: dict[str, dict[str, Any]] = {}  # lock -> holder, token, granted_at, expires_at
        self.tokens: dict[str, int] = {}  # lock -> highest token granted (the replicated counter)
        self.last_now = 0  # the highest stamp applied (replicated: every replica applies the same ones)
        self.last_now_at = mono()  # local, not replicated: this replica's monotonic time when it applied it

    def apply(self, command: Any) -> Any:
        if not isinstance(command, dict):
            return {"error": "not a command"}
        op = command.get("op")
        try:
            if op == "acquire":
                return self._acquire(command)
            if op == "release":
                return self._release(command)
        except (KeyError, TypeError, ValueError) as e:
            return {"error": f"bad command {op}: {e}"}
        return {"error": f"unknown command {op!r}"}

    def _expired(self, held: dict[str, Any], now: int) -> bool:
        if "early-grant" in self.flags:
            return now >= held["granted_at"] + (held["expires_at"] - held["granted_at"]) // 2
        return now >= held["expires_at"]

    def _acquire(self, c: dict[str, Any]) -> dict[str, Any]:
        lock, now, lease = str(c["lock"]), int(c["now"]), int(c["lease_ms"])
        if now > self.last_now:
            self.last_now, self.last_now_at = now, self.mono()
        held = self.locks.get(lock)
        if held is not None and not self._expired(held, now):
            return {"granted": False, "holder": held["holder"], "expires_at": held["expires_at"]}
        if "token-reset" in self.flags and "token" in c:
            token = int(c["token"])
        else:
            token = self.tokens.get(lock, 0) + 1
        self.tokens[lock] = max(token, self.tokens.get(lock, 0))
        grant = {"holder": c["client"], "token": token, "granted_at": now, "expires_at": now + lease}
        self.locks[lock] = grant
        return {
            "granted": True,
            "token": token,
            "lease_ms": lease,
            "granted_at": now,
            "expires_at": now + lease,
        }

    def _release(self, c: dict[str, Any]) -> dict[str, Any]:
        lock, token = str(c["lock"]), int(c["token"])
        held = self.locks.get(lock)
        if held is None or held["token"] != token:
            return {"released": False}
        del self.locks[lock]
        return {"released": True}


class LeaseClock:
    """The service time a replica stamps with: never ahead of real time since any stamp it has applied.

    ``now() = L + (mono() - t_L)`` where ``L`` is the highest stamp this replica has applied and ``t_L`` the
    replica's monotonic time when it applied ``L``. Stamps are compared only with stamps this replica has
    applied, and the time elapsed by a stamp's reckoning is at most the real time elapsed (by induction:
    ``L`` itself was made no later than it was applied here), so a lease never counts as expired early,
    whatever the wall clocks say. Only the monotonic clock of one machine is used, which no clock skew moves.
    """

    def __init__(self, machine: LockMachine) -> None:
        self.machine = machine

    def now(self) -> int:
        m = self.machine
        return m.last_now + int((m.mono() - m.last_now_at) * 1000)
