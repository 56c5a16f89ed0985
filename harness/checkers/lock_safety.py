"""The lock-safety checker: ``check(history, **options) -> Result``.

Reads the lock grants (``acquire`` ops completed ``ok`` with a fencing ``token``) and the protected
resource's accepted-write log (the final ``read-resource`` op: ``[{"token", "client", "data", "time",
"seq"}]``) and reports

    overlaps            critical sections of different holders (client, token) interleaved in the log:
                        a's first..last accepted write and b's overlap in ``seq`` order
    token_regressions   an accepted write whose token is lower than the highest token accepted before it
    duplicate_grants    the same token granted by more than one successful acquire (per lock)

Any of them makes the verdict false. Without a ``read-resource`` op only grants can be checked: the verdict is
then unknown unless a duplicate grant already proves it false. At most ``max_reported`` (default 200) overlaps
are listed; ``overlap_count`` has the total.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.checkers.base import UNKNOWN, Result, Validity
from harness.history import History

NAME = "lock-safety"


def check(history: History, max_reported: int = 200, **_options: Any) -> Result:
    """Overlapping critical sections, token regressions and duplicate grants."""
    pairs = history.pairs()
    grants: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for p in pairs:
        if p.invoke.f == "acquire" and p.type == "ok" and isinstance(p.value, dict):
            lock = p.value.get(
                "lock", p.invoke.value.get("lock") if isinstance(p.invoke.value, dict) else None
            )
            grants[(lock, p.value.get("token"))].append(p.invoke.index)
    duplicate_grants = [
        {"token": tok, "lock": lock, "grants": ix} for (lock, tok), ix in grants.items() if len(ix) > 1
    ]
    reads = [
        p for p in pairs if p.invoke.f == "read-resource" and p.type == "ok" and isinstance(p.value, list)
    ]
    details: dict[str, Any] = {
        "overlaps": [],
        "token_regressions": [],
        "duplicate_grants": duplicate_grants,
        "grants": sum(len(ix) for ix in grants.values()),
        "writes": 0,
    }
    if not reads:
        valid: Validity = False if duplicate_grants else UNKNOWN
        summary = (f"{len(duplicate_grants)} tokens granted twice; " if duplicate_grants else "") + (
            "the history has no successful read-resource op, so accepted writes could not be checked."
        )
        return Result(NAME, valid, summary, details)
    log = sorted((w for w in reads[-1].value if isinstance(w, dict)), key=lambda w: w.get("seq", 0))
    details["writes"] = len(log)
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
    overlaps = _overlaps(sections)
    details["overlaps"] = overlaps[:max_reported]
    details["overlap_count"] = len(overlaps)
    details["token_regressions"] = regressions
    valid = not (overlaps or regressions or duplicate_grants)
    if valid:
        summary = (
            f"Lock safe: {details['grants']} grants, {len(log)} accepted writes; no interleaved holders, "
            f"tokens never went backwards, no token granted twice."
        )
    else:
        summary = (
            f"Not lock safe: {len(overlaps)} pairs of interleaved critical sections, {len(regressions)} "
            f"accepted writes with an older token, {len(duplicate_grants)} tokens granted twice."
        )
    return Result(NAME, valid, summary, details)


def _overlaps(sections: dict[tuple[Any, Any], list[Any]]) -> list[dict[str, Any]]:
    """Pairs of holders whose [first, last] write intervals (by seq) intersect; a sweep over sorted starts."""
    items = sorted(sections.items(), key=lambda kv: kv[1][0])
    out: list[dict[str, Any]] = []
    active: list[tuple[tuple[Any, Any], list[Any]]] = []
    for holder, (first, last) in items:
        active = [a for a in active if a[1][1] > first]
        for other, (ofirst, olast) in active:
            out.append({"a": _holder(other, ofirst, olast), "b": _holder(holder, first, last)})
        active.append((holder, [first, last]))
    return out


def _holder(holder: tuple[Any, Any], first: Any, last: Any) -> dict[str, Any]:
    return {"process": holder[0], "token": holder[1], "first_write": first, "last_write": last}
