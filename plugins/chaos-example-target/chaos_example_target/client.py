"""The memkv client: one per harness worker, honest about what it does not know.

``ok``: the node answered that it happened (a ``read`` returns ``{"key", "value"}``, as the ``kv`` workload
and the linearizability checker's ``kv`` model expect). ``fail``: certainly not applied (refused before
sending, a cas mismatch, a read without an answer). ``info``: a write or cas sent without an answer (it may
have happened).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any

from harness.target import Addr, Completion

_OPS = {"read": "get", "write": "put", "cas": "cas"}


class MemKvClient:
    def __init__(self, nodes: Mapping[str, Addr], timeout: float) -> None:
        self.addr = next(iter(nodes.values()))  # memkv has one node, the one clients reach
        self.timeout = timeout

    def _request(self, req: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection((self.addr.host, self.addr.port), timeout=self.timeout) as s:
            s.settimeout(self.timeout)
            s.sendall(json.dumps(req).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionResetError("connection closed before a reply")
                buf += chunk
        reply = json.loads(buf)
        if not isinstance(reply, dict):
            raise ValueError("malformed reply")
        return reply

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in _OPS or not isinstance(value, dict) or "key" not in value:
            return Completion("fail", error=f"unsupported op {f!r}")
        req = {"op": _OPS[f], "key": value["key"]}
        if f == "write":
            req["value"] = value.get("value")
        elif f == "cas":
            req["from"], req["to"] = value.get("from"), value.get("to")
        try:
            reply = self._request(req)
        except ConnectionRefusedError as e:
            return Completion("fail", error=f"refused: {e}")
        except (OSError, ValueError) as e:
            unknown = f"no answer: {type(e).__name__}: {e}"
            return Completion("fail", error=unknown) if f == "read" else Completion("info", error=unknown)
        if reply.get("ok"):
            if f == "read":
                return Completion("ok", {"key": value["key"], "value": reply.get("value")})
            return Completion("ok", dict(value))
        if reply.get("error") == "cas mismatch":
            return Completion("fail", error="mismatch")
        return Completion("fail", error=str(reply.get("error")))

    def close(self) -> None:
        pass
