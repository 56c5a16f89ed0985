"""Transactions read once from a history: the indexed form every transactional analysis works on.

An op with ``f == "txn"`` carries a list of micro-ops: ``["append", k, v]`` / ``["r", k, [v ...] or null]``
(list-append) or ``["w", k, v]`` / ``["r", k, v or null]`` (rw-register). The completion's value holds what
the reads returned; an ``info`` or never-completed transaction keeps its invocation's value (its writes may
or may not have happened; its reads are unknown), a ``fail`` one certainly did not happen. Transactions get
dense ids ``0..n-1`` in invocation order; ``name`` (``T`` plus the invocation's op index) is how witnesses
refer to them.
"""

from __future__ import annotations

import gc
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.history import History
from harness.op import NEMESIS, Op
from harness.wellformed import BadOp

TXN = "txn"
LIST_APPEND_FS = frozenset({"append", "r"})
RW_REGISTER_FS = frozenset({"w", "r"})

MicroOp = tuple[str, Hashable, Any]


@dataclass(frozen=True, slots=True)
class Txn:
    """One transaction: ``type`` ok / info / fail, ``mops`` its micro-ops with the values it saw."""

    id: int
    index: int
    complete_index: int | None
    process: Any
    type: str
    mops: tuple[MicroOp, ...]
    invoke_time: int
    complete_time: int | None
    node: str | None = None  # the node that served it (its completion says), for witnesses

    @property
    def name(self) -> str:
        return f"T{self.index}"


def _key(k: Any) -> Hashable:
    return tuple(_key(x) for x in k) if isinstance(k, list) else k


def _mop(raw: Any, op: Op, fs: frozenset[str], reads_list: bool) -> MicroOp:
    if type(raw) is list and len(raw) == 3 and raw[0] in fs:  # the common case, kept cheap
        f, k, v = raw
        if type(k) is list:
            k = _key(k)
        elif isinstance(k, dict):
            raise BadOp(op.index, f"field 'value': micro-op key {k!r} must be a number or a string")
        if f == "r" and reads_list and v is not None:
            if not isinstance(v, (list, tuple)):  # e.g. [:r 1 5]: ill-typed, not a crash later
                raise BadOp(op.index, f"field 'value': a list-append read returns a list or null, got {v!r}")
            # the history's own list when its elements are plain (no copy: the analyses only read it)
            return (f, k, [_key(x) for x in v] if any(type(x) is list for x in v[:1]) else v)
        if v is None or type(v) is int or type(v) is str:
            return (f, k, v)
        if isinstance(v, dict):
            raise BadOp(op.index, f"field 'value': micro-op value {v!r} must be a number, a string or a list")
        return (f, k, _key(v))
    if isinstance(raw, (list, tuple)) and len(raw) == 3 and raw[0] in fs:
        return _mop(list(raw), op, fs, reads_list)
    if not isinstance(raw, (list, tuple)) or len(raw) != 3:
        raise BadOp(op.index, f"micro-op {raw!r} is not [f, key, value]; e.g. {_example(fs)}")
    raise BadOp(op.index, f"micro-op f {raw[0]!r} is not one of {', '.join(sorted(fs))}; e.g. {_example(fs)}")


def _example(fs: frozenset[str]) -> str:
    return (
        '["append", "x", 3] or ["r", "x", [1, 2, 3]]' if "append" in fs else '["w", "x", 3] or ["r", "x", 3]'
    )


def index_txns(history: History | Iterable[Op], fs: frozenset[str]) -> list[Txn]:
    """Pair the history's ``txn`` ops and index them; malformed micro-ops raise ``BadInput``."""
    reads_list = "append" in fs
    hist = history if isinstance(history, History) else History(history)
    txns: list[Txn] = []
    for pair in hist.pairs():
        inv, comp = pair.invoke, pair.complete
        if inv.f != TXN or inv.process == NEMESIS:
            continue
        typ = pair.type
        value = comp.value if comp is not None and typ == "ok" else inv.value
        src = comp if comp is not None and typ == "ok" else inv
        if not isinstance(value, (list, tuple)):
            raise BadOp(src.index, f"a txn value must be a list of micro-ops, got {value!r}")
        mops = tuple([_mop(m, src, fs, reads_list) for m in value])
        txns.append(
            _make_txn(
                len(txns),
                inv.index,
                comp.index if comp is not None else None,
                inv.process,
                typ,
                mops,
                inv.time,
                comp.time if comp is not None and typ == "ok" else None,
                comp.node if comp is not None else None,
            )
        )
    return txns


_TXN_FIELDS = (
    *("id", "index", "complete_index", "process", "type", "mops"),
    *("invoke_time", "complete_time", "node"),
)
_TXN_SET = tuple(Txn.__dict__[f].__set__ for f in _TXN_FIELDS)


def _make_txn(*fields: Any) -> Txn:
    """``Txn(...)`` (positional, in field order) without the frozen dataclass's per-field
    ``object.__setattr__``: a large history builds one per transaction."""
    t = object.__new__(Txn)
    for put, v in zip(_TXN_SET, fields, strict=True):
        put(t, v)
    return t


def show(v: Any) -> str:
    """A value as the witnesses print it: lists as ``[1 2 3]``, nil as ``nil``."""
    if v is None:
        return "nil"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(show(x) for x in v) + "]"
    return str(v)


LARGE = 100_000  # ops: from here on, a full collection over what was built costs seconds


@contextmanager
def no_gc(size: int = 0) -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small containers are built.

    Reading and indexing a large history allocates far more objects than it frees, and each allocation burst
    would set off a collection that walks the whole (growing) heap: without this, time grows quadratically.
    What is built here forms no reference cycles (reference counting frees it), so the collector loses
    nothing by not looking. For a large history (``size`` >= ``LARGE``) the survivors are then moved to the
    permanent generation (``gc.freeze``) so that later collections do not walk them either; small ones are
    left alone, so a long test session does not accumulate frozen objects.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if size >= LARGE:
            gc.freeze()
        if was:
            gc.enable()
