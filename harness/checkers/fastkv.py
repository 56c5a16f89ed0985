"""The fast path of the linearizability checker for the built-in ``kv`` model, when the native core is built.

A 100,000-op history spends more time in Python objects (pairing, ``Pair``, ``Call``, ``PartOp``) than in the
search. Here one pass over the ops pairs them, splits them by key and encodes each part as integer columns
(op kind, value ids, invoke / completion positions), exactly as ``KvModel.prepare`` would read them; the
native core then prunes, pre-checks and searches every part in one call (``chaos_lin_check_parts``, the
same rules as ``prune.py``), on std::threads in the native core, a few per core so that the parts race
(ctypes releases the GIL meanwhile). Parts it proves linearizable are done; of the illegal parts, the one
whose search decides it in the fewest steps (ties: the smaller part) is handed back, the same whichever
thread finishes first, and the checker explains it with the ordinary pipeline. Anything unusual (a value that
is not a flat JSON scalar, an ``f`` outside read/get/write/put/append/cas, a malformed op) makes ``screen``
return None: the ordinary pipeline then handles the whole history, with its error messages. A differential
test runs both on the corpus and on generated histories.
"""

from __future__ import annotations

import ctypes
import itertools
import time
from array import array
from collections.abc import Hashable
from typing import Any

from harness.checkers import native
from harness.checkers.linsearch import BUDGET, ILLEGAL, OK, Budget
from harness.checkers.models import MISMATCH, KvModel, Model
from harness.history import History
from harness.op import NEMESIS

_SCALARS = (int, str, float, bool, type(None))
_READS = KvModel.read_fs
_KIND = {"write": native.K_WRITE, "put": native.K_WRITE, "append": native.K_APPEND}
PARALLEL_FROM_OPS = 2000  # ops; below this, starting threads costs more than it saves


class _Unusual(Exception):
    """The history needs the ordinary pipeline."""


def applies(m: Model) -> bool:
    return type(m) is KvModel and native.available()


def screen(
    history: History, m: Model, initial: Hashable, budget: Budget, threads: int | None = None
) -> tuple[list[tuple[Hashable, str, str]], int, int] | None:
    """((key, ok / illegal / budget, limit) per part searched, smallest part first; the number of ops kept;
    the number of parts), or None: use the ordinary pipeline. Parts run side by side on all cores when the
    history is large (``threads``: that many threads instead; 0: the library's choice); once one is illegal,
    the parts that cannot be decided in fewer steps are stopped (false beats everything) and not listed."""
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
    ends = array("Q", itertools.accumulate(len(v or b"") for v in blobs))
    none = array("B", (v is None for v in blobs))
    ordered = sorted(parts.items(), key=lambda kv: len(kv[1][0]))  # smallest first; ties: first seen first
    cols = [array(code, itertools.chain.from_iterable(c[k] for _, c in ordered)) for k, code in _CODES]
    part_ends = array("Q", itertools.accumulate(len(c[0]) for _, c in ordered))
    n_parts = len(ordered)
    total = len(cols[0])
    # one native call: its threads (std::thread) search the parts side by side; a small history on one
    if threads is None:
        threads = 0 if total >= PARALLEL_FROM_OPS else 1
    statuses = array("i", bytes(4 * max(1, n_parts)))
    configs = array("Q", bytes(8 * max(1, n_parts)))
    limit_s = -1.0 if budget.deadline is None else max(0.0, budget.deadline - time.monotonic())
    lib.chaos_lin_check_parts(
        n_parts, _ptr(part_ends, ctypes.c_uint64), cols[0].tobytes(), _ptr(cols[1], ctypes.c_uint32),
        _ptr(cols[2], ctypes.c_uint32), cols[3].tobytes(), _ptr(cols[4], ctypes.c_int64),
        _ptr(cols[5], ctypes.c_int64), nv, blob, _ptr(ends, ctypes.c_uint64), _ptr(none, ctypes.c_uint8),
        init_id, limit_s, budget.max_bytes, threads, _ptr(statuses, ctypes.c_int32),
        _ptr(configs, ctypes.c_uint64),
    )  # fmt: skip
    out: list[tuple[Hashable, str, str]] = []
    for (key, _), status in zip(ordered, statuses, strict=False):
        if status == 0:
            out.append((key, OK, ""))
        elif status == 1:
            out.append((key, ILLEGAL, ""))
        elif status in (2, 3):
            out.append((key, BUDGET, "time" if status == 2 else "memory"))
        elif status != 5:  # 5: not needed, another part is proved illegal in fewer steps
            return None
    if any(st == ILLEGAL for _, st, _ in out):
        out = [x for x in out if x[1] != BUDGET or x[2] == "memory"]  # a verdict of false: no time was short
    return out, total, n_parts


# per column of ``_encode``'s parts: its array type code (kinds, a, b, known, inv, ret)
_CODES = ((0, "B"), (1, "I"), (2, "I"), (3, "B"), (4, "q"), (5, "q"))


def _ptr(arr: array[Any], ctype: Any) -> Any:
    """A ctypes pointer into ``arr``'s buffer (no copy; ``arr`` must outlive the call)."""
    if not arr:
        return (ctype * 1)()
    return ctypes.cast(arr.buffer_info()[0], ctypes.POINTER(ctype))


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
