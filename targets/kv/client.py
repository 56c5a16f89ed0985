"""``KvClient``: the harness-side client of the KV store, one per worker, honest about uncertainty.

Blocking sockets (harness workers are threads); newline-delimited JSON, one request in flight. A worker starts
on node ``process % n`` and stays there while the node answers, so faults on one node reach a stable set of
workers; it moves to the next node only after a connection failure or a timeout. Completions:

- ``ok``: the node said it happened (a ``read`` returns ``{"key", "value"}``).
- ``fail``: certainly not applied -- the connection was refused before sending, the node answered ``definite:
  true`` (not leader, no leader, cas mismatch), or a ``read`` got no answer (a read has no effect).
- ``info``: a ``write`` or ``cas`` sent without a definite answer (timeout, connection lost, ``definite:
  false``).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any

from harness.target import Addr, Completion

_REQUESTS = {"read": "get", "write": "put", "cas": "cas"}


class KvClient:
    def __init__(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> None:
        if not nodes:
            raise ValueError("KvClient needs at least one node address")
        self._order = sorted(nodes)
        self._addrs = dict(nodes)
        self._at = process % len(self._order)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    @property
    def node(self) -> str:
        return self._order[self._at]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._buf = None, b""

    def _rotate(self) -> None:
        self.close()
        self._at = (self._at + 1) % len(self._order)

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        """One raw request/response; raises ``ConnectionRefusedError`` (not sent) or ``OSError`` (unknown)."""
        if self._sock is None:
            addr = self._addrs[self.node]
            self._sock = socket.create_connection((addr.host, addr.port), timeout=self.timeout)
        sock = self._sock
        sock.settimeout(self.timeout)
        try:
            sock.sendall(json.dumps(req).encode() + b"\n")
        except OSError as e:
            raise ConnectionResetError(f"send failed: {e}") from e
        while b"\n" not in self._buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed by node")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        resp = json.loads(line)
        if not isinstance(resp, dict):
            raise ConnectionResetError("malformed reply")
        return resp

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in _REQUESTS or not isinstance(value, dict) or "key" not in value:
            return Completion("fail", error=f"unsupported op {f!r} with value {value!r}")
        req: dict[str, Any] = {"op": _REQUESTS[f], "key": value["key"]}
        if f == "write":
            req["value"] = value.get("value")
        elif f == "cas":
            req["from"], req["to"] = value.get("from"), value.get("to")
        try:
            resp = self.request(req)
        except (ConnectionRefusedError, socket.gaierror) as e:
            self._rotate()
            return Completion("fail", error=f"{self.node}: connection refused: {e}")
        except (OSError, ValueError) as e:
            self._rotate()
            error = f"no answer: {type(e).__name__}: {e}"
            return Completion("fail", error=error) if f == "read" else Completion("info", error=error)
        if resp.get("ok"):
            if f == "read":
                return Completion("ok", {"key": value["key"], "value": resp.get("value")})
            return Completion("ok", dict(value))
        error = str(resp.get("error", "unknown error"))
        if f == "cas" and error == "cas mismatch":
            # The state machine compared and found another value: a real, completed observation. The history
            # vocabulary's "mismatch" lets the linearizability checker use it (not just drop the op).
            return Completion("fail", error="mismatch")
        if resp.get("definite") or f == "read":
            return Completion("fail", error=error)
        return Completion("info", error=error)
