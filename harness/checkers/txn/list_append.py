"""List-append analysis: version orders, non-cycle anomalies and ww / wr / rw dependencies.

Each key holds a list that transactions append unique values to, so a read of the list reveals the order of
every version up to it: the longest read of a key is its version order, and every other read must be a prefix
of it. From that order come the direct checks (duplicate elements, incompatible orders, garbage / aborted /
intermediate reads, dirty updates, lost updates, future reads, internal inconsistency) and the dependency
edges: ww between consecutive appends of different transactions, wr from the appender of a read's last
element to the reader, rw from a reader to the appender of the element right after what it read. A committed
append that no read shows must come after the whole observed order, so it gets ww from the last observed
appender and rw from the transactions that read the whole observed order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from harness.checkers.txn.anomaly import Anomaly, unwritten_read
from harness.checkers.txn.graph import RW, WR, WW, Graph
from harness.checkers.txn.txns import Txn, show


class ListAppend:
    """The analysis of one history; ``anomalies`` and the edges added to ``graph`` are its results."""

    def __init__(self, txns: list[Txn], graph: Graph) -> None:
        self.txns = txns
        self.anomalies: list[Anomaly] = []
        self.ext_reads: list[dict[Hashable, list[Any]] | None] = [None] * len(txns)
        self.appends: list[dict[Hashable, list[Any]] | None] = [None] * len(txns)
        self.writer: dict[Hashable, dict[Any, int]] = defaultdict(dict)
        self.failed: dict[Hashable, dict[Any, int]] = defaultdict(dict)
        self.order: dict[Hashable, list[Any]] = {}
        self.pos: dict[Hashable, dict[Any, int]] = {}
        self._index_txns()
        self._version_orders()
        self._read_checks()
        self._edges(graph)

    # --- indexing and per-transaction checks -------------------------------------------------------------
    def _index_txns(self) -> None:
        for t in self.txns:
            known: dict[Hashable, list[Any]] = {}
            own: dict[Hashable, list[Any]] = {}
            ext: dict[Hashable, list[Any]] = {}
            for f, k, v in t.mops:
                if f == "append":
                    own.setdefault(k, []).append(v)
                    if k in known:
                        known[k] = known[k] + [v]
                    (self.failed if t.type == "fail" else self.writer)[k][v] = t.id
                    continue
                if t.type != "ok":
                    continue
                got: list[Any] = v if v is not None else []
                if k in known:
                    if got != known[k]:
                        self._internal(t, k, got, known[k])
                elif k in own:
                    mine = own[k]
                    if got[len(got) - len(mine) :] != mine:
                        self._internal(t, k, got, None, mine)
                else:
                    ext[k] = got
                known[k] = got
            if ext:
                self.ext_reads[t.id] = ext
            if own:
                self.appends[t.id] = own

    def _internal(self, t: Txn, k: Hashable, got: Any, expect: Any, mine: Any = None) -> None:
        want = f"{show(expect)}" if expect is not None else f"a list ending in its own appends {show(mine)}"
        self.anomalies.append(
            Anomaly("internal", (t.id,), f"{t.name} read {k} = {show(got)} but expected {want}")
        )

    def _version_orders(self) -> None:
        longest: dict[Hashable, tuple[list[Any], int]] = {}
        for t in self.txns:
            if t.type != "ok":
                continue
            for f, k, v in t.mops:
                if f == "r" and v and (k not in longest or len(v) > len(longest[k][0])):
                    longest[k] = (v, t.id)
        for k, (lst, reader) in longest.items():
            if len(set(lst)) != len(lst):
                seen: set[Any] = set()
                dup = next(x for x in lst if x in seen or seen.add(x))  # type: ignore[func-returns-value]
                t = self.txns[reader]
                self.anomalies.append(
                    Anomaly("duplicate-elements", (reader,), f"{t.name} read {k} = {show(lst)}: {dup} twice")
                )
                lst = list(dict.fromkeys(lst))
            self.order[k] = lst
            self.pos[k] = {x: i for i, x in enumerate(lst)}
            self._own_order(k, lst, reader)
        self._longest_reader = {k: r for k, (_, r) in longest.items()}

    def _own_order(self, k: Hashable, order: list[Any], reader: int) -> None:
        """Each transaction's appends to ``k`` must show up in the order it made them, none skipped."""
        seen: dict[int, int] = {}
        writers = self.writer.get(k, {})
        for x in order:
            w = writers.get(x)
            if w is None:
                continue
            n = seen.get(w, 0)
            mine = (self.appends[w] or {}).get(k, [])
            if n < len(mine) and mine[n] != x:
                t, u = self.txns[reader], self.txns[w]
                self.anomalies.append(
                    Anomaly(
                        "incompatible-order",
                        (reader, w),
                        f"{t.name} read {k} = {show(order)}, with {u.name}'s append of {x} "
                        f"but not its earlier append of {mine[n]} before it",
                    )
                )
                return
            seen[w] = n + 1

    def _read_checks(self) -> None:
        lost: dict[tuple[Hashable, int], list[int]] = defaultdict(list)
        incompatible: set[Hashable] = set()
        dirty_done: set[Hashable] = set()
        for t in self.txns:
            if t.type != "ok":
                continue
            own_all = self.appends[t.id] or {}
            for f, k, v in t.mops:
                if f != "r" or not v:
                    continue
                order = self.order[k]
                if (
                    k not in incompatible
                    and (len(v) > len(order) or order[: len(v)] != v)
                    and len(set(v)) == len(v)
                ):
                    incompatible.add(k)
                    o = self.txns[self._longest_reader[k]]
                    self.anomalies.append(
                        Anomaly(
                            "incompatible-order",
                            (t.id, o.id),
                            f"{t.name} read {k} = {show(v)} but {o.name} read {k} = {show(order)}",
                        )
                    )
                    self._check_elements(t, k, v, False)
                else:
                    self._check_elements(t, k, v, t.id != self._longest_reader[k])
            ext = self.ext_reads[t.id] or {}
            for k, v in ext.items():
                mine = own_all.get(k)
                if mine:
                    lost[(k, len(v))].append(t.id)
                    early = [x for x in v if x in mine]
                    if early:
                        self.anomalies.append(
                            Anomaly(
                                "future-read",
                                (t.id,),
                                f"{t.name} read {k} = {show(v)}, holding {early[0]} it only appends later",
                            )
                        )
        for (k, n), ids in lost.items():
            if len(ids) > 1:
                a, b = self.txns[ids[0]], self.txns[ids[1]]
                seen = show(self.order.get(k, [])[:n])
                self.anomalies.append(
                    Anomaly(
                        "lost-update",
                        (a.id, b.id),
                        f"{a.name} and {b.name} both read {k} = {seen} and both appended to {k}",
                    )
                )
        for k, order in self.order.items():
            if k in dirty_done:
                continue
            bad = self.failed.get(k, {})
            for i in range(len(order) - 1):
                if order[i] in bad and order[i + 1] in self.writer[k]:
                    w = self.txns[self.writer[k][order[i + 1]]]
                    if w.type != "ok":
                        continue
                    f_ = self.txns[bad[order[i]]]
                    self.anomalies.append(
                        Anomaly(
                            "dirty-update",
                            (f_.id, w.id),
                            f"{w.name} appended {order[i + 1]} to {k} right after {order[i]} "
                            f"from {f_.name}, which failed",
                        )
                    )
                    dirty_done.add(k)
                    break

    def _check_elements(self, t: Txn, k: Hashable, v: list[Any], last_only: bool) -> None:
        """Every element of the longest read (which holds every compatible read's elements) must have been
        appended by a transaction that did not fail; the last element of every read must be a final append."""
        writers, failed = self.writer[k], self.failed.get(k, {})
        for i in range(len(v) - 1 if last_only else 0, len(v)):
            x = v[i]
            w = writers.get(x)
            if w is None:
                by = self.txns[failed[x]] if x in failed else None
                self.anomalies.append(unwritten_read(t, k, v, x, by))
                return
            if i == len(v) - 1 and w != t.id:
                mine = (self.appends[w] or {}).get(k, [])
                if mine and mine[-1] != x:
                    u = self.txns[w]
                    self.anomalies.append(
                        Anomaly(
                            "G1b",
                            (t.id, w),
                            f"{t.name} read {k} = {show(v)}, ending at {x}, an intermediate append of "
                            f"{u.name} "
                            f"(which then appended {mine[-1]})",
                        )
                    )

    # --- dependency edges ------------------------------------------------------------------------------
    def _edges(self, g: Graph) -> None:
        txns = self.txns
        full_readers: dict[Hashable, list[int]] = defaultdict(list)
        for t in txns:
            ext = self.ext_reads[t.id]
            if not ext:
                continue
            if len(t.mops) > len(ext):  # a later read of a key may show a write the first did not: wr too
                for f, k, v in t.mops:
                    if f == "r" and v and (w := self.writer[k].get(v[-1])) is not None:
                        g.add(w, t.id, WR)
            for k, v in ext.items():
                order = self.order.get(k, [])
                writers = self.writer[k]
                if v:
                    w = writers.get(v[-1])
                    if w is not None:
                        g.add(w, t.id, WR)
                i = self._next_index(k, v)
                if i < len(order):
                    w = writers.get(order[i])
                    if w is not None:
                        g.add(t.id, w, RW)
                else:
                    full_readers[k].append(t.id)
        for k, order in self.order.items():
            writers = self.writer[k]
            prev = None
            for x in order:
                w = writers.get(x)
                if w is not None and prev is not None:
                    g.add(prev, w, WW)
                if w is not None:
                    prev = w
        for k, writers in self.writer.items():
            pos = self.pos.get(k, {})
            order = self.order.get(k, [])
            last = writers.get(order[-1]) if order else None
            for x, w in writers.items():
                if x in pos or txns[w].type != "ok" or w == last:
                    continue
                if last is not None:
                    g.add(last, w, WW)
                for r in full_readers.get(k, ()):
                    g.add(r, w, RW)

    def _next_index(self, k: Hashable, v: list[Any]) -> int:
        """Where the first version the read ``v`` did not see sits in the order of ``k``. Versions are what
        transactions install, so further appends by the writer of the read's last element (which make that
        read an intermediate one, G1b) are skipped rather than counted as versions the reader missed."""
        if not v:
            return 0
        order, writers = self.order.get(k, []), self.writer[k]
        i = self.pos.get(k, {}).get(v[-1], -1) + 1
        w = writers.get(v[-1])
        while i < len(order) and w is not None and writers.get(order[i]) == w:
            i += 1
        return i

    # --- explanations ----------------------------------------------------------------------------------
    def explain(self, a: int, b: int, kind: int) -> str:
        ta, tb = self.txns[a], self.txns[b]
        if kind == WW:
            for k, xs in (self.appends[a] or {}).items():
                ys = (self.appends[b] or {}).get(k)
                if not ys:
                    continue
                pos = self.pos.get(k, {})
                for y in ys:
                    j = pos.get(y)
                    if j is None and xs[-1] in pos and pos[xs[-1]] == len(self.order[k]) - 1:
                        return (
                            f"{ta.name} appended {xs[-1]} to {k}, the last element any read shows, and "
                            f"{tb.name}'s committed append of {y} must come after it: ww"
                        )
                    if j is not None and j > 0 and self.order[k][j - 1] in xs:
                        return (
                            f"{ta.name} appended {self.order[k][j - 1]} to {k} and {tb.name} appended "
                            f"{y} right after it: ww"
                        )
        if kind == WR:
            for f, k, v in tb.mops:
                if f == "r" and v and self.writer[k].get(v[-1]) == a:
                    return (
                        f"{tb.name} read {k} = {show(v)}, whose last element {v[-1]} {ta.name} appended: wr"
                    )
        if kind == RW:
            for k, v in (self.ext_reads[a] or {}).items():
                ys = (self.appends[b] or {}).get(k)
                if not ys:
                    continue
                i = self._next_index(k, v)
                order = self.order.get(k, [])
                if i < len(order) and order[i] in ys:
                    after = f"after {v[-1]}" if v else "as the first element"
                    return (
                        f"{ta.name} read {k} = {show(v)} without {tb.name}'s append of {order[i]}, which "
                        f"{tb.name} installed {after}: rw"
                    )
                if i >= len(order):
                    return (
                        f"{ta.name} read {k} = {show(v)}, the longest any read shows, without "
                        f"{tb.name}'s committed append of {ys[0]}: rw"
                    )
        return f"{ta.name} -> {tb.name}"
