"""``JournaledService``: the request loop shared by the queue's broker and sink and the lock's resource.

Each is a state object rebuilt from its own journal (``<data_dir>/<role>.journal``) at start, served over the
line protocol (``chaos_targets.common.wire``). This base opens the journal for appends on the first request
(inside the running event loop), answers ``hello``/``health`` with the role and flags, and turns a request
with a missing or mistyped field, or an unknown op, into ``{"ok": false, "error": "bad-request: ..."}``; a
subclass answers its own ops in ``dispatch``. Standard library only.
"""

from __future__ import annotations

import os
from typing import Any, Generic, Protocol, TypeVar

from chaos_targets.common.journal import Journal, replay


class Replayable(Protocol):
    def load(self, records: list[dict[str, Any]]) -> None: ...


S = TypeVar("S", bound=Replayable)


class JournaledService(Generic[S]):
    def __init__(self, role: str, data_dir: str, flags: frozenset[str], state: S) -> None:
        self.role = role
        self.flags = flags
        self.path = os.path.join(data_dir, f"{role}.journal")
        self.state = state
        self.state.load(replay(self.path))
        self.journal: Journal | None = None

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        if self.journal is None:
            self.journal = Journal(self.path)
        op = req.get("op")
        try:
            if op in ("hello", "health"):
                return {"ok": True, "role": self.role, "flags": sorted(self.flags)}
            reply = await self.dispatch(op, req, self.journal)
            if reply is not None:
                return reply
        except (KeyError, TypeError, ValueError) as e:
            return {"ok": False, "error": f"bad-request: {op}: missing or bad field {e}"}
        return {"ok": False, "error": f"bad-request: unknown op {op!r}"}

    async def dispatch(self, op: Any, req: dict[str, Any], journal: Journal) -> dict[str, Any] | None:
        """The reply to ``op``, or ``None`` if this service has no such op."""
        raise NotImplementedError
