"""The native core searches a kv history's parts side by side on its own threads (``chaos_lin_check_parts``):
the verdicts, the statuses and the part named in the counterexample are those of a one-thread run, whichever
thread finishes first (the illegal part decided in the fewest search steps is named).
"""

from __future__ import annotations

import random

import pytest

from harness.checkers import fastkv, native
from harness.checkers.linearizable import check
from harness.checkers.linsearch import ILLEGAL, OK, Budget
from harness.checkers.models import get_model
from harness.history import History
from harness.op import Op

needs_native = pytest.mark.skipif(not native.available(), reason=f"native core: {native.why_unavailable()}")


def kv_history(seed: int, keys: int, ops_per_key: int, bad_keys: set[int]) -> History:
    """Concurrent writes and reads of ``keys`` keys (3 processes per key, overlapping ops); on each key of
    ``bad_keys`` one read returns a value nobody wrote, after a run of legal ops (so its search does work)."""
    rng = random.Random(seed)
    ops: list[Op] = []
    t = 0
    for k in range(keys):
        state = 0
        bad_at = rng.randrange(ops_per_key // 2, ops_per_key) if k in bad_keys else -1
        for i in range(ops_per_key):
            p = 3 * k + i % 3
            if i % 2 == 0:
                state = rng.randrange(1, 1000)
                inv, out, f = {"key": k, "value": state}, {"key": k, "value": state}, "write"
            else:
                seen = -1 if i == bad_at or i == bad_at + 1 else state
                inv, out, f = {"key": k, "value": None}, {"key": k, "value": seen}, "read"
            ops.append(Op(len(ops), t, p, "invoke", f, inv))
            t += 1
            ops.append(Op(len(ops), t, p, "ok", f, out))
            t += 1
    order = list(range(0, len(ops), 2))
    rng.shuffle(order)  # interleave the keys' op pairs in time, keeping each pair whole and in order per key
    per_key: dict[int, list[int]] = {}
    for s in range(0, len(ops), 2):
        per_key.setdefault(ops[s].value["key"], []).append(s)
    merged: list[Op] = []
    cursors = {k: 0 for k in per_key}
    for s in order:
        k = ops[s].value["key"]
        start = per_key[k][cursors[k]]
        cursors[k] += 1
        merged += [ops[start], ops[start + 1]]
    return History(Op(n, n, o.process, o.type, o.f, o.value) for n, o in enumerate(merged))


@needs_native
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_threads_name_the_same_illegal_part_as_one_thread(seed: int) -> None:
    history = kv_history(seed, keys=12, ops_per_key=60, bad_keys={2, 5, 7, 10})
    m = get_model("kv")
    one = fastkv.screen(history, m, None, Budget(), threads=1)
    assert one is not None
    statuses = [st for _, st, _ in one[0]]
    assert statuses.count(ILLEGAL) == 1 and set(statuses) <= {OK, ILLEGAL}
    # the part named is illegal on its own (the pure-Python search agrees)
    first = one[0][statuses.index(ILLEGAL)][0]
    alone = History(o for o in history if o.value["key"] == first)
    assert check(alone, model="kv", engine="python").valid is False
    for threads in (2, 3, 8, 16, 0):
        for _ in range(5):
            assert fastkv.screen(history, m, None, Budget(), threads=threads) == one, threads
    # the checker's counterexample names that part, however many threads ran
    results = [check(history, model="kv", engine="native") for _ in range(5)]
    assert {r.details["failed_part"]["key"] for r in results} == {first}
    assert check(history, model="kv", engine="python").valid is False


@needs_native
def test_threads_decide_every_part_of_a_linearizable_history() -> None:
    history = kv_history(4, keys=9, ops_per_key=80, bad_keys=set())
    m = get_model("kv")
    for threads in (1, 2, 0):
        out = fastkv.screen(history, m, None, Budget(), threads=threads)
        assert out is not None
        assert [st for _, st, _ in out[0]] == [OK] * 9, threads
    assert check(history, model="kv").valid is True


@needs_native
def test_the_illegal_part_decided_in_fewest_steps_is_named_not_the_first_in_order() -> None:
    """Part order is smallest first; a larger part whose violation the pre-check sees at once (a read of a
    value nobody wrote) is named instead of a smaller part that needs a search to be proved illegal."""
    ops: list[Op] = []

    def pair(p: int, f: str, key: int, inv: object, out: object) -> None:
        ops.append(Op(len(ops), len(ops), p, "invoke", f, {"key": key, "value": inv}))
        ops.append(Op(len(ops), len(ops), p, "ok", f, {"key": key, "value": out}))

    # key 0 (small): two overlapping writes, then reads seeing 1, 2, 1: illegal, but only the search shows it
    ops.append(Op(len(ops), len(ops), 0, "invoke", "write", {"key": 0, "value": 1}))
    ops.append(Op(len(ops), len(ops), 1, "invoke", "write", {"key": 0, "value": 2}))
    ops.append(Op(len(ops), len(ops), 0, "ok", "write", {"key": 0, "value": 1}))
    ops.append(Op(len(ops), len(ops), 1, "ok", "write", {"key": 0, "value": 2}))
    for v in (1, 2, 1):
        pair(2, "read", 0, None, v)
    # key 1 (larger): legal writes and reads, then a read of 99, which nothing wrote
    for v in range(1, 8):
        pair(3, "write", 1, v, v)
        pair(4, "read", 1, None, v)
    pair(4, "read", 1, None, 99)
    history = History(ops)
    m = get_model("kv")
    for threads in (1, 2, 0):
        out = fastkv.screen(history, m, None, Budget(), threads=threads)
        assert out is not None and [(k, st) for k, st, _ in out[0]] == [(1, ILLEGAL)], threads
    assert check(history, model="kv").details["failed_part"]["key"] == 1
    assert check(History(o for o in ops if o.value["key"] == 0), model="kv").valid is False
