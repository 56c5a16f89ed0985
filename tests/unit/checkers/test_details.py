"""Typed result details: each checker's own type survives results JSON with the same keys as before, stored
results are read back into that type by the checker name written with them, and anything else stays plain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import availability, exactly_once, linearizable, lock_safety
from harness.checkers.base import Composite, PlainDetails, Result, check_safe
from harness.checkers.contract import Checkers
from harness.checkers.details import read_composite, read_result
from harness.checkers.txn.check import TxnDetails, list_append, rw_register
from harness.history import History, read_jsonl
from harness.op import Op

DATA = Path(__file__).resolve().parents[2] / "data" / "checkers"
MS = 1_000_000


def _kv(rows: list[tuple[int, int, str, str, Any]]) -> History:
    """(time ms, process, type, f, value) rows as a kv history."""
    return History([Op(i, t * MS, p, ty, f, v) for i, (t, p, ty, f, v) in enumerate(rows)])  # type: ignore[arg-type]


def _rereads(n: int) -> History:
    """n concurrent writes never completed, then reads of each and of the first again: only an exhaustive
    search decides it, so a tiny memory budget leaves it unknown (as in test_check_cli)."""
    ops = [Op(i, i, i, "invoke", "write", i) for i in range(n)]
    for k, v in enumerate([*range(n), 0]):
        ops += [Op(len(ops), 0, 100 + k, "invoke", "read"), Op(len(ops) + 1, 0, 100 + k, "ok", "read", v)]
    return History(ops)


STALE = _kv(
    [
        (0, 0, "invoke", "write", {"key": "a", "value": 1}),
        (1, 0, "ok", "write", {"key": "a", "value": 1}),
        (2, 1, "invoke", "write", {"key": "a", "value": 2}),
        (3, 1, "ok", "write", {"key": "a", "value": 2}),
        (4, 2, "invoke", "read", {"key": "a", "value": None}),
        (5, 2, "ok", "read", {"key": "a", "value": 1}),
    ]
)
CLEAN = _kv(
    [
        (0, 0, "invoke", "write", {"key": "a", "value": 1}),
        (1, 0, "ok", "write", {"key": "a", "value": 1}),
        (2, 1, "invoke", "read", {"key": "a", "value": None}),
        (3, 1, "ok", "read", {"key": "a", "value": 1}),
    ]
)
G_SINGLE = History(
    [
        Op(0, 0, 0, "invoke", "txn", [["append", "x", 1]]),
        Op(1, 1, 0, "ok", "txn", [["append", "x", 1]]),
        Op(2, 2, 1, "invoke", "txn", [["r", "x", None], ["append", "y", 1]]),
        Op(3, 3, 2, "invoke", "txn", [["r", "y", None], ["r", "x", None]]),
        Op(4, 4, 1, "ok", "txn", [["r", "x", [1]], ["append", "y", 1]]),
        Op(5, 5, 2, "ok", "txn", [["r", "y", [1]], ["r", "x", []]]),
    ]
)
RW_SKEW = History(
    [
        Op(0, 0, 0, "invoke", "txn", [["r", "x", None], ["w", "y", 1]]),
        Op(1, 1, 1, "invoke", "txn", [["r", "y", None], ["w", "x", 1]]),
        Op(2, 2, 0, "ok", "txn", [["r", "x", None], ["w", "y", 1]]),
        Op(3, 3, 1, "ok", "txn", [["r", "y", None], ["w", "x", 1]]),
    ]
)

LIN_KEYS = ["model", "parts", "ops", "dropped_unobserved", "failed_part", "unknown_parts", "elapsed_s"]
CASES = [
    ("lin-illegal", lambda: linearizable.check(STALE, engine="python"), LIN_KEYS),
    ("lin-valid", lambda: linearizable.check(CLEAN, engine="python"), LIN_KEYS),
    (
        "lin-unknown",
        lambda: linearizable.check(_rereads(18), "register", max_memory_mb=0.05),
        [*LIN_KEYS, "limits"],
    ),
    ("eo-lost", lambda: exactly_once.check(read_jsonl(DATA / "eo-lost.jsonl")), None),
    ("eo-undecided", lambda: exactly_once.check(History()), ["counts"]),
    ("lock-overlap", lambda: lock_safety.check(read_jsonl(DATA / "lock-overlap.jsonl")), None),
    ("lock-no-reads", lambda: lock_safety.check(History()), None),
    ("availability", lambda: availability.check(CLEAN, min_ok_rate=0.5), None),
    ("list-append", lambda: list_append(G_SINGLE), None),
    ("rw-register", lambda: rw_register(RW_SKEW, consistency_model="serializable"), None),
]
OLD_KEYS = {  # the keys results had before details were typed, in their order
    "exactly-once": ["lost", "duplicated", "unexpected", "recovered", "counts"],
    "lock-safety": [
        "overlaps", "token_regressions", "duplicate_grants", "lease_overlaps", "grants", "writes",
    ],
    "list-append": [
        "consistency_model", "anomaly_types", "anomalies", "anomaly_counts", "ruled_out_models",
        "not_ruled_out", "budget_exhausted", "txns", "committed", "edges", "components", "seconds",
    ],
}  # fmt: skip


@pytest.mark.parametrize("name, run, keys", CASES, ids=[c[0] for c in CASES])
def test_details_round_trip_through_results_json_as_their_own_type(name: str, run: Any, keys: Any) -> None:
    r: Result = run()
    kind = Checkers().get(r.checker).details  # the type the registered checker declares
    assert type(r.details) is kind, name  # the checker returns its own type
    stored = json.loads(json.dumps(r.to_dict(), default=str))
    back = read_result(stored)
    assert type(back.details) is kind and back.details.to_dict() == stored["details"]
    assert back == Result.from_dict(stored, kind)
    expected = keys or OLD_KEYS.get(r.checker.replace("rw-register", "list-append"))
    if name == "lock-overlap":
        expected = [*OLD_KEYS["lock-safety"], "overlap_count"]
    if expected is not None:
        assert list(stored["details"]) == expected, name
    else:  # availability: the figures of analyse, flat, then the verdict's keys
        assert list(stored["details"]) == [
            *availability.analyse(CLEAN),
            "thresholds",
            "outside_faults",
            "breaches",
        ]


def test_typed_fields_say_what_the_checker_found() -> None:
    lin = linearizable.check(STALE, engine="python").details
    assert isinstance(lin, linearizable.LinearizableDetails) and lin.failed_part is not None
    assert lin.failed_part.key == "a" and lin.failed_part.stuck_ops and lin.model == "kv"
    eo = exactly_once.check(read_jsonl(DATA / "eo-duplicated.jsonl")).details
    assert isinstance(eo, exactly_once.ExactlyOnceDetails) and eo.decided and len(eo.duplicated) == 1
    assert not exactly_once.check(History()).details.decided  # type: ignore[attr-defined]
    lock = lock_safety.check(read_jsonl(DATA / "lock-regression.jsonl")).details
    assert (
        isinstance(lock, lock_safety.LockSafetyDetails) and lock.token_regressions and lock.overlap_count == 0
    )
    txn = list_append(G_SINGLE).details
    assert isinstance(txn, TxnDetails) and txn.anomaly_types == ["G-single"]
    av = availability.check(CLEAN, min_ok_rate=1.0).details
    assert (
        isinstance(av, availability.AvailabilityDetails)
        and av.has_figures
        and av.thresholds == {"min_ok_rate": 1.0}
    )


def test_details_still_read_as_a_mapping_of_their_json() -> None:
    r = linearizable.check(STALE, engine="python")
    assert r.details["failed_part"]["key"] == "a" and r.details.get("model") == "kv"
    assert dict(r.details) == r.details.to_dict() and {**r.details}["parts"] == 1


def test_a_plain_mapping_from_a_users_checker_is_kept_as_plain_details() -> None:
    r = Result("my-check", False, "bad", {"whatever": [1, 2]})
    assert isinstance(r.details, PlainDetails) and r.details == {"whatever": [1, 2]}
    assert r.to_dict()["details"] == {"whatever": [1, 2]}
    assert type(read_result(r.to_dict()).details) is PlainDetails


def test_a_crashed_or_timed_out_checker_reads_as_plain_details() -> None:
    def boom() -> Result:
        raise RuntimeError("checker bug")

    crashed = check_safe("linearizable", boom)
    assert type(read_result(crashed.to_dict()).details) is PlainDetails
    assert "traceback" in read_result(crashed.to_dict()).details
    budget = Result("linearizable", "unknown", "the time budget of 1 s ran out; not decided")
    assert type(read_result(budget.to_dict()).details) is PlainDetails


def test_a_composite_reads_back_with_each_checkers_type() -> None:
    composite = Composite(
        {
            "lin": linearizable.check(STALE, engine="python"),
            "eo": exactly_once.check(read_jsonl(DATA / "eo-lost.jsonl")),
        }
    )
    back = read_composite(json.loads(json.dumps(composite.to_dict())))
    assert isinstance(back.results["lin"].details, linearizable.LinearizableDetails)
    assert isinstance(back.results["eo"].details, exactly_once.ExactlyOnceDetails)
    assert back.valid is False and back.to_dict() == composite.to_dict()
