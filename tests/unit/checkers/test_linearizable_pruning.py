"""Each shortcut of the faster checker against the brute-force oracle, the native core against the
pure-Python search, and the acceptance histories (lost writes, ack-before-commit) decided within budget.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import histgen
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_linearizable_property import _mutate, oracle, simulate

from harness.checkers import native
from harness.checkers.linearizable import check, prepare_part
from harness.checkers.linsearch import ILLEGAL, OK, Budget, search
from harness.checkers.models import get_model
from harness.checkers.prune import drop_unobserved, find_witness
from harness.history import History
from harness.importers import load
from harness.op import Op

# like test_linearizable_property.OP, with a wider value range: written values are then often unique
OP_WIDE = st.tuples(
    st.sampled_from(["read", "write", "write", "cas"]),
    st.integers(0, 12),
    st.integers(0, 12),
    st.sampled_from(["x", "y"]),
    st.integers(0, 30),
    st.integers(0, 10),
    st.integers(0, 10),
    st.sampled_from(["ok", "ok", "info", "pending"]),
    st.booleans(),
)
needs_native = pytest.mark.skipif(not native.available(), reason=f"native core: {native.why_unavailable()}")


def _parts(history: History, model_name: str) -> list[list[Any]]:
    model = get_model(model_name)
    return [prepare_part(model, pairs) for pairs in model.partition(history.pairs()).values()]


def _histories(spec: list[tuple[Any, ...]], kv: bool, which: int, delta: int) -> list[History]:
    return [simulate(spec, kv), _mutate(simulate(spec, kv), which, delta)]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OP_WIDE, min_size=1, max_size=7), st.booleans(), st.integers(0, 10), st.integers(0, 2))
def test_dropping_unobserved_unknown_writes_keeps_the_oracle_verdict(
    spec: list[tuple[Any, ...]], kv: bool, which: int, delta: int
) -> None:
    model = get_model("kv" if kv else "cas-register")
    init = model.init(None)
    for history in _histories(spec, kv, which, delta):
        for ops in _parts(history, model.name):
            kept = drop_unobserved(ops, model.read_fs)
            assert set(kept) <= set(ops) and not any(op.call.known for op in ops if op not in kept)
            assert oracle(model, kept, init) is oracle(model, ops, init), (ops, kept)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OP_WIDE, min_size=1, max_size=7), st.booleans(), st.integers(0, 10), st.integers(0, 2))
def test_a_witness_is_a_real_violation_and_illegal_on_its_own(
    spec: list[tuple[Any, ...]], kv: bool, which: int, delta: int
) -> None:
    model = get_model("kv" if kv else "cas-register")
    init = model.init(None)
    for history in _histories(spec, kv, which, delta):
        for ops in _parts(history, model.name):
            found = find_witness(ops, init, model.read_fs)
            if found is None:
                continue
            _, observer, picked = found
            assert observer in picked
            assert oracle(model, ops, init) is False
            assert oracle(model, [ops[i] for i in picked], init) is False


def test_the_shortcuts_fire_where_they_should() -> None:
    """A read of a value nobody wrote; a read of empty after an acknowledged write; an unobserved timeout."""
    model = get_model("cas-register")

    def part(ops: list[Op]) -> list[Any]:
        return prepare_part(model, History(ops).pairs())

    never = part([Op(0, 0, 0, "invoke", "write", 1), Op(1, 1, 0, "ok", "write", 1),
                  Op(2, 2, 1, "invoke", "read"), Op(3, 3, 1, "ok", "read", 7)])  # fmt: skip
    assert find_witness(never, None, model.read_fs) == (
        "observed 7, which no operation invoked before it could have written",
        1,
        [1],
    )
    lost = part([Op(0, 0, 0, "invoke", "write", 1), Op(1, 1, 0, "ok", "write", 1),
                 Op(2, 2, 1, "invoke", "read"), Op(3, 3, 1, "ok", "read", None)])  # fmt: skip
    found = find_witness(lost, None, model.read_fs)
    assert found is not None and found[2] == [0, 1]
    overlapping = part([Op(0, 0, 0, "invoke", "write", 1), Op(1, 1, 1, "invoke", "read"),
                        Op(2, 2, 0, "ok", "write", 1), Op(3, 3, 1, "ok", "read", None)])  # fmt: skip
    assert find_witness(overlapping, None, model.read_fs) is None  # the read may precede the write
    timeouts = part([Op(0, 0, 0, "invoke", "write", 1), Op(1, 1, 0, "info", "write", 1),
                     Op(2, 2, 1, "invoke", "write", 2), Op(3, 3, 1, "info", "write", 2),
                     Op(4, 4, 2, "invoke", "read"), Op(5, 5, 2, "ok", "read", 2)])  # fmt: skip
    assert [op.call.arg for op in drop_unobserved(timeouts, model.read_fs)] == [2, None]
    lost_ops = [Op(0, 0, 0, "invoke", "write", 1), Op(1, 1, 0, "ok", "write", 1),
                Op(2, 2, 1, "invoke", "read"), Op(3, 3, 1, "ok", "read", None)]  # fmt: skip
    r = check(History(lost_ops), model="cas-register")
    assert r.valid is False and r.details["failed_part"]["reason_op"] == 2 and "overwritten" in r.summary
    assert r.details["failed_part"]["stuck_ops"] == [2]


@needs_native
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OP_WIDE, min_size=1, max_size=30), st.booleans(), st.integers(0, 10), st.integers(0, 2))
def test_native_search_agrees_with_the_python_search(
    spec: list[tuple[Any, ...]], kv: bool, which: int, delta: int
) -> None:
    """Raw searches (no pre-check, no pruning) with the built-in models in Rust and with a model the native
    core calls back (a subclass redefining ``step``)."""
    model = get_model("kv" if kv else "cas-register")

    class Wrapped(type(model)):  # type: ignore[misc]
        def step(self, state: Any, call: Any) -> tuple[bool, Any]:
            return super().step(state, call)

    init = model.init(None)
    for history in _histories(spec, kv, which, delta):
        for ops in _parts(history, model.name):
            ours = search(ops, model.step, init, Budget())
            for m in (model, Wrapped()):
                theirs = native.search(ops, m.step, init, Budget(), read_fs=m.read_fs)
                assert theirs.status == ours.status
                assert theirs.status in (OK, ILLEGAL)
                if ours.status == ILLEGAL:
                    assert max(map(len, theirs.longest), default=0) == max(map(len, ours.longest), default=0)


@needs_native
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OP_WIDE, min_size=1, max_size=40), st.integers(0, 10), st.integers(0, 2), st.booleans())
@example(  # two illegal keys: the engines may name different ones (found by hypothesis)
    [("read", 0, 0, "x", 0, 0, 0, "ok", False), ("read", 0, 0, "y", 0, 0, 0, "ok", False),
     ("cas", 0, 1, "x", 0, 0, 0, "info", False)], 0, 0, True,
)  # fmt: skip
def test_the_native_kv_fast_path_agrees_with_the_python_pipeline(
    spec: list[tuple[Any, ...]], which: int, delta: int, appends: bool
) -> None:
    """``fastkv`` (pairing, encoding, pruning and pre-checks in the native core) against the pure-Python
    pipeline, on kv histories with and without appends (writes then append their value's text)."""
    for history in _histories(spec, True, which, delta):
        if appends:
            history = History(
                Op(o.index, o.time, o.process, o.type, "append" if o.f == "write" else o.f,
                   {**o.value, "value": str(o.value["value"])} if o.f == "write" else o.value, o.error)
                for o in history
            )  # fmt: skip
        init = "" if appends else None
        fast = check(history, model="kv", init=init, engine="native")
        slow = check(history, model="kv", init=init, engine="python")
        assert fast.valid is slow.valid, (history.ops, fast.summary, slow.summary)
        assert fast.details["ops"] == slow.details["ops"] and fast.details["parts"] == slow.details["parts"]
        if slow.valid is False and fast.details["failed_part"] != slow.details["failed_part"]:
            # several keys can be illegal: each engine stops at the first it finds (the native one searches
            # the smallest part first). The part the native engine names must be illegal on its own.
            key = fast.details["failed_part"]["key"]
            alone = History(o for o in history if o.value.get("key") == key)
            assert check(alone, model="kv", init=init, engine="python").valid is False, (history.ops, key)


@needs_native
def test_native_and_python_agree_on_the_corpus(corpus: Path) -> None:
    rows = list(csv.DictReader((corpus / "porcupine" / "MANIFEST.tsv").open(), delimiter="\t"))
    assert len(rows) == 108
    for row in rows:
        history = load(corpus / "porcupine" / row["file"])
        opts: dict[str, Any] = {"model": "kv", "init": ""} if row["file"].startswith("kv/") else {
            "model": "cas-register"}  # fmt: skip
        results = {e: check(history, engine=e, **opts) for e in ("native", "python")}
        expected = row["expected_linearizable"] == "true"
        assert [r.valid for r in results.values()] == [expected, expected], row["file"]
        # kv parts run side by side natively: those stopped because another part was illegal are not "unknown"
        assert results["native"].details["unknown_parts"] == [], row["file"]


@pytest.mark.parametrize("generator", [histgen.lost_write, histgen.ack_before_commit])
def test_lost_write_histories_are_decided_within_the_default_budget(generator: Any) -> None:
    """10/10 seeded histories decided (never unknown) with the default memory and a 60 s time limit; the
    lost writes are found, and the engines agree."""
    verdicts = []
    for seed in range(1, 11):
        history = generator(seed)
        r = check(history, model="kv", time_limit=60)
        assert r.valid in (True, False), r.summary
        verdicts.append(r.valid)
        if r.valid is True:  # no read saw the loss: then the plain search agrees
            assert check(history, model="kv", engine="python", time_limit=60).valid is True
    assert verdicts.count(False) >= 9, verdicts


@pytest.mark.slow
@pytest.mark.parametrize("generator", [histgen.lost_write, histgen.ack_before_commit])
def test_lost_write_histories_are_decided_by_the_pure_python_fallback(generator: Any) -> None:
    for seed in range(1, 11):
        history = generator(seed)
        assert check(history, model="kv", time_limit=60, engine="python").valid is check(
            history, model="kv", time_limit=60).valid  # fmt: skip


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"CHAOS_NATIVE": "0"}, "disabled by CHAOS_NATIVE=0"),
        ({"CHAOS_LINSEARCH_LIB": "/nonexistent.so"}, "not built"),
    ],
)
def test_without_the_native_core_the_python_search_answers(
    tmp_path: Path, env: dict[str, str], why: str
) -> None:
    """The fallback: auto uses the pure-Python search, --engine native is refused in one line (exit 3)."""
    import os
    import subprocess
    import sys

    p = tmp_path / "h.edn"
    p.write_text(
        "[{:process 0 :type :invoke :f :write :value 1} {:process 0 :type :ok :f :write :value 1}]\n"
    )
    code = (
        "import sys; from harness.checkers import native; print(native.why_unavailable());"
        "from harness.cli import main; print(main(['check', sys.argv[1]]));"
        "print(main(['check', sys.argv[1], '--engine', 'native']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(p)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    assert why in lines[0] and lines[-2] == "0" and lines[-1] == "3"
    assert "native linearizability core is unavailable" in out.stderr and "Traceback" not in out.stderr
