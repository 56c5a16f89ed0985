"""``Anomaly``: one anomaly found, as data: its name, the transactions involved, and its witness in words.

A cycle anomaly's witness is its list of steps (``Step``: from, to, edge kind and the reason in words); a
non-cycle anomaly's witness is a sentence plus the transactions it names. ``to_dict`` is the JSON form the
result's details carry and the report draws from.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.txn.models import describe, ruled_out
from harness.checkers.txn.txns import Txn, show


@dataclass(frozen=True)
class Step:
    src: int
    dst: int
    kind: str
    why: str


@dataclass(frozen=True)
class Anomaly:
    name: str
    txns: tuple[int, ...]
    text: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def to_dict(self, txns: list[Txn]) -> dict[str, Any]:
        def t(i: int) -> dict[str, Any]:
            x = txns[i]
            return {
                "name": x.name,
                "index": x.index,
                "complete_index": x.complete_index,
                "process": x.process,
                "type": x.type,
                "ops": [list(m) for m in x.mops],
            }

        d: dict[str, Any] = {
            "type": self.name,
            "description": describe(self.name),
            "ruled_out": ruled_out(self.name),
            "text": self.text,
            "txns": [t(i) for i in self.txns],
        }
        if self.steps:
            d["cycle"] = [
                {"from": txns[s.src].name, "to": txns[s.dst].name, "kind": s.kind, "why": s.why}
                for s in self.steps
            ]
        return d


def unwritten_read(t: Txn, key: Hashable, read: Any, value: Any, failed: Txn | None) -> Anomaly:
    """``t`` read ``key`` = ``read``, holding ``value``, which no committed transaction wrote: an aborted read
    (G1a) when ``failed``, a transaction that failed, wrote it; else a garbage read (nobody wrote it)."""
    seen = f"{t.name} read {key} = {show(read)}"
    if failed is not None:
        wrote = f"{show(value)} was written by {failed.name}, which failed"
        return Anomaly("G1a", (t.id, failed.id), f"{seen}: {wrote}")
    return Anomaly("garbage-read", (t.id,), f"{seen}, but no transaction wrote {show(value)}")
