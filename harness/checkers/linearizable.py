"""The linearizability checker: ``check(history, model=, init=, time_limit=, max_memory_mb=) -> Result``.

Pairs the client ops of the history, lets the model split them into independent parts (P-compositionality),
prepares each op into a hashable ``Call`` and runs the search of ``linsearch`` part by part, smallest first,
under one budget: wall-clock ``time_limit`` in seconds for the whole check, and ``max_memory_mb`` for the
memo of the part being searched. The verdict is false as soon as one part is illegal; parts the budget did not
reach are reported as ``unknown_parts``. Details follow the agreed shape (see docs/checkers.md):

    {"model", "parts", "ops", "failed_part": {"key", "ops", "longest", "stuck_ops", "final_state"} | null,
     "unknown_parts": [keys], "elapsed_s"}

All op numbers in details are the history indices of the invocations.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

from harness.checkers.base import UNKNOWN, Result
from harness.checkers.linsearch import BUDGET, ILLEGAL, Budget, PartOp, frontier, replay, search
from harness.checkers.models import Model, get_model
from harness.history import History, Pair

NAME = "linearizable"
DEFAULT_MAX_MEMORY_MB = 1024


def prepare_part(model: Model, pairs: list[Pair]) -> list[PartOp]:
    """Prepared ops of one part, in invocation order (dropped ops: certain failures, unknown reads)."""
    ops: list[PartOp] = []
    for p in pairs:
        call = model.prepare(p)
        if call is None:
            continue
        done = p.complete.index if call.known and p.complete is not None else None
        ops.append(PartOp(call, p.invoke.index, done, p.invoke.index))
    return ops


def _json_key(key: Hashable) -> Any:
    return list(key) if isinstance(key, tuple) else key


def check(
    history: History,
    model: str | Model = "kv",
    init: Any = None,
    time_limit: float | None = None,
    max_memory_mb: float = DEFAULT_MAX_MEMORY_MB,
    **_options: Any,
) -> Result:
    """Check ``history`` against ``model``; false with a counterexample, unknown when the budget ran out."""
    started = time.monotonic()
    m = get_model(model)
    initial = m.init(init)
    pairs = history.pairs()
    parts = m.partition(pairs)
    prepared = sorted(((k, prepare_part(m, v)) for k, v in parts.items()), key=lambda kv: len(kv[1]))
    budget = Budget(None if time_limit is None else started + time_limit, int(max_memory_mb * (1 << 20)))
    n_ops = sum(len(ops) for _, ops in prepared)
    unknown: list[Any] = []
    failed: dict[str, Any] | None = None
    for n, (key, ops) in enumerate(prepared):
        outcome = search(ops, m.step, initial, budget)
        if outcome.status == BUDGET:
            if budget.deadline is not None and time.monotonic() >= budget.deadline:
                unknown += [_json_key(k) for k, _ in prepared[n:]]  # the time is spent: the rest is undecided
                break
            # Only this part's memo outgrew its memory: a later part may still prove the history illegal,
            # and false beats unknown, so go on.
            unknown.append(_json_key(key))
            continue
        if outcome.status == ILLEGAL:
            failed = _explain(m, key, ops, outcome.longest, initial)
            break
    elapsed = round(time.monotonic() - started, 6)
    details: dict[str, Any] = {
        "model": m.name,
        "parts": len(prepared),
        "ops": n_ops,
        "failed_part": failed,
        "unknown_parts": unknown,
        "elapsed_s": elapsed,
    }
    if failed is not None:
        where = "" if failed["key"] is None else f" for key {failed['key']!r}"
        longest = max((len(x) for x in failed["longest"]), default=0)
        summary = (
            f"Not linearizable{where}: of its {len(failed['ops'])} operations at most {longest} can be "
            f"ordered consistently with model {m.name}; the next could be none of {failed['stuck_ops'][:8]}."
        )
        return Result(NAME, False, summary, details)
    if unknown:
        summary = (
            f"Undecided: the budget (time limit {time_limit} s, memory {max_memory_mb} MB) ran out before "
            f"{len(unknown)} of {len(prepared)} parts were decided."
        )
        return Result(NAME, UNKNOWN, summary, details)
    summary = f"Linearizable: {n_ops} operations in {len(prepared)} parts fit model {m.name}."
    return Result(NAME, True, summary, details)


def _explain(
    m: Model, key: Hashable, ops: list[PartOp], longest: list[list[int]], initial: Hashable
) -> dict[str, Any]:
    """The counterexample of an illegal part: its ops, longest partial linearizations, and the stuck ops."""
    best = longest[0] if longest else []
    final = replay(ops, best, m.step, initial)
    stuck = frontier(ops, set(best))
    return {
        "key": _json_key(key),
        "ops": [op.index for op in ops],
        "longest": [[ops[i].index for i in seq] for seq in longest],
        "stuck_ops": [ops[i].index for i in stuck],
        "final_state": m.describe_state(final),
        "describe": {str(ops[i].index): m.describe_call(ops[i].call) for i in sorted(set(best) | set(stuck))},
    }
