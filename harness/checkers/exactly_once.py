"""The exactly-once checker for queues: ``check(history, **options) -> Result``.

Reads the producers' ``send`` ops (``value["msg"]`` is the logical message id) and the final ``read-effects``
op (the list of effects the consumers applied), and optionally ``read-deliveries`` (the broker's delivery
events, attached as a per-message ``trail``). A logical message may be sent several times (retries); its send
outcome is ``ok`` if any send was acknowledged, else ``info`` if any was unknown, else ``fail``. Effects are
counted per logical message, so a buggy producer's re-send under a fresh broker id still counts.

    lost         acknowledged but never applied              -> false
    duplicated   applied more than once                      -> false
    unexpected   applied but never sent, or its send failed  -> false (a fail must mean "not enqueued")
    recovered    send outcome unknown and applied once       -> allowed

Without an ``ok`` ``read-effects`` op nothing can be decided: the verdict is unknown (details: ``counts``
only). Details are ``ExactlyOnceDetails``; each entry of a list is a JSON object (``msg``, ``send_index`` or
``count`` / ``effects``, and the delivery ``trail`` when the history has one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import UNKNOWN, Details, Result, Validity
from harness.checkers.contract import Checker
from harness.history import History, Pair
from harness.wellformed import BadOp

NAME = "exactly-once"
_RANK = {"ok": 2, "info": 1, "fail": 0}
Entry = Mapping[str, Any]


@dataclass(frozen=True)
class ExactlyOnceDetails(Details):
    """Lost, duplicated, unexpected and recovered messages, and the counts; ``decided`` False: no successful
    ``read-effects`` op, so only the send counts are known (the lists are then not written)."""

    counts: Mapping[str, int]
    lost: Sequence[Entry] = field(default_factory=list)
    duplicated: Sequence[Entry] = field(default_factory=list)
    unexpected: Sequence[Entry] = field(default_factory=list)
    recovered: Sequence[Entry] = field(default_factory=list)
    decided: bool = True

    def to_dict(self) -> dict[str, Any]:
        if not self.decided:
            return {"counts": dict(self.counts)}
        return {
            "lost": list(self.lost),
            "duplicated": list(self.duplicated),
            "unexpected": list(self.unexpected),
            "recovered": list(self.recovered),
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExactlyOnceDetails:
        def entries(key: str) -> list[Entry]:
            return [e for e in d.get(key) or [] if isinstance(e, Mapping)]

        counts = d.get("counts")
        return cls(
            counts=dict(counts) if isinstance(counts, Mapping) else {},
            lost=entries("lost"),
            duplicated=entries("duplicated"),
            unexpected=entries("unexpected"),
            recovered=entries("recovered"),
            decided=any(k in d for k in ("lost", "duplicated", "unexpected", "recovered")),
        )


def _final_read(pairs: list[Pair], f: str) -> list[dict[str, Any]] | None:
    reads = [p for p in pairs if p.invoke.f == f and p.type == "ok"]
    if not reads:
        return None
    value = reads[-1].value
    if not isinstance(value, list):
        op = reads[-1].complete or reads[-1].invoke
        raise BadOp(op.index, f"the value of {f} must be a list of objects, got {type(value).__name__}")
    return [e for e in value if isinstance(e, dict)]


def check(history: History, **_options: Any) -> Result:
    """Lost, duplicated, unexpected and recovered messages of a queue run."""
    pairs = history.pairs()
    status: dict[Any, str] = {}
    send_index: dict[Any, int] = {}
    counts = {"sent_ok": 0, "sent_info": 0, "sent_fail": 0, "applied": 0, "messages": 0}
    for p in pairs:
        if p.invoke.f != "send" or not isinstance(p.invoke.value, dict):
            continue
        msg = p.invoke.value.get("msg")
        t = p.type
        counts[f"sent_{t}"] += 1
        if msg not in status or _RANK[t] > _RANK[status[msg]]:
            status[msg] = t
            send_index[msg] = p.invoke.index
    effects = _final_read(pairs, "read-effects")
    if effects is None:
        return Result(
            NAME,
            UNKNOWN,
            "Undecided: the history has no successful read-effects op, so what the "
            "consumers applied is not known.",
            ExactlyOnceDetails(counts, decided=False),
        )
    applied: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for e in effects:
        applied[e.get("msg")].append(e)
    counts["applied"] = len(effects)
    counts["messages"] = len(set(status) | set(applied))
    lost = [
        {"msg": m, "send_index": send_index[m]} for m, s in status.items() if s == "ok" and not applied.get(m)
    ]
    duplicated = [{"msg": m, "count": len(es), "effects": es} for m, es in applied.items() if len(es) > 1]
    unexpected = [{"msg": m, "effects": es} for m, es in applied.items() if status.get(m, "fail") == "fail"]
    recovered = [
        {"msg": m, "send_index": send_index[m]}
        for m, s in status.items()
        if s == "info" and len(applied[m]) == 1
    ]
    counts.update(
        lost=len(lost), duplicated=len(duplicated), unexpected=len(unexpected), recovered=len(recovered)
    )
    deliveries = _final_read(pairs, "read-deliveries")
    if deliveries is not None:
        trail: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for d in deliveries:
            trail[d.get("msg")].append(d)
        for entry in (*lost, *duplicated, *unexpected):
            entry["trail"] = trail.get(entry["msg"], [])
    valid = not (lost or duplicated or unexpected)
    if valid:
        summary = (
            f"Exactly once: all {counts['sent_ok']} acknowledged sends were applied once; "
            f"{len(recovered)} sends with unknown outcome were applied (allowed)."
        )
    else:
        summary = (
            f"Not exactly once: {len(lost)} acknowledged messages lost, {len(duplicated)} applied more "
            f"than once, {len(unexpected)} applied but never (successfully) sent."
        )
    return Result(NAME, valid, summary, ExactlyOnceDetails(counts, lost, duplicated, unexpected, recovered))


# --- what this checker declares about itself (harness.checkers.contract) ---------------------------------
def explain(valid: Validity, d: ExactlyOnceDetails) -> str | None:
    """The verdict in plain words, with the counts."""
    counts = d.counts
    if valid is True:
        return (
            f"Every message the broker acknowledged was applied exactly once ({counts.get('applied', '?')} "
            f"effects, {counts.get('sent_ok', '?')} acknowledged sends, {counts.get('sent_info', 0)} with "
            "unknown outcome): nothing was lost, duplicated or invented."
        )
    if valid is False:
        return (
            f"Effects were not applied exactly once: {len(d.lost)} acknowledged message(s) were lost, "
            f"{len(d.duplicated)} were applied more than once and {len(d.unexpected)} were applied although "
            "no send of them could have succeeded. The tables below list each with its delivery trail."
        )
    return None


def named_ops(d: ExactlyOnceDetails) -> list[int]:
    """The sends of the lost and the recovered messages."""
    return [e["send_index"] for e in (*d.lost, *d.recovered) if isinstance(e.get("send_index"), int)]


CHECKER = Checker(
    name=NAME, check=check, details=ExactlyOnceDetails, required=("counts",), explain=explain,
    named_ops=named_ops, view="harness.report.effects_view:exactly_once_view",
)
