"""Lease analysis of a lock history: grants made while an earlier holder's lease was still running.

``harness.checkers.lock_safety`` judges the protected resource's log (interleaved holders, token regressions)
and duplicate tokens. A fenced resource hides an ``early-grant`` bug completely -- the older holder's later
writes are simply refused -- so the lock service's own mutual exclusion is judged here, on the grants: two
grants of one lock whose lease intervals (service time) intersect while the first holder had not released.
A release that completed ``ok`` or ``info`` (it may have happened) clears the first holder.
"""

from __future__ import annotations

from typing import Any

from harness.history import History


def early_grants(history: History) -> list[tuple[Any, Any]]:
    """Grants made while an earlier grant's lease still ran and its holder had not released it.

    A fenced resource hides an early grant (the older holder's later writes are refused), so this property of
    the lock service itself is checked on the grants; ``harness.checkers.lock_safety`` checks the resource.
    """
    pairs = history.pairs()
    grants = [(p.invoke.process, p.value) for p in pairs if p.invoke.f == "acquire" and p.type == "ok"]
    released = {
        (p.invoke.process, p.invoke.value["token"])
        for p in pairs
        if p.invoke.f == "release" and p.type in ("ok", "info")
    }
    found = []
    for lock in {g["lock"] for _, g in grants}:
        mine = sorted(
            ((proc, g) for proc, g in grants if g["lock"] == lock), key=lambda pg: pg[1]["granted_at"]
        )
        for (pa, a), (_, b) in zip(mine, mine[1:], strict=False):
            if b["granted_at"] < a["expires_at"] and (pa, a["token"]) not in released:
                found.append((a["token"], b["token"]))
    return found
