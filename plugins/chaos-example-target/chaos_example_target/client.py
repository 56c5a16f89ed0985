"""The memkv client: one per harness worker, honest about what it does not know.

It speaks the line protocol through ``chaos_targets.common.wire.LineClient`` (shipped with the harness for
target adapters), which says whether a request certainly never left (``NotSent``) or may have been processed
(``Indefinite``). ``ok``: the node answered that it happened (a ``read`` returns ``{"key", "value"}``, as the
``kv`` workload and the linearizability checker's ``kv`` model expect). ``fail``: certainly not applied
(never sent, a cas mismatch, a read without an answer). ``info``: a write or cas sent without an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos_targets.common.wire import Indefinite, LineClient, NotSent
from harness.target import Addr, Completion

_OPS = {"read": "get", "write": "put", "cas": "cas"}


class MemKvClient:
    def __init__(self, nodes: Mapping[str, Addr], timeout: float) -> None:
        addr = next(iter(nodes.values()))  # memkv has one node, the one clients reach
        self.line = LineClient(addr.host, addr.port, timeout)

    def invoke(self, f: str, value: Any) -> Completion:
        if f not in _OPS or not isinstance(value, dict) or "key" not in value:
            return Completion("fail", error=f"unsupported op {f!r}")
        req = {"op": _OPS[f], "key": value["key"]}
        if f == "write":
            req["value"] = value.get("value")
        elif f == "cas":
            req["from"], req["to"] = value.get("from"), value.get("to")
        try:
            reply = self.line.call(req)
        except NotSent as e:
            return Completion("fail", error=str(e))
        except Indefinite as e:
            return Completion("fail", error=str(e)) if f == "read" else Completion("info", error=str(e))
        if reply.get("ok"):
            if f == "read":
                return Completion("ok", {"key": value["key"], "value": reply.get("value")})
            return Completion("ok", dict(value))
        if reply.get("error") == "cas mismatch":
            return Completion("fail", error="mismatch")
        return Completion("fail", error=str(reply.get("error")))

    def close(self) -> None:
        self.line.close()
