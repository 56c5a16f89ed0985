"""The protected resource: accepts a write only with a fencing token no lower than the highest accepted.

Every accepted write is journaled (fsync'd before the reply) as ``{"seq", "lock", "token", "client", "data",
"time"}`` (``time``: resource wall-clock ms) and survives kill -9; the harness reads the log in the final
phase. The highest accepted token is kept per lock name. With the planted bug ``no-fencing`` the token is
ignored and every write is accepted, so a holder that was paused past its lease still overwrites a newer
holder's work.

Requests: ``hello``/``health``, ``write {lock, token, client, data}`` -> ``{"ok": true, "accepted": bool,
"seq"?, "highest"}``, ``log`` -> ``{"ok": true, "log": [...]}``.
"""

from __future__ import annotations

import time
from typing import Any

from chaos_targets.common.journal import Journal
from chaos_targets.common.service import JournaledService


class ResourceState:
    def __init__(self, fencing: bool = True) -> None:
        self.fencing = fencing
        self.log: list[dict[str, Any]] = []
        self.highest: dict[str, int] = {}

    def load(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            self._record(r)

    def _record(self, r: dict[str, Any]) -> None:
        self.log.append(r)
        self.highest[r["lock"]] = max(self.highest.get(r["lock"], r["token"]), r["token"])

    def check(self, lock: str, token: int) -> bool:
        return not self.fencing or token >= self.highest.get(lock, token)

    def accept(self, lock: str, token: int, client: Any, data: Any, now_ms: int) -> dict[str, Any]:
        rec = {
            "seq": len(self.log) + 1,
            "lock": lock,
            "token": token,
            "client": client,
            "data": data,
            "time": now_ms,
        }
        self._record(rec)
        return rec


class ResourceService(JournaledService[ResourceState]):
    def __init__(self, data_dir: str, flags: frozenset[str]) -> None:
        super().__init__("resource", data_dir, flags, ResourceState(fencing="no-fencing" not in flags))

    async def dispatch(self, op: Any, req: dict[str, Any], journal: Journal) -> dict[str, Any] | None:
        if op == "write":
            lock, token = str(req["lock"]), int(req["token"])
            if not self.state.check(lock, token):
                return {"ok": True, "accepted": False, "highest": self.state.highest[lock]}
            # accept in memory first (no await in between), so a concurrent lower token is refused
            rec = self.state.accept(lock, token, req["client"], req.get("data"), int(time.time() * 1000))
            await journal.append(rec)
            return {"ok": True, "accepted": True, "seq": rec["seq"], "highest": self.state.highest[lock]}
        if op == "log":
            return {"ok": True, "log": list(self.state.log)}
        return None
