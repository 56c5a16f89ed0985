"""Property tests: histories of a simulated linearizable object are always linearizable, and on small
histories (also mutated ones) the checker agrees with a brute-force oracle that tries every order.

The simulation gives each op an invocation time, a linearization point inside its interval and a completion;
ops with unknown outcome (info, or never completed) took effect at their point or never, at random.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.checkers.linearizable import check, prepare_part
from harness.checkers.linsearch import PartOp
from harness.checkers.models import MISMATCH, Model, get_model
from harness.history import History
from harness.op import Op

# one op: (kind, a, b, key, invoke time, point offset, completion offset, outcome, took effect)
OP = st.tuples(
    st.sampled_from(["read", "write", "cas"]),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sampled_from(["x", "y"]),
    st.integers(0, 30),
    st.integers(0, 10),
    st.integers(0, 10),
    st.sampled_from(["ok", "ok", "ok", "info", "pending"]),
    st.booleans(),
)


def simulate(spec: list[tuple[Any, ...]], kv: bool) -> History:
    """A history whose ops took effect (or not) at their linearization points on a real register/map."""
    events: list[tuple[float, int, str, int, Any, str | None]] = []
    points = sorted(range(len(spec)), key=lambda i: spec[i][4] + spec[i][5] + 0.5)
    state: dict[str, Any] = {}
    results: dict[int, tuple[str, Any, str | None]] = {}
    for i in points:
        kind, a, b, key, _, _, _, outcome, took = spec[i]
        key = key if kv else "x"  # without kv: one register
        cur = state.get(key)
        if outcome != "ok" and not took:
            results[i] = (outcome, None, None)
            continue
        if kind == "read":
            results[i] = (outcome, cur, None)
        elif kind == "write":
            state[key] = a
            results[i] = (outcome, a, None)
        elif cur == a:
            state[key] = b
            results[i] = (outcome, None, None)
        else:
            results[i] = ("fail" if outcome == "ok" else outcome, None, MISMATCH)
    for i, (kind, a, b, key, t, p, r, _, _) in enumerate(spec):
        inv: Any = [a, b] if kind == "cas" else (None if kind == "read" else a)
        if kv:
            inv = {"key": key, "from": a, "to": b} if kind == "cas" else {"key": key, "value": inv}
        events.append((t, 0, "invoke", i, inv, None))
        typ, val, err = results[i]
        if typ == "pending":
            continue
        out: Any = inv
        if typ == "ok" and kind == "read":
            out = {"key": key, "value": val} if kv else val
        events.append((t + p + 0.75 + r, 1, typ, i, out, err))
    events.sort(key=lambda e: (e[0], e[1]))
    ops = [
        Op(n, n, i, typ, spec[i][0], val, err)  # type: ignore[arg-type]
        for n, (_, _, typ, i, val, err) in enumerate(events)
    ]
    return History(ops)


def oracle(model: Model, ops: list[PartOp], init: Hashable) -> bool:
    """Every order respecting real time; unknown ops may be left out. Exponential: small inputs only."""
    n = len(ops)
    assert all(op.complete_pos is not None for op in ops if op.call.known)
    preds = [
        {j for j in range(n) if ops[j].call.known and (ops[j].complete_pos or 0) < ops[i].invoke_pos}
        for i in range(n)
    ]
    definite = {i for i in range(n) if ops[i].call.known}

    def go(state: Hashable, placed: frozenset[int]) -> bool:
        if definite <= placed:
            return True
        for i in range(n):
            if i not in placed and preds[i] <= placed:
                legal, nxt = model.step(state, ops[i].call)
                if legal and go(nxt, placed | {i}):
                    return True
        return False

    return go(init, frozenset())


def oracle_history(history: History, model_name: str) -> bool:
    model = get_model(model_name)
    init = model.init(None)
    parts = model.partition(history.pairs())
    return all(oracle(model, prepare_part(model, pairs), init) for pairs in parts.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OP, min_size=1, max_size=40), st.booleans())
def test_simulated_histories_are_linearizable(spec: list[tuple[Any, ...]], kv: bool) -> None:
    history = simulate(spec, kv)
    result = check(history, model="kv" if kv else "cas-register")
    assert result.valid is True, result.details


def _mutate(history: History, which: int, delta: int) -> History:
    """Change one completed read's value or flip one cas outcome: usually no longer linearizable."""
    ops = list(history)
    done = [k for k, op in enumerate(ops) if op.type in ("ok", "fail") and op.f in ("read", "cas")]
    if not done:
        return history
    k = done[which % len(done)]
    op = ops[k]
    if op.f == "read":
        v = op.value["value"] if isinstance(op.value, dict) else op.value
        nv = ((v or 0) + delta) % 3 if delta else None
        value = {**op.value, "value": nv} if isinstance(op.value, dict) else nv
        ops[k] = Op(op.index, op.time, op.process, op.type, op.f, value, op.error)
    elif op.type == "ok":
        ops[k] = Op(op.index, op.time, op.process, "fail", op.f, op.value, MISMATCH)
    else:
        ops[k] = Op(op.index, op.time, op.process, "ok", op.f, op.value, None)
    return History(ops)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OP, min_size=1, max_size=7), st.booleans(), st.integers(0, 10), st.integers(0, 2))
def test_agrees_with_brute_force_oracle(
    spec: list[tuple[Any, ...]], kv: bool, which: int, delta: int
) -> None:
    model = "kv" if kv else "cas-register"
    for history in (simulate(spec, kv), _mutate(simulate(spec, kv), which, delta)):
        expected = oracle_history(history, model)
        result = check(history, model=model)
        assert result.valid is expected, (history.ops, result.details)
        if expected is False:
            assert result.details["failed_part"]["stuck_ops"]


def test_symmetry_pruning_keeps_distinct_unknown_writes() -> None:
    """Two unknown writes of different values are not interchangeable: reading 1 then 2 needs both."""
    ops = [
        Op(0, 0, 0, "invoke", "write", 1),
        Op(1, 1, 1, "invoke", "write", 2),
        Op(2, 2, 2, "invoke", "read", None),
        Op(3, 3, 2, "ok", "read", 1),
        Op(4, 4, 3, "invoke", "read", None),
        Op(5, 5, 3, "ok", "read", 2),
        Op(6, 6, 4, "invoke", "read", None),
        Op(7, 7, 4, "ok", "read", 1),
    ]
    assert check(History(ops), model="cas-register").valid is False
    assert check(History(ops[:6]), model="cas-register").valid is True


def test_identical_unknown_writes_can_both_take_effect() -> None:
    """Reads 1, 2, 1 need both unknown write(1)s, one before and one after write(2): the symmetry pruning
    must still let the second of a class be placed once the first is."""
    ops = [
        Op(0, 0, 0, "invoke", "write", 1),
        Op(1, 1, 1, "invoke", "write", 1),
        Op(2, 2, 2, "invoke", "write", 2),
    ]
    for n, v in enumerate([1, 2, 1]):
        ops += [Op(3 + 2 * n, 0, 10 + n, "invoke", "read", None), Op(4 + 2 * n, 0, 10 + n, "ok", "read", v)]
    result = check(History(ops), model="cas-register")
    assert result.valid is True
    assert oracle_history(History(ops), "cas-register") is True
    three = [*ops, Op(9, 0, 20, "invoke", "read", None), Op(10, 0, 20, "ok", "read", 2)]
    assert check(History(three), model="cas-register").valid is False
    assert oracle_history(History(three), "cas-register") is False
