"""The frozen operation record: one line of a history.

An op is Jepsen's {index, time, process, type, f, value} plus optional ``error`` and ``node``. ``type`` is
``invoke`` when a call starts, and ``ok`` (happened), ``fail`` (certainly did not happen) or ``info`` (outcome
unknown: it may take effect at any time after its invocation, or never) when it completes. Fault events are
ops of process ``"nemesis"``. Ops are plain data so that checkers, reports and replays can read them alone.
``show`` is the one short text form of an op's value: checkers' plain words and the report both use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

OpType = Literal["invoke", "ok", "fail", "info"]
OP_TYPES: frozenset[str] = frozenset({"invoke", "ok", "fail", "info"})
NEMESIS = "nemesis"

Process = int | str


@dataclass(frozen=True, slots=True)
class Op:
    """One event of a history; ``time`` is nanoseconds since the start of the run (monotonic)."""

    index: int
    time: int
    process: Process
    type: OpType
    f: str
    value: Any = None
    error: str | None = None
    node: str | None = None

    @property
    def is_invoke(self) -> bool:
        return self.type == "invoke"

    @property
    def is_nemesis(self) -> bool:
        return self.process == NEMESIS

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "type": self.type,
            "f": self.f,
            "value": self.value,
        }
        if self.error is not None:
            d["error"] = self.error
        if self.node is not None:
            d["node"] = self.node
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Op:
        """Build an op from its JSON form; raises ``ValueError`` naming the bad field."""
        for key in ("index", "time", "process", "type", "f"):
            if key not in d:
                raise ValueError(f"missing field {key!r}")
        if d["type"] not in OP_TYPES:
            raise ValueError(f"field 'type' is {d['type']!r}; expected one of invoke, ok, fail, info")
        if not isinstance(d["index"], int) or not isinstance(d["time"], int):
            raise ValueError("fields 'index' and 'time' must be integers")
        if not isinstance(d["process"], (int, str)) or isinstance(d["process"], bool):
            raise ValueError("field 'process' must be an integer or a string such as 'nemesis'")
        if not isinstance(d["f"], str):
            raise ValueError("field 'f' must be a string")
        return cls(
            index=d["index"],
            time=d["time"],
            process=d["process"],
            type=d["type"],
            f=d["f"],
            value=d.get("value"),
            error=d.get("error"),
            node=d.get("node"),
        )


def show(value: Any, limit: int = 0) -> str:
    """A compact, readable text form of a history value (JSON for containers), cut to ``limit`` if set."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = "nil"
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), sort_keys=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
