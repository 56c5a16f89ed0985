"""The harness-side lock client: acquire / release via the Raft leader, write to the resource, read its log.

The client remembers the leader, follows ``not-leader`` hints and tries the other nodes when a node refuses
connections; all of those failures are definite. Completions follow the history vocabulary: ``acquire`` ok
with ``{lock, token, lease_ms, granted_at, expires_at}`` or fail (held, no leader reachable); ``write`` ok
when the resource accepted it, fail when it rejected the token or could not be reached; ``release`` ok / fail;
anything that may have happened without an answer (timeout, lost connection, a proposal whose commit is
unknown) is ``info``. ``read-resource`` returns the resource's accepted-write log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chaos_targets.common.adapter import completion_of, read_completion
from chaos_targets.common.wire import Indefinite, LineClient, NotSent
from harness.target import Addr, Completion

OPS = ("acquire", "write", "release", "read-resource")


def current_leader(nodes: Mapping[str, Addr], timeout: float = 0.5) -> str | None:
    """The lock replica that answers ``health`` as leader now, or None (the resource is not asked)."""
    for name in sorted(n for n in nodes if n != "resource"):
        conn = LineClient(nodes[name].host, nodes[name].port, timeout)
        try:
            if conn.call({"op": "health"}).get("role") == "leader":
                return name
        except (NotSent, Indefinite):
            pass
        finally:
            conn.close()
    return None


class LockClient:
    def __init__(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> None:
        self.process, self.timeout = process, timeout
        self.replicas = sorted(n for n in nodes if n != "resource")
        self.conns = {n: LineClient(a.host, a.port, timeout) for n, a in nodes.items()}
        self.leader: str | None = None
        self._next = process % max(1, len(self.replicas))

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in OPS:
            return Completion("fail", None, f"unknown operation {f!r}; valid: {', '.join(OPS)}")
        return completion_of(lambda: self._invoke(f, value))

    def _invoke(self, f: str, value: Any) -> Completion:
        if f == "acquire":
            req = {
                "op": "acquire",
                "lock": value["lock"],
                "client": self.process,
                "lease_ms": int(value.get("lease_ms", 1000)),
            }
            out = self._leader_call(req)
            if out.type != "ok":
                return out
            r = out.value
            if not r.get("granted"):
                held = f"held by process {r.get('holder')} until {r.get('expires_at')}"
                return Completion("fail", None, held)
            keys = ("token", "lease_ms", "granted_at", "expires_at")
            return Completion("ok", {"lock": value["lock"], **{k: r[k] for k in keys}})
        if f == "release":
            out = self._leader_call({"op": "release", "lock": value["lock"], "token": value["token"]})
            if out.type != "ok":
                return out
            return (
                Completion("ok", dict(value))
                if out.value.get("released")
                else Completion("fail", None, "token no longer holds the lock")
            )
        if f == "write":
            return self._write(value)
        return read_completion(self._resource(), "log", "log")  # read-resource

    def _resource(self) -> LineClient:
        return self.conns["resource"]

    def _write(self, value: Mapping[str, Any]) -> Completion:
        req = {
            "op": "write",
            "lock": value["lock"],
            "token": value["token"],
            "client": self.process,
            "data": value.get("data"),
        }
        reply = self._resource().call(req)
        if not reply.get("ok"):
            return Completion("fail", None, str(reply.get("error")))
        if not reply.get("accepted"):
            return Completion(
                "fail", None, f"token {value['token']} below the highest accepted {reply.get('highest')}"
            )
        return Completion("ok", {**value, "seq": reply.get("seq")})

    def _leader_call(self, req: dict[str, Any]) -> Completion:
        """Send to the leader; ``ok`` carries the service's reply, failures are definite unless marked not."""
        deadline = time.monotonic() + 2 * self.timeout
        last = "no lock node reachable"
        while time.monotonic() < deadline:
            node = self.leader or self.replicas[self._next % len(self.replicas)]
            try:
                reply = self.conns[node].call(req)
            except NotSent as e:
                last, self.leader = str(e), None
                self._next += 1
                continue
            if reply.get("ok"):
                self.leader = node
                return Completion("ok", reply)
            if not reply.get("definite", False):
                return Completion("info", None, f"{node}: {reply.get('error')}")
            if reply.get("error") != "not-leader":
                return Completion("fail", None, f"{node}: {reply.get('error')}")
            last = f"{node}: not leader"
            hint = reply.get("leader")
            if hint in self.conns and hint != node:
                self.leader = hint
            else:
                self.leader = None
                self._next += 1
                time.sleep(0.05)  # an election is under way
        return Completion("fail", None, last)

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
