"""The KV store's state machine and its client-request handler, on the Raft core of ``targets/raft``.

Requests (one JSON object per line, see docs/targets/kv.md): ``get`` / ``put`` / ``cas`` on string keys. Any
node accepts them: a follower forwards to the leader over its peer link (``"fwd": true`` marks a forwarded
request, which is never forwarded again). Replies are ``{"ok": true, ...}`` or ``{"ok": false, "error": ...,
"definite": bool}``: ``definite`` is true only when the request certainly had no effect (not leader / no
leader, cas mismatch, entry overwritten), false when the outcome is unknown (commit timeout, leader silent).

Planted bugs (``flags``), all off by default:
- ``stale-read``: every node answers ``get`` from its own state, without forwarding or a read-index round;
- ``ack-before-commit``: the leader acknowledges ``put`` once it is in its own log, before a majority has it;
- ``volatile-log`` lives in node.py: nothing is persisted;
- ``no-fsync`` lives in node.py (``FileStorage(fsync=False)``): the Raft journal is written but never fsync'd
  before a node votes or acknowledges, so a kill loses nothing (the page cache survives the process) while a
  power loss (the ``lose-unsynced`` disk fault) on a majority loses acknowledged writes;
- ``slow-election`` lives in node.py (the Raft core's ``reelection_factor``): once a node has followed a
  leader, its election timeouts are ten times longer, so losing the leader stalls every client for seconds
  (safe, but unavailable: only an availability threshold catches it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chaos_targets.raft.core import NotLeader
from chaos_targets.raft.server import RaftServer, Rejected, Unknown

FLAGS = frozenset({"stale-read", "ack-before-commit", "volatile-log", "slow-election", "no-fsync"})
SLOW_ELECTION_FACTOR = 10


class KvStateMachine:
    """Deterministic map of key -> JSON value; commands are ``{"op": "put"|"cas", ...}``."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def apply(self, command: Any) -> Any:
        op = command.get("op") if isinstance(command, dict) else None
        key = str(command.get("key")) if isinstance(command, dict) else ""
        if op == "put":
            self.data[key] = command.get("value")
            return {"ok": True}
        if op == "cas":
            current = self.data.get(key)
            if current == command.get("from"):
                self.data[key] = command.get("to")
                return {"ok": True}
            return {"ok": False, "error": "cas mismatch", "definite": True, "current": current}
        return {"ok": False, "error": f"unknown command {op!r}", "definite": True}


def _bad(msg: str) -> dict[str, Any]:
    return {"ok": False, "error": msg, "definite": True}


def validate(req: dict[str, Any]) -> str | None:
    """A one-line complaint about a malformed request, or ``None``."""
    op = req.get("op")
    if op not in ("get", "put", "cas"):
        return f"unknown op {op!r}; expected get, put, cas or health"
    if not isinstance(req.get("key"), str):
        return "field 'key' must be a string"
    if op == "put" and "value" not in req:
        return "put needs field 'value'"
    if op == "cas" and ("from" not in req or "to" not in req):
        return "cas needs fields 'from' and 'to'"
    return None


class KvService:
    def __init__(self, sm: KvStateMachine, flags: Iterable[str] = (), op_timeout: float = 1.0) -> None:
        self.sm = sm
        self.flags = frozenset(flags)
        self.op_timeout = op_timeout
        self.raft: RaftServer | None = None

    def attach(self, raft: RaftServer) -> None:
        self.raft = raft

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        problem = validate(req)
        if problem is not None:
            return _bad(problem)
        raft = self.raft
        assert raft is not None, "attach() the RaftServer before serving"
        op, key = req["op"], req["key"]
        if op == "get" and "stale-read" in self.flags:
            return {"ok": True, "value": self.sm.data.get(key), "node": raft.node_id}
        if not raft.is_leader:
            if req.get("fwd"):
                return _bad(f"not leader (leader: {raft.leader})")
            try:
                return await raft.forward({**req, "fwd": True}, self.op_timeout)
            except NotLeader:
                return _bad("no leader reachable")
            except Unknown as e:
                return {"ok": False, "error": f"forwarded, no answer: {e}", "definite": False}
        try:
            if op == "get":
                await raft.read_index(self.op_timeout)
                return {"ok": True, "value": self.sm.data.get(key), "node": raft.node_id}
            command = {k: req[k] for k in ("op", "key", "value", "from", "to") if k in req}
            if op == "put" and "ack-before-commit" in self.flags:
                raft.append_only(command)
                return {"ok": True}
            result = await raft.propose(command, self.op_timeout)
            return dict(result)
        except NotLeader as e:
            return _bad(f"not leader (leader: {e.leader})")
        except Rejected as e:
            return _bad(str(e))
        except Unknown as e:
            return {"ok": False, "error": str(e), "definite": False}
