"""``EtcdClient``: the kv workload's read / write / cas over etcd 3.4's v3 JSON gateway (HTTP, base64 keys).

One client per worker. It starts on node ``process % n`` and stays there while the node answers, moving to
the next node after a connection failure or a timeout. ``read`` is a ``/v3/kv/range``: linearizable by
default; in mode ``serializable-reads`` it sets ``serializable: true`` (a member answers from its own state,
possibly stale: the planted misconfiguration) and each read goes to the next member in turn, so reads are
spread over every member whatever happens to the worker's own node. ``write`` is a
``/v3/kv/put``; ``cas`` a ``/v3/kv/txn`` comparing the value. Values are small integers stored as text.

Completions are honest: a refused connection (nothing sent) and an answer that says the request was dropped
are ``fail``; a timeout or a lost connection after sending is ``info`` for a write or cas, ``fail`` for a read
(a read changes nothing). Every completion names the node that served it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import requests

from harness.target import Addr, ClientContext, Completion

SERIALIZABLE = "serializable-reads"
# Errors after which etcd certainly did not apply a write (the proposal never entered the log).
DEFINITE = ("proposal dropped", "no leader", "too many requests", "not capable", "key not found")


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _unb64(s: str | None) -> str | None:
    return None if s is None else base64.b64decode(s).decode()


def _int_or_text(s: str | None) -> Any:
    if s is None:
        return None
    try:
        return int(s)
    except ValueError:
        return s


def refused(e: BaseException) -> bool:
    """Whether a ``requests`` error happened before anything was sent (refused, unreachable, no connect)."""
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return True
    text = repr(e)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text


class EtcdClient:
    def __init__(
        self,
        nodes: Mapping[str, Addr],
        process: int,
        timeout: float,
        *,
        context: ClientContext | None = None,
        roles: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        if not nodes:
            raise ValueError("EtcdClient needs at least one node address")
        self.order = sorted(nodes)
        self.addrs = dict(nodes)
        self.at = process % len(self.order)
        self.timeout = timeout
        self.serializable = context is not None and SERIALIZABLE in context.flags
        self.reads = process
        self.session = requests.Session()

    @property
    def node(self) -> str:
        return self.order[self.at]

    def close(self) -> None:
        self.session.close()

    def _rotate(self) -> None:
        self.session.close()
        self.session = requests.Session()
        self.at = (self.at + 1) % len(self.order)

    def post(self, path: str, body: dict[str, Any], node: str) -> tuple[int, dict[str, Any]]:
        addr = self.addrs[node]
        r = self.session.post(f"http://{addr.host}:{addr.port}{path}", json=body, timeout=self.timeout)
        try:
            data = r.json()
        except ValueError:
            data = {"error": r.text[:200]}
        return r.status_code, data if isinstance(data, dict) else {"error": str(data)[:200]}

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in ("read", "write", "cas") or not isinstance(value, dict) or "key" not in value:
            return Completion("fail", error=f"unsupported op {f!r} with value {value!r}")
        key = _b64(str(value["key"]))
        if f == "read":
            path, body = "/v3/kv/range", {"key": key, "serializable": self.serializable}
        elif f == "write":
            path, body = "/v3/kv/put", {"key": key, "value": _b64(str(value["value"]))}
        else:
            path = "/v3/kv/txn"
            body = {
                "compare": [
                    {"key": key, "target": "VALUE", "result": "EQUAL", "value": _b64(str(value["from"]))}
                ],
                "success": [{"requestPut": {"key": key, "value": _b64(str(value["to"]))}}],
            }
        node = self.node
        if f == "read" and self.serializable:
            self.reads += 1
            node = self.order[self.reads % len(self.order)]
        try:
            status, data = self.post(path, body, node)
        except requests.RequestException as e:
            if node == self.node:
                self._rotate()
            error = f"{type(e).__name__}: {str(e)[:160]}"
            if refused(e) or f == "read":
                return Completion("fail", error=error, node=node)
            return Completion("info", error=error, node=node)
        if status != 200 or "error" in data:
            error = str(data.get("error") or data.get("message") or f"HTTP {status}")
            if f == "read" or any(d in error for d in DEFINITE):
                return Completion("fail", error=error, node=node)
            if node == self.node:
                self._rotate()
            return Completion("info", error=error, node=node)
        if f == "read":
            kvs = data.get("kvs") or []
            v = _int_or_text(_unb64(kvs[0].get("value", "")) if kvs else None)
            return Completion("ok", {"key": value["key"], "value": v}, node=node)
        if f == "cas" and not data.get("succeeded"):
            # The gateway omits false booleans: the compare was evaluated and failed, a real observation.
            return Completion("fail", error="mismatch", node=node)
        return Completion("ok", dict(value), node=node)

    # The live roles, for faults that select the leader (harness/declare/roles.py): each member's own
    # /v3/maintenance/status says its member id, the leader it follows and its Raft term.
    role_names = ("leader", "followers")

    @staticmethod
    def roles(context: ClientContext) -> dict[str, list[str]]:
        """The member that says it leads in the highest term, and every other member."""
        terms: dict[str, int] = {}
        with requests.Session() as session:
            for node, ports in sorted(context.addrs.items()):
                addr = next(iter(ports.values()))
                try:
                    r = session.post(
                        f"http://{addr.host}:{addr.port}/v3/maintenance/status", json={}, timeout=1.0
                    )
                    data = r.json()
                except (requests.RequestException, ValueError):
                    continue  # a member that does not answer leads nobody as far as anyone can tell
                if str(data.get("leader")) == str(data.get("header", {}).get("member_id")):
                    terms[node] = int(data.get("raftTerm") or data.get("header", {}).get("raft_term") or 0)
        top = max(terms.values(), default=0)
        leader = [n for n, t in terms.items() if t == top]
        return {"leader": leader, "followers": [n for n in sorted(context.addrs) if n not in leader]}
