"""``FakeNet``: an in-memory ``Net`` for unit tests of faults and schedules (no Toxiproxy, no sockets).

It validates exactly like the mesh (same grudge and link checks), records every call in ``calls`` and keeps
the state a real mesh would be in, so a test can ask ``reachable(a, b)`` or look at ``links``
after a fault ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import BadInput
from harness.names import CLIENT
from harness.net.base import check_mode, check_stream, link_attributes
from harness.net.grudge import Grudge, validate


class FakeNet:
    def __init__(self, nodes: Sequence[str]) -> None:
        self.nodes = tuple(nodes)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._grudge: dict[str, frozenset[str]] = {}
        self.mode = "blackhole"
        self.links: dict[tuple[str, str], dict[str, dict[str, int]]] = {}

    @property
    def grudge(self) -> dict[str, frozenset[str]]:
        return dict(self._grudge)

    def partition(self, grudge: Grudge, mode: str = "blackhole") -> None:
        self.mode = check_mode(mode)
        self._grudge = validate(self.nodes, grudge)
        self.calls.append(("partition", {"grudge": self.grudge, "mode": mode}))

    def link(
        self, src: str | None, dst: str | None, kind: str = "latency", stream: str = "upstream", **attrs: Any
    ) -> None:
        attributes = link_attributes(kind, attrs)
        streams = check_stream(stream)
        if src is not None and src not in (CLIENT, *self.nodes):
            raise BadInput(f"link src {src!r}: expected one of {', '.join((CLIENT, *self.nodes))} (or None)")
        if dst is not None and dst not in self.nodes:
            raise BadInput(f"link dst {dst!r}: expected one of {', '.join(self.nodes)} (or None for all)")
        sources = [src] if src is not None else list(self.nodes)
        for a in sources:
            for b in [dst] if dst is not None else list(self.nodes):
                if a != b:
                    for s in streams:
                        self.links.setdefault((a, b), {})[f"{kind}_{s}"] = attributes
        self.calls.append(("link", {"src": src, "dst": dst, "kind": kind, "stream": stream, **attributes}))

    def heal(self) -> None:
        self._grudge = {}
        self.links = {}
        self.calls.append(("heal", {}))

    def reachable(self, src: str, dst: str) -> bool:
        return dst not in self._grudge.get(src, frozenset())
