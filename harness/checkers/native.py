"""The optional native core of the linearizability search (Rust, native/linsearch), loaded with ctypes.

``scripts/setup`` builds it (``cargo build --release --offline``; the crate uses the standard library only).
When the library is missing or fails to load, ``available()`` is false, ``why_unavailable()`` says why
(``chaos doctor`` prints it) and the checker uses the pure-Python search of ``linsearch``, which gives the
same verdicts (a differential test runs both on the corpus and on generated histories). The built-in
register, cas-register and kv models run natively (``encode``); any other model stays in Python: the native
search calls back its ``step`` once per (op, state) and caches the result, so user models work too.
``CHAOS_LINSEARCH_LIB`` names another library file; ``CHAOS_NATIVE=0`` disables the native core.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checkers import linsearch
from harness.checkers.linsearch import BUDGET, ILLEGAL, OK, Budget, PartOp, SearchResult, event_order, gates
from harness.checkers.models import Call, CasRegisterModel, KvModel, Model, RegisterModel

ABI = 4
_LIB_NAME = "libchaos_linsearch.so"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "native" / "linsearch" / "target" / "release" / _LIB_NAME
_STEP = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint32, ctypes.c_uint32)
_STATUS = {0: OK, 1: ILLEGAL, 2: BUDGET, 3: BUDGET}
_LIMIT = {2: "time", 3: "memory"}
_STEP_FAILED = 4
#: bytes one memoised configuration costs in the native memo: its bit set and state id, the hash index entry
CONFIG_BYTES = 40


class _Loader:
    """Loads the library once per process, on first use (the CLI's small checks never pay for it)."""

    def __init__(self) -> None:
        self.lib: ctypes.CDLL | None = None
        self.error: str | None = None
        self.tried = False

    def get(self) -> ctypes.CDLL | None:
        if self.tried:
            return self.lib
        self.tried = True
        if os.environ.get("CHAOS_NATIVE", "1") == "0":
            self.error = "disabled by CHAOS_NATIVE=0"
            return None
        path = Path(os.environ.get("CHAOS_LINSEARCH_LIB") or DEFAULT_PATH)
        if not path.is_file():
            self.error = f"{path} not built (run scripts/setup; it needs cargo)"
            return None
        try:
            lib = ctypes.CDLL(str(path))
            if lib.chaos_lin_abi() != ABI:
                self.error = f"{path} has another interface version; rebuild it with scripts/setup"
                return None
        except (OSError, AttributeError) as e:
            self.error = f"{path} does not load: {e}"
            return None
        fn = lib.chaos_lin_search
        fn.restype = ctypes.c_int32
        fn.argtypes = [
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_int32),
            _STEP,
            ctypes.c_double,
            ctypes.c_uint64,
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(ctypes.c_uint64),
        ]
        fb = lib.chaos_lin_search_builtin
        fb.restype = ctypes.c_int32
        fb.argtypes = [
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_uint8),
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.c_uint32,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_uint8),
            ctypes.c_uint32,
            ctypes.c_double,
            ctypes.c_uint64,
            ctypes.POINTER(ctypes.c_int32),
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(ctypes.c_uint64),
        ]
        fp = lib.chaos_lin_check_part
        fp.restype = ctypes.c_int32
        fp.argtypes = [
            ctypes.c_uint32,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int64),
            ctypes.POINTER(ctypes.c_int64),
            ctypes.c_uint32,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_uint8),
            ctypes.c_uint32,
            ctypes.c_double,
            ctypes.c_uint64,
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_uint8),
        ]
        self.lib = lib
        return lib


_LOADER = _Loader()


def available() -> bool:
    """Whether the native core is built and loads."""
    return _LOADER.get() is not None


def library() -> ctypes.CDLL | None:
    """The loaded library (None when unavailable), for ``fastkv``."""
    return _LOADER.get()


def why_unavailable() -> str | None:
    """None when the native core loads, else the reason in words."""
    _LOADER.get()
    return _LOADER.error


# op kinds of the built-in models, as in native/linsearch/src/lib.rs
K_READ, K_WRITE, K_APPEND, K_CAS_OK, K_CAS_MISMATCH, K_CAS_UNKNOWN = range(6)
_WRITES = frozenset({"write", "put"})


@dataclass
class Encoded:
    """A part in the native built-in models' terms: per op a kind and value ids; values as byte strings."""

    kinds: list[int]
    a: list[int]
    b: list[int]
    values: list[bytes | None]
    init: int


def encode(
    step: Callable[[Hashable, Call], tuple[bool, Hashable]],
    read_fs: frozenset[str],
    ops: Sequence[PartOp],
    init: Hashable,
) -> Encoded | None:
    """The part for the native built-in models, or None when ``step`` is not a built-in model's own (a user
    model, a subclass that redefines ``step``) or an op falls outside it: the search then calls ``step``."""
    fn: Any = getattr(step, "__func__", None)
    builtin: dict[Any, int] = {RegisterModel.step: 0, CasRegisterModel.step: 1, KvModel.step: 2}
    allowed = builtin.get(fn)
    if allowed is None:
        return None
    ids: dict[Hashable, int] = {}
    raw: list[Hashable] = []

    def vid(v: Hashable) -> int:
        k = ids.get(v)
        if k is None:
            k = ids[v] = len(raw)
            raw.append(v)
        return k

    kinds: list[int] = []
    a: list[int] = []
    b: list[int] = []
    appends = False
    first = vid(init)
    for op in ops:
        c = op.call
        if c.f in read_fs:
            if not c.known:
                return None
            kind, x, y = K_READ, vid(c.out), 0
        elif c.f in _WRITES:
            kind, x, y = K_WRITE, vid(c.arg), 0
        elif c.f == "cas" and allowed >= 1 and isinstance(c.arg, tuple) and len(c.arg) == 2:
            kind = K_CAS_UNKNOWN if not c.known else (K_CAS_OK if c.out else K_CAS_MISMATCH)
            x, y = vid(c.arg[0]), vid(c.arg[1])
        elif c.f == "append" and allowed == 2 and isinstance(c.arg, str):
            appends = True
            kind, x, y = K_APPEND, vid(c.arg), 0
        else:
            return None
        kinds.append(kind)
        a.append(x)
        b.append(y)
    if appends:  # states are strings: values travel as their text
        if not all(v is None or isinstance(v, str) for v in raw):
            return None
        values = [None if v is None else str(v).encode() for v in raw]
    else:  # states are whole values: their ids are enough
        values = [k.to_bytes(4, "little") for k in range(len(raw))]
    return Encoded(kinds, a, b, values, first)


def search(
    ops: Sequence[PartOp],
    step: Callable[[Hashable, Call], tuple[bool, Hashable]],
    init: Hashable,
    budget: Budget,
    read_fs: frozenset[str] = Model.read_fs,
) -> SearchResult:
    """Same contract as ``linsearch.search``; raises what ``step`` raised (e.g. ``BadInput``)."""
    lib = _LOADER.get()
    if lib is None:
        raise RuntimeError(f"native linearizability core unavailable: {_LOADER.error}")
    n = len(ops)
    order = event_order(ops)
    gate = gates(ops, order)
    ev = (ctypes.c_int32 * max(1, len(order)))(*order)
    gt = (ctypes.c_int32 * max(1, n))(*gate)
    longest = (ctypes.c_int32 * max(1, 3 * n))()
    lens = (ctypes.c_uint32 * 3)()
    configs = ctypes.c_uint64(0)
    limit_s = -1.0 if budget.deadline is None else max(0.0, budget.deadline - time.monotonic())
    max_configs = budget.max_bytes // (CONFIG_BYTES + 8 * (n // 64 + 1))
    enc = encode(step, read_fs, ops, init)
    if enc is not None:
        nv = len(enc.values)
        blob = b"".join(v or b"" for v in enc.values)
        ends: list[int] = []
        total = 0
        for v in enc.values:
            total += len(v or b"")
            ends.append(total)
        status = lib.chaos_lin_search_builtin(
            n, len(order), ev, gt,
            (ctypes.c_uint8 * max(1, n))(*enc.kinds),
            (ctypes.c_uint32 * max(1, n))(*enc.a),
            (ctypes.c_uint32 * max(1, n))(*enc.b),
            nv, blob or b"\0",
            (ctypes.c_uint64 * max(1, nv))(*ends),
            (ctypes.c_uint8 * max(1, nv))(*[v is None for v in enc.values]),
            enc.init, limit_s, max_configs, longest, lens, ctypes.byref(configs),
        )  # fmt: skip
        return _search_result(status, longest, lens, n, configs)
    nxt = linsearch.interned_step(step, [op.call for op in ops], init)
    raised: list[BaseException] = []

    def compute(i: int, sid: int) -> int:
        try:
            return nxt(i, sid)
        except BaseException as e:  # noqa: BLE001 - re-raised below, after the native frame has returned
            raised.append(e)
            return -2

    callback = _STEP(compute)
    status = lib.chaos_lin_search(
        n, len(order), ev, gt, callback, limit_s, max_configs, longest, lens, ctypes.byref(configs)
    )
    if status == _STEP_FAILED or raised:
        raise raised[0] if raised else RuntimeError("native search: step failed")
    return _search_result(status, longest, lens, n, configs)


def _search_result(status: int, longest: Any, lens: Any, n: int, configs: ctypes.c_uint64) -> SearchResult:
    if status not in _STATUS:
        raise RuntimeError(f"native search: status {status}")
    seqs = [[longest[k * n + j] for j in range(lens[k])] for k in range(3) if lens[k]]
    if status == 0:
        seqs = []
    return SearchResult(_STATUS[status], seqs, int(configs.value), _LIMIT.get(status, ""))
