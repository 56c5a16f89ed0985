"""One fault operation in the history: the typed record ``FaultOp``, its one codec, and the fault windows.

Every fault start and stop (and every outage the nemesis's watch observed) is an op of process
``nemesis``, type ``info``, ``f`` = ``start-<kind>`` / ``stop-<kind>``, value ``{"kind", "nodes", ...}``:
the step's params, ``at`` / ``duration``, what the kind's start returned (a grudge, links, ...), ``effect``
(``down`` / ``paused`` when the kind takes its nodes down or pauses them) and ``observed: true`` for the
watch's ops. This module is the only place that writes (``FaultOp.write``) and reads (``decode``) that form;
``fault_windows`` pairs starts with stops for the availability checker, the evidence rules and the report
alike. It sits on the history floor
(it knows ``Op`` and ``History``, nothing of fault kinds), and reads bundles of every earlier version: ops
recorded before ``effect`` existed get the effect the bundled process kinds had then (``LEGACY_EFFECTS``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.history import History, HistoryWriter
from harness.op import NEMESIS, Op

START, STOP = "start", "stop"
DOWN, PAUSED = "down", "paused"  # a fault kind's effect on its nodes: not running, or frozen
EFFECTS = (DOWN, PAUSED)
# Bundles written before ops carried ``effect``: these were the only kinds with an effect on their nodes.
LEGACY_EFFECTS: Mapping[str, str] = MappingProxyType({"kill": DOWN, "restart": DOWN, "pause": PAUSED})
_OWN = ("kind", "nodes", "effect", "observed")  # value keys the record itself holds


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class FaultOp:
    """A fault's start or stop as data. ``details`` is everything else the op's value holds (params, times,
    what the start returned); ``time`` / ``index`` / ``error`` come from the recorded op when decoded."""

    phase: str
    kind: str
    nodes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=_empty)
    effect: str | None = None
    observed: bool = False
    time: int = 0
    index: int = -1
    error: str | None = None

    @property
    def f(self) -> str:
        return f"{self.phase}-{self.kind}"

    def value(self) -> dict[str, Any]:
        """The op's value as recorded: details, then the record's own keys."""
        out = {**self.details, "kind": self.kind, "nodes": list(self.nodes)}
        if self.effect is not None:
            out["effect"] = self.effect
        if self.observed:
            out["observed"] = True
        return out

    def write(self, writer: HistoryWriter, *, error: str | None = None, node: str | None = None) -> Op:
        """Append this op to the history (the one writer of fault ops)."""
        return writer.record(NEMESIS, "info", self.f, self.value(), error=error, node=node)


def _nodes(value: Mapping[str, Any]) -> tuple[str, ...]:
    nodes = value.get("nodes")
    if isinstance(nodes, (list, tuple)):
        return tuple(str(n) for n in nodes)
    grudge = value.get("grudge")  # a hand-written or foreign history may give only the grudge
    if isinstance(grudge, Mapping):
        return tuple(str(n) for n in grudge)
    return ()


def decode(op: Op) -> FaultOp | None:
    """The fault op ``op`` records, or None when it is not one (a client op, another nemesis op)."""
    if op.process != NEMESIS:
        return None
    phase, sep, kind = op.f.partition("-")
    if not sep or not kind or phase not in (START, STOP):
        return None
    value: Mapping[str, Any] = op.value if isinstance(op.value, Mapping) else {}
    effect = value.get("effect") if "effect" in value else LEGACY_EFFECTS.get(kind)
    return FaultOp(
        phase,
        kind,
        _nodes(value),
        MappingProxyType({k: v for k, v in value.items() if k not in _OWN}),
        effect if effect in EFFECTS else None,
        bool(value.get("observed")),
        op.time,
        op.index,
        op.error,
    )


def fault_ops(history: History) -> Iterator[FaultOp]:
    """Every fault op of ``history``, in order."""
    for op in history.nemesis_ops():
        fop = decode(op)
        if fop is not None:
            yield fop


@dataclass(frozen=True)
class FaultWindow:
    """One fault from its start op to its stop op, times in ns of the history's clock (``end`` None: never
    ended). ``value`` is the start op's value as recorded."""

    kind: str
    start: int
    end: int | None
    nodes: tuple[str, ...]
    value: Any
    start_index: int
    effect: str | None = None
    observed: bool = False

    @property
    def label(self) -> str:
        who = ", ".join(self.nodes) if self.nodes else "all"
        return f"{self.kind} {who}"

    def detail(self) -> str:
        """A plain-words description for tooltips: the grudge when there is one."""
        parts = [self.label]
        grudge = self.value.get("grudge") if isinstance(self.value, dict) else None
        if isinstance(grudge, dict) and grudge:
            drops = "; ".join(
                f"{k} drops {', '.join(map(str, v)) or 'none'}"
                for k, v in grudge.items()
                if isinstance(v, (list, tuple))
            )
            if drops:
                parts.append(f"grudge: {drops}")
        if self.observed:
            parts.append("not scheduled: observed by the nemesis's watch, not caused by the harness")
        if self.end is None:
            parts.append("(not ended before the history closed)")
        return " | ".join(parts)


def _window(start: FaultOp, op: Op, end: int | None) -> FaultWindow:
    return FaultWindow(
        start.kind, start.time, end, start.nodes, op.value, start.index, start.effect, start.observed
    )


def fault_windows(history: History) -> tuple[list[FaultWindow], list[Op]]:
    """Pair each start with a stop of its kind (the one with the same nodes, else the oldest open one), in
    order of start; the other nemesis ops (a stop without a start, ``steady-state-failed``) are points."""
    open_: dict[str, list[tuple[FaultOp, Op]]] = {}
    done: list[FaultWindow] = []
    points: list[Op] = []
    for op in history.nemesis_ops():
        fop = decode(op)
        if fop is not None and fop.phase == START:
            open_.setdefault(fop.kind, []).append((fop, op))
        elif fop is not None and open_.get(fop.kind):
            q = open_[fop.kind]
            k = next((i for i, (s, _) in enumerate(q) if fop.nodes and s.nodes == fop.nodes), 0)
            s, s_op = q.pop(k)
            done.append(_window(s, s_op, op.time))
        else:
            points.append(op)
    done.extend(_window(s, s_op, None) for q in open_.values() for s, s_op in q)
    done.sort(key=lambda w: (w.start, w.start_index))
    return done, points
