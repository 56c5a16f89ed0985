"""Property: histories from a serial execution are valid under strict-serializable; one injected stale read
or lost append in a history whose transactions did not overlap in time is always caught."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers.txn.check import list_append, rw_register
from harness.history import History
from harness.op import Op

Txn = list[list[Any]]


def serial_execution(seed: int, n: int, keys: int, register: bool = False) -> list[Txn]:
    """Run ``n`` random transactions one after another against a dict of lists (or registers)."""
    rng = random.Random(seed)
    state: dict[int, Any] = {}
    counter = 0
    out: list[Txn] = []
    for _ in range(n):
        txn: Txn = []
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(keys)
            if rng.random() < 0.5:
                v = state.get(k) if register else list(state.get(k, []))
                txn.append(["r", k, v])
            else:
                counter += 1
                if register:
                    state[k] = counter
                    txn.append(["w", k, counter])
                else:
                    state.setdefault(k, []).append(counter)
                    txn.append(["append", k, counter])
        out.append(txn)
    return out


def timed_history(txns: list[Txn], seed: int, overlap: bool) -> History:
    """Txn i takes effect at time 10*i; with ``overlap`` its invocation and completion stretch around that
    point, so concurrent transactions appear while the real-time order still allows the serial one."""
    rng = random.Random(seed)
    spans = []
    for i in range(len(txns)):
        a = 10 * i - (rng.randint(0, 25) if overlap else 4)
        b = 10 * i + (rng.randint(1, 25) if overlap else 4)
        spans.append((a, b, i))
    busy: list[int] = []  # per process: when its last txn completed
    events: list[tuple[int, int, int, str, Any]] = []
    for a, b, i in sorted(spans):
        p = next((j for j, t in enumerate(busy) if t < a), None)
        if p is None:
            busy.append(b)
            p = len(busy) - 1
        busy[p] = b
        blank = [[f, k, None] if f == "r" else [f, k, v] for f, k, v in txns[i]]
        events.append((a, 0, p, "invoke", blank))
        events.append((b, 1, p, "ok", txns[i]))
    events.sort(key=lambda e: (e[0], e[1]))
    return History(Op(n, t, p, typ, "txn", v) for n, (t, _, p, typ, v) in enumerate(events))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 40), st.integers(1, 4), st.booleans())
def test_serial_executions_are_strict_serializable(seed: int, n: int, keys: int, register: bool) -> None:
    txns = serial_execution(seed, n, keys, register)
    checker = rw_register if register else list_append
    r = checker(timed_history(txns, seed, overlap=True))
    assert r.valid is True, r.details["anomalies"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 40), st.integers(1, 4), st.data())
def test_one_stale_read_is_caught(seed: int, n: int, keys: int, data: st.DataObject) -> None:
    txns = serial_execution(seed, n, keys)
    reads = [(i, j) for i, t in enumerate(txns) for j, m in enumerate(t) if m[0] == "r" and m[2]]
    if not reads:
        return
    i, j = data.draw(st.sampled_from(reads))
    txns[i][j] = ["r", txns[i][j][1], txns[i][j][2][:-1]]
    r = list_append(timed_history(txns, seed, overlap=False))
    assert r.valid is False


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 40), st.integers(1, 4), st.data())
def test_one_lost_append_is_caught(seed: int, n: int, keys: int, data: st.DataObject) -> None:
    txns = serial_execution(seed, n, keys)
    seen_later = [
        (i, m[1], m[2])
        for i, t in enumerate(txns)
        for m in t
        if m[0] == "append" and any(r[0] == "r" and m[2] in r[2] for u in txns[i + 1 :] for r in u)
    ]
    if not seen_later:
        return
    _, k, v = data.draw(st.sampled_from(seen_later))
    for t in txns:
        for m in t:
            if m[0] == "r" and m[1] == k and v in m[2]:
                m[2] = [x for x in m[2] if x != v]
    r = list_append(timed_history(txns, seed, overlap=False))
    assert r.valid is False
