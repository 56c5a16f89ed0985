"""``list-append`` and ``rw-register``: seeded transactional workloads for any client with a ``txn`` op.

Each operation is ``("txn", [micro-op, ...])``: ``["append", k, v]`` / ``["r", k, None]`` (list-append) or
``["w", k, v]`` / ``["r", k, None]`` (rw-register); the client fills in what each read returned. Values are
unique (one counter shared by all workers), so every read names the write it saw. A small pool of keys is in
play at once; a key that has taken ``max_writes_per_key`` writes is retired and a fresh key takes its place,
so lists (and the checker's version orders) stay short however long the run. Options:

    keys                 keys in play at once                               (default 8)
    min_txn_length       micro-ops per transaction, at least                (1)
    max_txn_length       micro-ops per transaction, at most                 (4)
    read / write         weights of reads and writes among micro-ops        (1 / 1; an experiment's
                         ``mix: {read: 3, write: 1}`` sets them)
    max_writes_per_key   writes before a key is retired                     (32)
    ops                  transactions per worker (null: until time is up)  (null)
    consistency_model    the model(s) the default checker holds the history to (strict-serializable; a list:
                         every one of them, and the verdict table covers every model)

The worker's seeded random source picks keys, lengths and the read / write mix; the final phase reads
every key still in play. Checked by the checker of the same name.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from harness.checkers.txn.models import DEFAULT_MODEL, MODELS
from harness.errors import BadInput
from harness.target import Completion

DEFAULTS: dict[str, Any] = {
    "keys": 8,
    "min_txn_length": 1,
    "max_txn_length": 4,
    "read": 1,
    "write": 1,
    "max_writes_per_key": 32,
    "ops": None,
    "consistency_model": DEFAULT_MODEL,
}


class KeyPool:
    """The keys in play and the value counter, shared by every worker of one run (workers are threads)."""

    def __init__(self, keys: int, max_writes: int) -> None:
        self._lock = threading.Lock()
        self.active = list(range(keys))
        self.writes = [0] * keys
        self.next_key = keys
        self.next_value = 0
        self.max_writes = max_writes

    def write(self, slot: int) -> tuple[int, int]:
        """The key in ``slot`` and a fresh value for it; retires the key after its last allowed write."""
        with self._lock:
            key = self.active[slot]
            self.next_value += 1
            self.writes[slot] += 1
            if self.writes[slot] >= self.max_writes:
                self.active[slot], self.writes[slot] = self.next_key, 0
                self.next_key += 1
            return key, self.next_value

    def read(self, slot: int) -> int:
        with self._lock:
            return self.active[slot]

    def snapshot(self) -> list[int]:
        with self._lock:
            return list(self.active)


class TxnPlan:
    def __init__(self, rng: random.Random, opts: Mapping[str, Any], pool: KeyPool, write_f: str) -> None:
        self.rng, self.opts, self.pool, self.write_f = rng, opts, pool, write_f
        self.left: int | None = opts["ops"]
        self.p_read = float(opts["read"]) / (float(opts["read"]) + float(opts["write"]))

    def next(self, last: tuple[str, Any, Completion] | None) -> tuple[str, Any] | None:
        if self.left is not None:
            if self.left <= 0:
                return None
            self.left -= 1
        rng, o = self.rng, self.opts
        mops: list[list[Any]] = []
        for _ in range(rng.randint(int(o["min_txn_length"]), int(o["max_txn_length"]))):
            slot = rng.randrange(int(o["keys"]))
            if rng.random() < self.p_read:
                mops.append(["r", self.pool.read(slot), None])
            else:
                k, v = self.pool.write(slot)
                mops.append([self.write_f, k, v])
        return "txn", mops


class _TxnWorkload:
    name = ""
    write_f = ""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        opts = dict(options or {})
        unknown = sorted(set(opts) - set(DEFAULTS))
        if unknown:
            raise BadInput(
                f"workload.{unknown[0]}: unknown {self.name} workload option; valid: {', '.join(DEFAULTS)}"
            )
        m = {**DEFAULTS, **opts}
        for k in ("keys", "min_txn_length", "max_txn_length", "max_writes_per_key"):
            if not isinstance(m[k], int) or isinstance(m[k], bool) or m[k] < 1:
                raise BadInput(f"workload.{k}: must be a positive integer, got {m[k]!r}")
        if m["min_txn_length"] > m["max_txn_length"]:
            raise BadInput(
                f"workload.min_txn_length: {m['min_txn_length']} exceeds max_txn_length {m['max_txn_length']}"
            )
        for k in ("read", "write"):
            w = m[k]
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
                raise BadInput(f"workload.{k}: weight must be a number >= 0, got {w!r}")
        if m["read"] + m["write"] <= 0:
            raise BadInput("workload: the read and write weights are both 0; give at least one a weight > 0")
        if m["ops"] is not None and (not isinstance(m["ops"], int) or m["ops"] < 0):
            raise BadInput(f"workload.ops: must be a non-negative integer or null, got {m['ops']!r}")
        given = m["consistency_model"]
        for model in given if isinstance(given, list) and given else [given]:
            if model not in MODELS:
                raise BadInput(
                    f"workload.consistency_model: {model!r} is not one of {', '.join(MODELS)} "
                    "(one, or a list of them)"
                )
        self.options = m
        self.pool = KeyPool(m["keys"], m["max_writes_per_key"])

    def plan(self, process: int, rng: Any) -> TxnPlan:
        r = rng if isinstance(rng, random.Random) else random.Random(rng)
        return TxnPlan(r, self.options, self.pool, self.write_f)

    def final_ops(self) -> Sequence[tuple[str, Any]]:
        return [("txn", [["r", k, None] for k in self.pool.snapshot()])]

    def checkers(self) -> Mapping[str, Mapping[str, Any]]:
        return {self.name: {"consistency_model": self.options["consistency_model"]}}


class ListAppendWorkload(_TxnWorkload):
    """Transactions of appends to and reads of lists: every read reveals the order of the key's versions."""

    name = "list-append"
    write_f = "append"


class RwRegisterWorkload(_TxnWorkload):
    """Transactions of writes to and reads of registers."""

    name = "rw-register"
    write_f = "w"
