"""The echo target's client: one JSON line out, one back, on a fresh connection per call.

``invoke("ping", "n1")`` asks n1 through its client proxy; ``invoke("probe", ["n1", "n2"])`` asks n1 to
ping n2 through the mesh. A timeout is ``info`` (unknown), a refused connection ``fail``
(certainly not delivered).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any

from harness.target import Addr, Completion


def request(addr: Addr, msg: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request and read one reply; raises ``OSError`` / ``TimeoutError`` / ``ValueError``."""
    with socket.create_connection((addr.host, addr.port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(json.dumps(dict(msg)).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionResetError("connection closed before a reply")
            buf += chunk
    reply = json.loads(buf)
    if not isinstance(reply, dict):
        raise ValueError("reply is not a JSON object")
    return reply


class EchoClient:
    def __init__(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> None:
        self.nodes = dict(nodes)
        self.process = process
        self.timeout = timeout

    def invoke(self, f: str, value: Any) -> Completion:
        msg: dict[str, Any]
        if f == "ping":
            node, msg = str(value), {"op": "ping"}
        elif f == "echo":
            node, msg = str(value[0]), {"op": "echo", "value": value[1]}
        elif f == "probe":
            node, msg = (
                str(value[0]),
                {"op": "probe", "peer": value[1], "timeout": max(0.1, self.timeout - 0.5)},
            )
        else:
            return Completion("fail", error=f"unknown f {f!r}")
        if node not in self.nodes:
            return Completion("fail", error=f"unknown node {node!r}")
        try:
            reply = request(self.nodes[node], msg, self.timeout)
        except ConnectionRefusedError:
            return Completion("fail", error="refused")
        except TimeoutError:
            return Completion("info", error="timeout")
        except (OSError, ValueError) as e:
            return Completion("info", error=type(e).__name__)
        if not reply.get("ok"):
            return Completion("fail", value=reply, error=str(reply.get("error")))
        return Completion("ok", value=reply)

    def close(self) -> None:
        pass
