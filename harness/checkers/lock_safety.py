"""The lock-safety checker: ``check(history, **options) -> Result``.

Reads the lock grants (``acquire`` ops completed ``ok`` with a fencing ``token``) and the protected
resource's accepted-write log (the final ``read-resource`` op: ``[{"token", "client", "data", "time",
"seq"}]``) and reports

    overlaps            critical sections of different holders (client, token) interleaved in the log:
                        a's first..last accepted write and b's overlap in ``seq`` order
    token_regressions   an accepted write whose token is lower than the highest token accepted before it
    duplicate_grants    the same token granted by more than one successful acquire (per lock)
    lease_overlaps      a grant made while an earlier grant of the same lock was still leased (service time,
                        ``granted_at`` < the earlier ``expires_at``) and its holder had not released it: the
                        lock service broke mutual exclusion itself, even where fencing hid it at the resource.
                        Also by the harness's own clock, which no fault moves (entries with ``"clock":
                        "harness"``): a grant that completed before an earlier unreleased holder's lease could
                        have run out (its acquire was sent less than ``lease_ms`` earlier) -- what a service
                        whose lease arithmetic trusts a skewed clock does, although its own stamps look fine

Any of them makes the verdict false. A release that completed ``ok`` or ``info`` (it may have happened)
clears its holder, so an unknown outcome never raises a false alarm. Without a ``read-resource`` op only
grants can be checked: the verdict is then unknown unless a duplicate grant or a lease overlap already proves
it false. At most ``max_reported`` (default 200) overlaps are listed; ``overlap_count`` has the total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.checkers.base import UNKNOWN, Details, Result, Validity
from harness.checkers.contract import Checker
from harness.checkers.witness import nodes_of, served_by
from harness.history import History
from harness.wellformed import BadOp

NAME = "lock-safety"
Entry = Mapping[str, Any]


@dataclass(frozen=True)
class LockSafetyDetails(Details):
    """Overlapping critical sections (at most ``max_reported``; ``overlap_count``: all of them, None when the
    resource log was not read), token regressions, duplicate grants, grants inside a running lease, and how
    many grants and accepted writes there were. Entries are JSON objects (see the module docstring)."""

    overlaps: Sequence[Entry] = field(default_factory=list)
    token_regressions: Sequence[Entry] = field(default_factory=list)
    duplicate_grants: Sequence[Entry] = field(default_factory=list)
    lease_overlaps: Sequence[Entry] = field(default_factory=list)
    grants: int | None = None
    writes: int | None = None
    overlap_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "overlaps": list(self.overlaps),
            "token_regressions": list(self.token_regressions),
            "duplicate_grants": list(self.duplicate_grants),
            "lease_overlaps": list(self.lease_overlaps),
            "grants": self.grants,
            "writes": self.writes,
        }
        if self.overlap_count is not None:
            d["overlap_count"] = self.overlap_count
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LockSafetyDetails:
        def entries(key: str) -> list[Entry]:
            return [e for e in d.get(key) or [] if isinstance(e, Mapping)]

        return cls(
            overlaps=entries("overlaps"),
            token_regressions=entries("token_regressions"),
            duplicate_grants=entries("duplicate_grants"),
            lease_overlaps=entries("lease_overlaps"),
            grants=d.get("grants"),
            writes=d.get("writes"),
            overlap_count=d.get("overlap_count"),
        )


def check(history: History, max_reported: int = 200, **_options: Any) -> Result:
    """Overlapping critical sections, token regressions and duplicate grants."""
    pairs = history.pairs()
    grants: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for p in pairs:
        if p.invoke.f == "acquire" and p.type == "ok" and isinstance(p.value, dict):
            _numbers(p.value, ("token", "granted_at", "expires_at"), p.complete or p.invoke, "acquire")
            lock = p.value.get(
                "lock", p.invoke.value.get("lock") if isinstance(p.invoke.value, dict) else None
            )
            grants[(lock, p.value.get("token"))].append(p.invoke.index)
    nodes = served_by(history)
    duplicate_grants = [
        {"token": tok, "lock": lock, "grants": ix, "nodes": nodes_of(nodes, ix)}
        for (lock, tok), ix in grants.items()
        if len(ix) > 1
    ]
    reads = [
        p for p in pairs if p.invoke.f == "read-resource" and p.type == "ok" and isinstance(p.value, list)
    ]
    lease_overlaps = _lease_overlaps(pairs, nodes)
    details = LockSafetyDetails(
        duplicate_grants=duplicate_grants,
        lease_overlaps=lease_overlaps,
        grants=sum(len(ix) for ix in grants.values()),
        writes=0,
    )
    if not reads:
        valid: Validity = False if duplicate_grants or lease_overlaps else UNKNOWN
        summary = (
            (f"{len(duplicate_grants)} tokens granted twice; " if duplicate_grants else "")
            + (f"{len(lease_overlaps)} grants inside a running lease; " if lease_overlaps else "")
            + ("the history has no successful read-resource op, so accepted writes could not be checked.")
        )
        return Result(NAME, valid, summary, details)
    log = [w for w in reads[-1].value if isinstance(w, dict)]
    for w in log:  # compared and sorted below: they must be numbers
        _numbers(w, ("token", "seq"), reads[-1].complete or reads[-1].invoke, "read-resource: a write's")
    log.sort(key=lambda w: w.get("seq", 0))
    regressions = []
    highest: Any = None
    sections: dict[tuple[Any, Any], list[Any]] = {}
    for w in log:
        tok, seq = w.get("token"), w.get("seq")
        if highest is not None and tok is not None and tok < highest:
            regressions.append({"seq": seq, "token": tok, "previous_token": highest})
        if tok is not None and (highest is None or tok > highest):
            highest = tok
        holder = (w.get("client"), tok)
        if holder in sections:
            sections[holder][1] = seq
        else:
            sections[holder] = [seq, seq]
    granted_by = {tok: nodes[ix[0]] for (_, tok), ix in grants.items() if ix and ix[0] in nodes}
    overlaps = _overlaps(sections, granted_by)
    details = replace(
        details,
        writes=len(log),
        overlaps=overlaps[:max_reported],
        overlap_count=len(overlaps),
        token_regressions=regressions,
    )
    valid = not (overlaps or regressions or duplicate_grants or lease_overlaps)
    if valid:
        summary = (
            f"Lock safe: {details.grants} grants, {len(log)} accepted writes; no interleaved holders, "
            f"tokens never went backwards, no token granted twice, no grant inside a running lease."
        )
    else:
        summary = (
            f"Not lock safe: {len(overlaps)} pairs of interleaved critical sections, {len(regressions)} "
            f"accepted writes with an older token, {len(duplicate_grants)} tokens granted twice, "
            f"{len(lease_overlaps)} grants made while another holder's lease was still running."
        )
    return Result(NAME, valid, summary, details)


def _numbers(value: Mapping[str, Any], keys: tuple[str, ...], op: Any, what: str) -> None:
    """The fields ``keys`` of ``value`` are numbers where present (they are compared): else ``BadOp``."""
    for key in keys:
        v = value.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise BadOp(op.index, f"{what} field '{key}' must be a number, got {v!r}")


def _overlaps(sections: dict[tuple[Any, Any], list[Any]], granted_by: dict[Any, str]) -> list[dict[str, Any]]:
    """Pairs of holders whose [first, last] write intervals (by seq) intersect; a sweep over sorted starts."""
    items = sorted(sections.items(), key=lambda kv: kv[1][0])
    out: list[dict[str, Any]] = []
    active: list[tuple[tuple[Any, Any], list[Any]]] = []
    for holder, (first, last) in items:
        active = [a for a in active if a[1][1] > first]
        for other, (ofirst, olast) in active:
            a, b = _holder(other, ofirst, olast, granted_by), _holder(holder, first, last, granted_by)
            out.append({"a": a, "b": b})
        active.append((holder, [first, last]))
    return out


def _holder(holder: tuple[Any, Any], first: Any, last: Any, granted_by: dict[Any, str]) -> dict[str, Any]:
    out = {"process": holder[0], "token": holder[1], "first_write": first, "last_write": last}
    if holder[1] in granted_by:
        out["node"] = granted_by[holder[1]]  # the node that granted this token
    return out


def _lease_overlaps(pairs: list[Any], nodes: dict[int, str]) -> list[dict[str, Any]]:
    """Per lock, consecutive grants (by ``granted_at``) where the later starts inside the earlier lease."""
    released = {
        (p.invoke.process, p.invoke.value.get("token"))
        for p in pairs
        if p.invoke.f == "release" and p.type in ("ok", "info") and isinstance(p.invoke.value, dict)
    }
    by_lock: dict[Any, list[tuple[Any, dict[str, Any], int]]] = defaultdict(list)
    for p in pairs:
        v = p.value
        if p.invoke.f == "acquire" and p.type == "ok" and isinstance(v, dict):
            if isinstance(v.get("granted_at"), (int, float)) and isinstance(
                v.get("expires_at"), (int, float)
            ):
                by_lock[v.get("lock")].append((p.invoke.process, v, p.invoke.index))
    out: list[dict[str, Any]] = []
    for lock, grants in by_lock.items():
        grants.sort(key=lambda g: g[1]["granted_at"])
        for (pa, a, ia), (pb, b, ib) in zip(grants, grants[1:], strict=False):
            if b["granted_at"] < a["expires_at"] and (pa, a.get("token")) not in released:
                first, second = _grant(pa, a, ia, nodes), _grant(pb, b, ib, nodes)
                out.append({"lock": lock, "first": first, "second": second})

    def key(e: dict[str, Any]) -> tuple[Any, Any, Any]:
        return e["lock"], e["first"]["token"], e["second"]["token"]

    seen = {key(e) for e in out}
    return out + [e for e in _real_time_overlaps(pairs, nodes) if key(e) not in seen]


def _real_time_overlaps(pairs: list[Any], nodes: dict[int, str]) -> list[dict[str, Any]]:
    """Grants that completed (harness clock) before the previous holder's lease could have ended: its
    acquire was sent less than ``lease_ms`` earlier and it had not begun to release. The service counts a
    lease from some moment after the acquire was sent, so the lease runs at least until ``sent + lease_ms``;
    a second grant known complete before then, while the holder held on, broke mutual exclusion in real
    time."""
    release_sent: dict[tuple[Any, Any], int] = {}
    for p in pairs:
        if p.invoke.f == "release" and isinstance(p.invoke.value, dict) and p.type in ("ok", "info"):
            key = (p.invoke.process, p.invoke.value.get("token"))
            release_sent[key] = min(release_sent.get(key, p.invoke.time), p.invoke.time)
    by_lock: dict[Any, list[tuple[Any, dict[str, Any], Any]]] = defaultdict(list)
    for p in pairs:
        v = p.value
        if p.invoke.f == "acquire" and p.type == "ok" and isinstance(v, dict) and p.complete is not None:
            lease = v.get("lease_ms")
            if isinstance(lease, (int, float)) and not isinstance(lease, bool):
                by_lock[v.get("lock")].append((p.invoke.process, v, p))
    out: list[dict[str, Any]] = []
    for lock, grants in by_lock.items():
        grants.sort(key=lambda g: g[2].complete.time)
        for i, (pa, a, opa) in enumerate(grants):
            lease_end = opa.invoke.time + int(a["lease_ms"] * 1_000_000)
            held_until = min(lease_end, release_sent.get((pa, a.get("token")), lease_end))
            for pb, b, opb in grants[i + 1 :]:
                if opb.complete.time >= held_until:
                    break
                if pb == pa and b.get("token") == a.get("token"):
                    continue
                out.append(
                    {
                        "lock": lock,
                        "clock": "harness",
                        "first": {**_grant(pa, a, opa.invoke.index, nodes), "sent_ns": opa.invoke.time},
                        "second": {**_grant(pb, b, opb.invoke.index, nodes), "done_ns": opb.complete.time},
                    }
                )
                break
    return out


def _grant(process: Any, v: dict[str, Any], index: int, nodes: dict[int, str]) -> dict[str, Any]:
    return {
        "process": process,
        "token": v.get("token"),
        "granted_at": v.get("granted_at"),
        "expires_at": v.get("expires_at"),
        "op": index,
        **({"node": nodes[index]} if index in nodes else {}),
    }


# --- what this checker declares about itself (harness.checkers.contract) ---------------------------------
def explain(valid: Validity, d: LockSafetyDetails) -> str | None:
    """The verdict in plain words, with the counts of each kind of breach."""
    if valid is True:
        grants, writes = ("?" if n is None else n for n in (d.grants, d.writes))
        return (
            "No two clients held the lock at the same time as seen by the protected resource "
            f"({grants} grants, {writes} accepted writes), fencing tokens never went backwards, and no grant "
            "was made while another holder's lease was still running."
        )
    if valid is False:
        return (
            f"Mutual exclusion failed: {len(d.overlaps)} pair(s) of critical sections overlapped at the "
            f"resource, {len(d.token_regressions)} accepted write(s) carried an older fencing token than one "
            f"before them, {len(d.duplicate_grants)} token(s) were granted more than once, and "
            f"{len(d.lease_overlaps)} grant(s) were made while another holder's lease was still running."
        )
    return None


def named_ops(d: LockSafetyDetails) -> list[int]:
    """The grants of every token granted more than once."""
    return [i for g in d.duplicate_grants for i in g.get("grants") or [] if isinstance(i, int)]


CHECKER = Checker(
    name=NAME, check=check, details=LockSafetyDetails, required=("overlaps", "grants"), explain=explain,
    named_ops=named_ops, view="harness.report.effects_view:lock_view",
)
