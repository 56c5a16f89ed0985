"""The fast path of the linearizability checker for the built-in ``kv`` model, when the native core is built.

A 100,000-op history spends more time in Python objects (pairing, ``Pair``, ``Call``, ``PartOp``) than in the
search. Here one pass over the ops pairs them, splits them by key and encodes each part as integer columns
(op kind, value ids, invoke / completion positions), exactly as ``KvModel.prepare`` would read them; the
native core then prunes, pre-checks and searches each part (``chaos_lin_check_part``, the same rules as
``prune.py``), one thread per core (ctypes releases the GIL during the native call). Parts it proves
linearizable are done; a part it finds illegal is handed back, and the checker explains it with the ordinary
pipeline. Anything unusual (a value that is not a flat JSON scalar, an ``f``
outside read/get/write/put/append/cas, a malformed op) makes ``screen`` return None: the ordinary pipeline
then handles the whole history, with its error messages. A differential test runs both on the corpus and
on generated histories.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.checkers import native
from harness.checkers.linsearch import BUDGET, ILLEGAL, OK, Budget
from harness.checkers.models import MISMATCH, KvModel, Model
from harness.history import History
from harness.op import NEMESIS

_SCALARS = (int, str, float, bool, type(None))
_READS = KvModel.read_fs
_KIND = {"write": native.K_WRITE, "put": native.K_WRITE, "append": native.K_APPEND}
PARALLEL_FROM_OPS = 2000  # below this, starting threads costs more than it saves


class _Unusual(Exception):
    """The history needs the ordinary pipeline."""


def applies(m: Model) -> bool:
    return type(m) is KvModel and native.available()


def screen(
    history: History, m: Model, initial: Hashable, budget: Budget
) -> tuple[list[tuple[Hashable, str, str]], int, int] | None:
    """((key, ok / illegal / budget, limit) per part searched, smallest part first; the number of ops kept;
    the number of parts), or None: use the ordinary pipeline. Parts run side by side on all cores when the
    history is large; once one is illegal the others are stopped (false beats everything)."""
    try:
        parts, values, init_id = _encode(history, initial)
    except _Unusual:
        return None
    lib = native.library()
    if lib is None:
        return None
    strings = any(native.K_APPEND in p[0] for p in parts.values())
    if strings:
        if not all(v is None or isinstance(v, str) for v in values):
            return None
        blobs = [None if v is None else str(v).encode() for v in values]
    else:
        blobs = [k.to_bytes(4, "little") for k in range(len(values))]
    nv = len(blobs)
    blob = b"".join(v or b"" for v in blobs) or b"\0"
    ends: list[int] = []
    total = 0
    for v in blobs:
        total += len(v or b"")
        ends.append(total)
    c_ends = (ctypes.c_uint64 * max(1, nv))(*ends)
    c_none = (ctypes.c_uint8 * max(1, nv))(*[v is None for v in blobs])
    stop = ctypes.c_uint8(0)

    def one(cols: tuple[list[int], ...]) -> int:
        kinds, a, b, known, inv, ret = cols
        n = len(kinds)
        limit_s = -1.0 if budget.deadline is None else max(0.0, budget.deadline - time.monotonic())
        configs = ctypes.c_uint64(0)
        status: int = lib.chaos_lin_check_part(
            n, bytes(kinds), (ctypes.c_uint32 * n)(*a), (ctypes.c_uint32 * n)(*b), bytes(known),
            (ctypes.c_int64 * n)(*inv), (ctypes.c_int64 * n)(*ret),
            nv, blob, c_ends, c_none, init_id, limit_s, budget.max_bytes, ctypes.byref(configs),
            ctypes.byref(stop),
        )  # fmt: skip
        if status == 1:
            stop.value = 1  # false beats everything: the other parts need not finish
        return status

    ordered = sorted(parts.items(), key=lambda kv: len(kv[1][0]))
    workers = min(os.cpu_count() or 1, len(ordered))
    if workers > 1 and sum(len(c[0]) for _, c in ordered) >= PARALLEL_FROM_OPS:
        # ctypes releases the GIL during the native call: parts are searched side by side
        with ThreadPoolExecutor(workers, thread_name_prefix="linsearch") as pool:
            statuses = list(pool.map(one, [cols for _, cols in ordered]))
    else:
        statuses = []
        for _, cols in ordered:
            statuses.append(one(cols))
            if statuses[-1] in (1, 2):  # illegal, or the time is spent: the rest need not run
                break
    out: list[tuple[Hashable, str, str]] = []
    for (key, _), status in zip(ordered, statuses, strict=False):
        if status in (0, 5):  # 5: cancelled because another part is illegal
            out.append((key, OK if status == 0 else BUDGET, "" if status == 0 else "time"))
        elif status == 1:
            out.append((key, ILLEGAL, ""))
        elif status in (2, 3):
            out.append((key, BUDGET, "time" if status == 2 else "memory"))
        else:
            return None
    if any(st == ILLEGAL for _, st, _ in out):
        out = [x for x in out if x[1] != BUDGET or x[2] == "memory"]  # a verdict of false: no time was short
    elif any(st == BUDGET and lim == "time" for _, st, lim in out):
        done = {k for k, _, _ in out}
        out += [(k, BUDGET, "time") for k, _ in ordered if k not in done]  # the time is spent: undecided
    return out, sum(len(cols[0]) for cols in parts.values()), len(parts)


def _flat(v: Any) -> Hashable:
    if not isinstance(v, _SCALARS):
        raise _Unusual
    return v


def _encode(
    history: History, initial: Hashable
) -> tuple[
    dict[Hashable, tuple[list[int], list[int], list[int], list[int], list[int], list[int]]], list[Any], int
]:
    """Pair, partition and encode in one pass (see ``KvModel.prepare``)."""
    ids: dict[Any, int] = {}
    values: list[Any] = []

    def vid(v: Any) -> int:  # equal values (by ==, as the model compares them) share an id
        k = ids.get(v)
        if k is None:
            k = ids[v] = len(values)
            values.append(v)
        return k

    init_id = vid(_flat(initial))
    open_: dict[Any, Any] = {}
    order: list[Any] = []  # invocations in order, each [op, completion]
    for op in history.ops:
        p = op.process
        if p == NEMESIS:
            continue
        if op.type == "invoke":
            if p in open_:
                raise _Unusual  # the ordinary pipeline reports it
            slot = [op, None]
            open_[p] = slot
            order.append(slot)
        else:
            slot = open_.pop(p, None)
            if slot is not None:
                slot[1] = op
    parts: dict[Hashable, tuple[list[int], list[int], list[int], list[int], list[int], list[int]]] = {}
    for inv_op, comp in order:
        v = inv_op.value
        if not isinstance(v, dict) or "key" not in v:
            raise _Unusual
        key = _flat(v["key"])
        cols = parts.get(key)
        if cols is None:  # a part even when all its ops are dropped, as ``KvModel.partition`` makes it
            cols = parts[key] = ([], [], [], [], [], [])
        f = inv_op.f
        t = "info" if comp is None else comp.type
        if f in _READS:
            if t != "ok":
                if t in ("fail", "info"):
                    continue
                raise _Unusual
            cv = comp.value
            kind, x, y, k = native.K_READ, vid(_flat(cv.get("value") if isinstance(cv, dict) else cv)), 0, 1
        elif f == "cas":
            if t == "fail":
                if comp.error != MISMATCH:
                    continue
                kind, k = native.K_CAS_MISMATCH, 1
            elif t == "ok":
                kind, k = native.K_CAS_OK, 1
            else:
                kind, k = native.K_CAS_UNKNOWN, 0
            x, y = vid(_flat(v.get("from"))), vid(_flat(v.get("to")))
        elif f in _KIND:
            if t == "fail":
                continue
            kind, x, y, k = _KIND[f], vid(_flat(v.get("value"))), 0, int(t == "ok")
            if kind == native.K_APPEND and not isinstance(values[x], str):
                raise _Unusual
        else:
            raise _Unusual  # the model reports an unknown f
        cols[0].append(kind)
        cols[1].append(x)
        cols[2].append(y)
        cols[3].append(k)
        cols[4].append(inv_op.index)
        cols[5].append(comp.index if k and comp is not None else -1)
    return parts, values, init_id
