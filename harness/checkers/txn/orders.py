"""Real-time and process order between transactions, as sparse edges.

Process order: each committed transaction precedes the next transaction its process invoked. Real-time
order: a transaction that completed before another was invoked precedes it. Only the immediate predecessors
are linked (a transaction invoked after T1 completed is linked from T1 unless some T2 with T1 < T2 completed
before too), so the edges grow with the history times its concurrency, not quadratically. A transaction
that never completed (info) precedes nothing.
"""

from __future__ import annotations

from harness.checkers.txn.graph import PROCESS, REALTIME, Graph
from harness.checkers.txn.txns import Txn


def add_process_edges(txns: list[Txn], g: Graph) -> None:
    last: dict[object, int] = {}
    for t in txns:  # invocation order
        prev = last.get(t.process)
        if prev is not None and txns[prev].type == "ok":
            g.add(prev, t.id, PROCESS)
        last[t.process] = t.id


def add_realtime_edges(txns: list[Txn], g: Graph) -> None:
    events: list[tuple[int, int, int]] = []  # (op index, 0 = invoke / 1 = complete, txn id)
    for t in txns:
        if t.type == "fail":
            continue
        events.append((t.index, 0, t.id))
        if t.type == "ok" and t.complete_index is not None:
            events.append((t.complete_index, 1, t.id))
    events.sort()
    frontier: set[int] = set()
    preds: dict[int, list[int]] = {}
    for _, kind, i in events:
        if kind == 0:
            preds[i] = list(frontier)
            for p in preds[i]:
                g.add(p, i, REALTIME)
        else:
            frontier.difference_update(preds.pop(i, ()))
            frontier.add(i)


def explain_order(txns: list[Txn], a: int, b: int, kind: int) -> str:
    ta, tb = txns[a], txns[b]
    if kind == PROCESS:
        return f"{ta.name} completed on process {ta.process} before the same process began {tb.name}: process"
    return f"{ta.name} completed (op {ta.complete_index}) before {tb.name} began (op {tb.index}): realtime"
