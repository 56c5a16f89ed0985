"""Read-write register analysis: version orders, non-cycle anomalies and ww / wr / rw dependencies.

Each key is a register written with unique values, starting at nil. A read names the one write it saw, so wr
edges are exact; the version order is only partly known: nil comes before every version, and, with the
``wfr_keys`` assumption (as Elle's and adya's option of that name; off by default, because under read
uncommitted a transaction may read a version that commits after its own write), a transaction that read
version v of a key and then wrote w installed w after v. ww edges
join the writers of consecutive known versions; rw edges go from a reader of v to the writers of the
versions known to follow v directly (a reader of nil precedes every writer whose version has no other known
predecessor). Direct checks: internal inconsistency, garbage / aborted (G1a) / intermediate (G1b) reads,
future reads and lost updates (two committed transactions read the same version and both wrote the key).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from harness.checkers.txn.anomaly import Anomaly, unwritten_read
from harness.checkers.txn.graph import RW, WR, WW, Graph
from harness.checkers.txn.txns import Txn, show


class RwRegister:
    def __init__(self, txns: list[Txn], graph: Graph, wfr_keys: bool = False) -> None:
        self.txns = txns
        self.wfr_keys = wfr_keys
        self.anomalies: list[Anomaly] = []
        self.ext_reads: list[dict[Hashable, Any] | None] = [None] * len(txns)
        self.writes: list[dict[Hashable, list[Any]] | None] = [None] * len(txns)
        self.writer: dict[Hashable, dict[Any, int]] = defaultdict(dict)
        self.failed: dict[Hashable, dict[Any, int]] = defaultdict(dict)
        # next_versions[k][v]: versions known to follow v directly (v may be None, the initial version)
        self.next_versions: dict[Hashable, dict[Any, list[Any]]] = defaultdict(lambda: defaultdict(list))
        self._index_txns()
        self._read_checks()
        self._edges(graph)

    def _index_txns(self) -> None:
        for t in self.txns:
            known: dict[Hashable, Any] = {}
            own: dict[Hashable, list[Any]] = {}
            ext: dict[Hashable, Any] = {}
            for f, k, v in t.mops:
                if f == "w":
                    own.setdefault(k, []).append(v)
                    known[k] = v
                    (self.failed if t.type == "fail" else self.writer)[k][v] = t.id
                    continue
                if t.type != "ok":
                    continue
                if k in known:
                    if v != known[k]:
                        self.anomalies.append(
                            Anomaly(
                                "internal",
                                (t.id,),
                                f"{t.name} read {k} = {show(v)} but its own earlier read or write says "
                                f"{show(known[k])}",
                            )
                        )
                else:
                    ext[k] = v
                known[k] = v
            if ext:
                self.ext_reads[t.id] = ext
            if own:
                self.writes[t.id] = own

    def _read_checks(self) -> None:
        lost: dict[tuple[Hashable, Any], list[int]] = defaultdict(list)
        for t in self.txns:
            ext = self.ext_reads[t.id]
            if not ext:
                continue
            own = self.writes[t.id] or {}
            for k, v in ext.items():
                if k in own:
                    lost[(k, v)].append(t.id)
                    if v is not None and v in own[k]:
                        self.anomalies.append(
                            Anomaly(
                                "future-read",
                                (t.id,),
                                f"{t.name} read {k} = {show(v)} before writing it itself",
                            )
                        )
                        continue
                if v is None:
                    continue
                w = self.writer[k].get(v)
                if w is None:
                    f_ = self.failed.get(k, {}).get(v)
                    self.anomalies.append(unwritten_read(t, k, v, v, None if f_ is None else self.txns[f_]))
                    continue
                mine = (self.writes[w] or {}).get(k, [])
                if w != t.id and mine and mine[-1] != v:
                    self.anomalies.append(
                        Anomaly(
                            "G1b",
                            (t.id, w),
                            f"{t.name} read {k} = {show(v)}, an intermediate write of {self.txns[w].name} "
                            f"(which then wrote {show(mine[-1])})",
                        )
                    )
        for (k, v), ids in lost.items():
            if len(ids) > 1:
                a, b = self.txns[ids[0]], self.txns[ids[1]]
                self.anomalies.append(
                    Anomaly(
                        "lost-update",
                        (a.id, b.id),
                        f"{a.name} and {b.name} both read {k} = {show(v)} and both wrote {k}",
                    )
                )

    def _edges(self, g: Graph) -> None:
        has_pred: dict[Hashable, set[Any]] = defaultdict(set)
        for t in self.txns:
            ext = self.ext_reads[t.id] or {}
            own = self.writes[t.id] or {}
            for k, xs in own.items():
                if t.type == "fail" or not self.wfr_keys:
                    continue
                if k in ext and ext[k] is not None and ext[k] in self.writer[k]:
                    self.next_versions[k][ext[k]].append(xs[-1])
                    has_pred[k].add(xs[-1])
            for k, v in ext.items():
                if v is not None:
                    w = self.writer[k].get(v)
                    if w is not None:
                        g.add(w, t.id, WR)
        for k, writers in self.writer.items():
            roots = [x for x in writers if x not in has_pred[k]]
            if roots:
                self.next_versions[k][None] = roots
            for v, nxt in self.next_versions[k].items():
                if v is not None:
                    for x in nxt:
                        g.add(writers[v], writers[x], WW)
        for t in self.txns:
            for k, v in (self.ext_reads[t.id] or {}).items():
                writers = self.writer[k]
                for x in self.next_versions[k].get(v, ()) if k in self.next_versions else ():
                    w = writers.get(x)
                    if w is not None and (v is not None or self.txns[w].type == "ok"):
                        g.add(t.id, w, RW)

    def explain(self, a: int, b: int, kind: int) -> str:
        ta, tb = self.txns[a], self.txns[b]
        if kind == WR:
            for k, v in (self.ext_reads[b] or {}).items():
                if v is not None and self.writer[k].get(v) == a:
                    return f"{tb.name} read {k} = {show(v)}, which {ta.name} wrote: wr"
        if kind == WW:
            for k, xs in (self.writes[b] or {}).items():
                v = (self.ext_reads[b] or {}).get(k)
                if v is not None and self.writer[k].get(v) == a:
                    return (
                        f"{tb.name} read {k} = {show(v)} written by {ta.name} and then wrote "
                        f"{show(xs[-1])} over it: ww"
                    )
        if kind == RW:
            for k, v in (self.ext_reads[a] or {}).items():
                for x in (self.writes[b] or {}).get(k, []):
                    if x in self.next_versions[k].get(v, ()):
                        was = "the initial nil" if v is None else show(v)
                        return (
                            f"{ta.name} read {k} = {was} without {tb.name}'s write of {show(x)}, which "
                            f"{tb.name} installed after {was}: rw"
                        )
        return f"{ta.name} -> {tb.name}"
