"""The list-append / rw-register workloads: seeded, unique values, keys retired, options validated."""

from __future__ import annotations

import random

import pytest

from harness.errors import BadInput
from harness.registry import Registry
from harness.workloads.txn import ListAppendWorkload, RwRegisterWorkload


def _run(wl: ListAppendWorkload | RwRegisterWorkload, seed: int, n: int) -> list[list[list[object]]]:
    plan = wl.plan(0, random.Random(seed))
    out = []
    for _ in range(n):
        step = plan.next(None)
        assert step is not None and step[0] == "txn"
        out.append(step[1])
    return out


def test_values_unique_keys_retired_lengths_bounded() -> None:
    wl = ListAppendWorkload({"keys": 2, "max_writes_per_key": 3, "min_txn_length": 2, "max_txn_length": 3})
    txns = _run(wl, 7, 200)
    writes = [(m[1], m[2]) for t in txns for m in t if m[0] == "append"]
    assert len({v for _, v in writes}) == len(writes)
    per_key: dict[object, int] = {}
    for k, _ in writes:
        per_key[k] = per_key.get(k, 0) + 1
    assert max(per_key.values()) <= 3 and len(per_key) > 20
    assert all(2 <= len(t) <= 3 for t in txns)
    assert all(m[2] is None for t in txns for m in t if m[0] == "r")


def test_mix_weights_set_the_read_share() -> None:
    mops = [m for t in _run(ListAppendWorkload({"read": 3, "write": 1}), 9, 400) for m in t]
    share = sum(m[0] == "r" for m in mops) / len(mops)
    assert 0.68 < share < 0.82


def test_seeded_and_read_mix() -> None:
    a = _run(ListAppendWorkload({"read": 0}), 3, 50)
    b = _run(ListAppendWorkload({"read": 0}), 3, 50)
    assert a == b and all(m[0] == "append" for t in a for m in t)
    regs = _run(RwRegisterWorkload({"read": 3, "write": 0}), 3, 20)
    assert all(m[0] == "r" for t in regs for m in t)
    assert all(m[0] in ("w", "r") for t in _run(RwRegisterWorkload(), 1, 30) for m in t)


def test_ops_limit_final_reads_and_checker() -> None:
    wl = RwRegisterWorkload({"ops": 2, "keys": 3, "consistency_model": "serializable"})
    plan = wl.plan(1, 5)
    assert plan.next(None) and plan.next(None) and plan.next(None) is None
    assert wl.final_ops() == [("txn", [["r", 0, None], ["r", 1, None], ["r", 2, None]])]
    assert wl.checkers() == {"rw-register": {"consistency_model": "serializable"}}


@pytest.mark.parametrize(
    "opts, field",
    [
        ({"keys": 0}, "workload.keys"),
        ({"read": -1}, "workload.read"),
        ({"read": 0, "write": 0}, "read and write weights are both 0"),
        ({"colour": 1}, "workload.colour"),
        ({"min_txn_length": 5, "max_txn_length": 2}, "workload.min_txn_length"),
        ({"consistency_model": "linearizable"}, "workload.consistency_model"),
    ],
)
def test_bad_options_name_the_field(opts: dict[str, object], field: str) -> None:
    with pytest.raises(BadInput, match=field):
        ListAppendWorkload(opts)


def test_registered_as_entry_points() -> None:
    assert Registry("workloads").get("list-append") is ListAppendWorkload
    assert Registry("workloads").get("rw-register") is RwRegisterWorkload
    assert Registry("checkers").get("list-append").check.__name__ == "list_append"


def test_an_experiment_can_name_the_workload_and_its_mix() -> None:
    from harness.loader import loads

    exp = loads(
        "name: txn\nexpect: valid\ntarget: {name: kv, nodes: 3}\n"
        "workload: {kind: list-append, duration: 5, keys: 5, mix: {read: 3, write: 1}}\n"
    )
    assert exp.workload.kind == "list-append"
    assert [c.name for c in exp.checkers] == ["list-append"]
    assert dict(exp.checkers[0].options) == {"consistency_model": "strict-serializable"}
