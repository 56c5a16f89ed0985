"""One minimal hand-built history per anomaly type the transactional checkers report, plus valid ones.

Each test says which model the history violates and which (weaker) model it still satisfies, so the table of
which model forbids what is exercised as well as the detection.
"""

from __future__ import annotations

from typing import Any

import pytest
from txn_hist import H

from harness.checkers.base import UNKNOWN
from harness.checkers.txn.check import list_append, rw_register
from harness.checkers.txn.models import ANOMALIES, FORBIDS, MODELS
from harness.errors import BadInput


def kinds(
    h: H, model: str = "strict-serializable", checker: Any = list_append, **kw: Any
) -> tuple[Any, list[str]]:
    r = checker(h.history(), consistency_model=model, **kw)
    return r.valid, r.details["anomaly_types"]


def test_serial_history_is_valid_under_every_model() -> None:
    h = H().txn(0, [["append", "x", 1], ["r", "y", []]]).txn(1, [["r", "x", [1]], ["append", "y", 1]])
    h.txn(0, [["r", "x", [1]], ["r", "y", [1]], ["append", "x", 2]]).txn(1, [["r", "x", [1, 2]]])
    for m in MODELS:
        assert kinds(h, m) == (True, [])


def test_concurrent_but_serializable_history_is_valid() -> None:
    h = H().begin(0, [["append", "x", 1]]).begin(1, [["r", "x", []], ["append", "y", 1]]).end(0).end(1)
    h.txn(2, [["r", "x", [1]], ["r", "y", [1]]])
    assert kinds(h) == (True, [])


def test_internal() -> None:
    h = H().txn(0, [["append", "x", 1]]).txn(1, [["append", "x", 2], ["r", "x", [1]]])
    assert kinds(h, "read-committed") == (True, ["internal"])
    assert kinds(h, "snapshot-isolation") == (False, ["internal"])


def test_duplicate_elements() -> None:
    h = H().txn(0, [["append", "x", 1]]).txn(1, [["r", "x", [1, 1]]])
    assert kinds(h, "read-uncommitted") == (False, ["duplicate-elements"])


def test_incompatible_order() -> None:
    h = H().begin(0, [["append", "x", 1]]).begin(1, [["append", "x", 2]]).end(0).end(1)
    h.txn(2, [["r", "x", [1, 2]]]).txn(3, [["r", "x", [2, 1]]])
    valid, found = kinds(h, "read-committed")
    assert valid is False and "incompatible-order" in found


def test_garbage_read() -> None:
    h = H().txn(0, [["r", "x", [9]]])
    assert kinds(h, "read-uncommitted") == (False, ["garbage-read"])


def test_g1a_aborted_read() -> None:
    h = H().txn(0, [["append", "x", 1]], "fail").txn(1, [["r", "x", [1]]])
    assert kinds(h, "read-uncommitted") == (True, ["G1a"])
    assert kinds(h, "read-committed") == (False, ["G1a"])


def test_g1b_intermediate_read() -> None:
    h = H().begin(0, [["append", "x", 1], ["append", "x", 2]]).begin(1, [["r", "x", [1]]]).end(0).end(1)
    assert kinds(h, "read-uncommitted") == (True, ["G1b"])
    assert kinds(h, "read-committed") == (False, ["G1b"])


def test_dirty_update() -> None:
    h = H().txn(0, [["append", "x", 1]], "fail").txn(1, [["append", "x", 2]]).txn(2, [["r", "x", [1, 2]]])
    valid, found = kinds(h, "read-committed")
    assert valid is False and "dirty-update" in found and "G1a" in found


def test_future_read() -> None:
    h = H().txn(0, [["r", "x", [1]], ["append", "x", 1]])
    valid, found = kinds(h, "read-committed")
    assert valid is False and "future-read" in found


def test_lost_update() -> None:
    h = H().begin(0, [["r", "x", []], ["append", "x", 1]]).begin(1, [["r", "x", []], ["append", "x", 2]])
    h.end(0).end(1).txn(2, [["r", "x", [1, 2]]])
    valid, found = kinds(h, "snapshot-isolation")
    assert valid is False and "lost-update" in found
    assert kinds(h, "read-committed")[0] is True


def test_g0_write_cycle() -> None:
    h = (
        H()
        .begin(0, [["append", "x", 1], ["append", "y", 1]])
        .begin(1, [["append", "x", 2], ["append", "y", 2]])
    )
    h.end(0).end(1).txn(2, [["r", "x", [1, 2]], ["r", "y", [2, 1]]])
    valid, found = kinds(h, "read-uncommitted")
    assert valid is False and found == ["G0"]


def test_g1c_circular_information_flow() -> None:
    h = H().begin(0, [["append", "x", 1], ["r", "y", [1]]]).begin(1, [["append", "y", 1], ["r", "x", [1]]])
    h.end(0).end(1)
    assert kinds(h, "read-uncommitted") == (True, ["G1c"])
    assert kinds(h, "read-committed") == (False, ["G1c"])


def test_g_single_read_skew_with_witness() -> None:
    h = H().begin(2, [["r", "y", [1]], ["r", "x", []]])
    h.txn(0, [["append", "x", 1]]).txn(1, [["r", "x", [1]], ["append", "y", 1]]).end(2)
    r = list_append(h.history(), consistency_model="snapshot-isolation")
    assert r.valid is False and r.details["anomaly_types"] == ["G-single-item"]
    a = r.details["anomalies"][0]
    assert [s["kind"] for s in a["cycle"]].count("rw") == 1
    rw = next(s for s in a["cycle"] if s["kind"] == "rw")
    assert rw["why"] == "T0 read x = [] without T1's append of 1, which T1 installed as the first element: rw"
    assert a["ruled_out"] == ["snapshot-isolation", "repeatable-read", "serializable", "strict-serializable"]
    assert kinds(h, "read-committed")[0] is True


def test_g2_item_write_skew() -> None:
    h = H().begin(0, [["r", "x", []], ["append", "y", 1]]).begin(1, [["r", "y", []], ["append", "x", 1]])
    h.end(0).end(1).txn(2, [["r", "x", [1]], ["r", "y", [1]]])
    assert kinds(h, "snapshot-isolation") == (True, ["G2-item"])
    assert kinds(h, "serializable") == (False, ["G2-item"])
    assert kinds(h, "repeatable-read") == (False, ["G2-item"])


def test_g0_realtime() -> None:
    h = H().txn(0, [["append", "x", 1]]).txn(1, [["append", "x", 2]]).txn(2, [["r", "x", [2, 1]]])
    assert kinds(h, "serializable") == (True, [])
    assert kinds(h) == (False, ["G0-realtime"])


def test_g1c_realtime() -> None:
    h = H().txn(0, [["r", "x", [1]]]).txn(1, [["append", "x", 1]])
    assert kinds(h, "serializable") == (True, [])
    assert kinds(h) == (False, ["G1c-realtime"])


def test_g_single_process_and_realtime_stale_read() -> None:
    same = H().txn(0, [["append", "x", 1]]).txn(0, [["r", "x", []]])
    assert kinds(same, "serializable") == (True, [])
    assert kinds(same) == (False, ["G-single-item-process"])
    other = H().txn(0, [["append", "x", 1]]).txn(1, [["r", "x", []]])
    r = list_append(other.history())
    assert r.valid is False and r.details["anomaly_types"] == ["G-single-item-realtime"]
    assert "realtime" in [s["kind"] for s in r.details["anomalies"][0]["cycle"]]


def test_g2_item_realtime() -> None:
    h = H().begin(2, [["r", "y", []], ["append", "x", 1]]).txn(1, [["append", "y", 1]])
    h.txn(0, [["r", "x", []]]).end(2)
    assert kinds(h, "serializable") == (True, [])
    assert kinds(h) == (False, ["G2-item-realtime"])


def test_unobserved_committed_append_is_a_lost_append() -> None:
    h = H().txn(0, [["append", "x", 1]]).txn(1, [["append", "x", 2]]).txn(2, [["r", "x", [2]]])
    valid, found = kinds(h)
    assert valid is False and found and found[0].startswith(("G0", "G-single-item"))


def test_info_transactions_may_or_may_not_have_happened() -> None:
    h = H().txn(0, [["append", "x", 1]], "info").txn(1, [["r", "x", []]]).txn(2, [["r", "x", [1]]])
    assert kinds(h) == (True, [])


def test_budget_spent_is_unknown_not_a_hang() -> None:
    h = H().begin(0, [["r", "x", []], ["append", "y", 1]]).begin(1, [["r", "y", []], ["append", "x", 1]])
    h.end(0).end(1).txn(2, [["r", "x", [1]], ["r", "y", [1]]])
    r = list_append(h.history(), consistency_model="serializable", cycle_budget=1)
    assert r.valid == UNKNOWN and r.details["budget_exhausted"]


def test_every_anomaly_is_forbidden_by_some_model() -> None:
    assert all(any(a in FORBIDS[m] for m in MODELS) for a in ANOMALIES)
    for weaker, stronger in zip(MODELS[:2], MODELS[1:3], strict=True):
        assert FORBIDS[weaker] <= FORBIDS[stronger]
    assert FORBIDS["serializable"] <= FORBIDS["strict-serializable"]


# --- rw-register --------------------------------------------------------------------------------------
def test_register_valid() -> None:
    h = (
        H()
        .txn(0, [["w", "x", 1]])
        .txn(1, [["r", "x", 1], ["w", "y", 2]])
        .txn(0, [["r", "y", 2], ["r", "x", 1]])
    )
    assert kinds(h, checker=rw_register) == (True, [])


def test_register_g_single() -> None:
    h = H().begin(2, [["r", "y", 1], ["r", "x", None]])
    h.txn(0, [["w", "x", 1]]).txn(1, [["r", "x", 1], ["w", "y", 1]]).end(2)
    assert kinds(h, "serializable", rw_register) == (False, ["G-single-item"])


def test_register_write_skew() -> None:
    h = H().begin(0, [["r", "x", None], ["w", "y", 1]]).begin(1, [["r", "y", None], ["w", "x", 1]])
    h.end(0).end(1)
    assert kinds(h, "snapshot-isolation", rw_register) == (True, ["G2-item"])
    assert kinds(h, "serializable", rw_register) == (False, ["G2-item"])


def test_register_g0_needs_wfr_keys() -> None:
    h = H().begin(0, [["r", "x", None], ["w", "x", 1], ["r", "y", 2], ["w", "y", 3]])
    h.begin(1, [["r", "y", None], ["w", "y", 2], ["r", "x", 1], ["w", "x", 4]]).end(0).end(1)
    _, found = kinds(h, "read-uncommitted", rw_register, wfr_keys=True)
    assert "G0" in found or "G1c" in found
    assert "G0" not in kinds(h, "read-uncommitted", rw_register)[1]


def test_register_non_cycle_anomalies() -> None:
    h = H().txn(0, [["w", "x", 1]], "fail").txn(1, [["r", "x", 1]])
    assert kinds(h, "read-committed", rw_register) == (False, ["G1a"])
    h = H().begin(0, [["w", "x", 1], ["w", "x", 2]]).begin(1, [["r", "x", 1]]).end(0).end(1)
    assert kinds(h, "read-committed", rw_register) == (False, ["G1b"])
    h = H().txn(0, [["w", "x", 1], ["r", "x", 2]])
    assert kinds(h, "snapshot-isolation", rw_register) == (False, ["internal"])
    h = H().txn(0, [["r", "x", 5]])
    assert kinds(h, "read-uncommitted", rw_register) == (False, ["garbage-read"])
    h = (
        H()
        .begin(0, [["r", "x", None], ["w", "x", 1]])
        .begin(1, [["r", "x", None], ["w", "x", 2]])
        .end(0)
        .end(1)
    )
    assert "lost-update" in kinds(h, "snapshot-isolation", rw_register)[1]


def test_bad_input_names_the_op_and_option() -> None:
    h = H().txn(0, [["put", "x", 1]])
    with pytest.raises(BadInput, match="op index 1: micro-op f 'put'"):
        list_append(h.history())
    with pytest.raises(BadInput, match="unknown consistency model 'snapshot'"):
        list_append(H().history(), consistency_model="snapshot")
    with pytest.raises(BadInput, match="unknown option 'wfr_keys'"):
        list_append(H().history(), wfr_keys=True)


def test_the_runner_can_pass_a_budget_as_time_limit() -> None:
    import inspect

    for fn in (list_append, rw_register):
        assert "time_limit" in inspect.signature(fn).parameters
