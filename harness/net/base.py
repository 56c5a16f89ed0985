"""The ``Net`` protocol that faults are written against, and the validation of link faults.

A ``Net`` applies a partition (a grudge, see ``grudge``) in one of two modes, adds toxics to chosen directed
links, and heals. Links are named by their endpoints: ``("n1", "n2")`` is the proxy n1 uses to reach n2;
``("client", "n2")`` is the proxy clients use to reach n2; ``None`` for either end means "every".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

from harness.errors import BadInput
from harness.names import TOXIC_ATTRIBUTES
from harness.net.grudge import Grudge

PartitionMode = Literal["blackhole", "refuse"]
PARTITION_MODES = ("blackhole", "refuse")
STREAMS = ("upstream", "downstream", "both")

# kind -> its allowed attributes, each defaulting to 0 (``harness.names.TOXIC_ATTRIBUTES``)
LINK_KINDS: dict[str, dict[str, int]] = {
    kind: dict.fromkeys(attrs, 0) for kind, attrs in TOXIC_ATTRIBUTES.items()
}


def check_mode(mode: str) -> PartitionMode:
    if mode not in PARTITION_MODES:
        raise BadInput(f"partition mode {mode!r}: expected one of {', '.join(PARTITION_MODES)}")
    return mode  # type: ignore[return-value]


def link_attributes(kind: str, attrs: Mapping[str, Any]) -> dict[str, int]:
    """Validate a link fault's kind and attributes; returns the full attribute set with defaults."""
    if kind not in LINK_KINDS:
        raise BadInput(f"link kind {kind!r}: expected one of {', '.join(LINK_KINDS)}")
    allowed = LINK_KINDS[kind]
    out = dict(allowed)
    for key, value in attrs.items():
        if key not in allowed:
            raise BadInput(f"link {kind}: unknown attribute {key!r}; valid: {', '.join(allowed)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise BadInput(f"link {kind}: attribute {key!r} must be a number >= 0, got {value!r}")
        out[key] = int(value)
    return out


def check_stream(stream: str) -> tuple[str, ...]:
    if stream not in STREAMS:
        raise BadInput(f"link stream {stream!r}: expected one of {', '.join(STREAMS)}")
    return ("upstream", "downstream") if stream == "both" else (stream,)


@runtime_checkable
class Net(Protocol):
    """Faults on a cluster's network. ``grudge`` is the partition in force (empty when healed)."""

    @property
    def grudge(self) -> Grudge: ...

    def partition(self, grudge: Grudge, mode: str = "blackhole") -> None:
        """Replace the partition in force by ``grudge`` (blackhole: traffic hangs; refuse: fails fast)."""
        ...

    def link(
        self, src: str | None, dst: str | None, kind: str = "latency", stream: str = "upstream", **attrs: Any
    ) -> None:
        """Add (or replace) a toxic of ``kind`` on the link(s) ``src -> dst``; ``None`` means every node."""
        ...

    def heal(self) -> None:
        """Remove every partition and toxic: the network is clean again."""
        ...
