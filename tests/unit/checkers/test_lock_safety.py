"""Golden histories for the lock-safety checker: the clean case and each kind of violation."""

from __future__ import annotations

from pathlib import Path

from harness.checkers.base import UNKNOWN
from harness.checkers.lock_safety import check
from harness.history import read_jsonl

DATA = Path(__file__).resolve().parents[2] / "data" / "checkers"


def test_clean_handover_with_rejected_stale_write() -> None:
    r = check(read_jsonl(DATA / "lock-clean.jsonl"))
    assert r.valid is True, r.details
    assert r.details["grants"] == 2 and r.details["writes"] == 2
    assert r.details["overlaps"] == [] and r.details["token_regressions"] == []


def test_interleaved_holders_are_overlaps_and_the_late_write_a_regression() -> None:
    r = check(read_jsonl(DATA / "lock-overlap.jsonl"))
    assert r.valid is False
    (ov,) = r.details["overlaps"]
    assert ov["a"] == {"process": 0, "token": 1, "first_write": 1, "last_write": 4}
    assert ov["b"] == {"process": 1, "token": 2, "first_write": 2, "last_write": 3}
    assert r.details["token_regressions"] == [{"seq": 4, "token": 1, "previous_token": 2}]
    assert r.details["duplicate_grants"] == []


def test_older_token_accepted_after_newer_is_a_regression() -> None:
    r = check(read_jsonl(DATA / "lock-regression.jsonl"))
    assert r.valid is False
    assert r.details["overlaps"] == []
    assert r.details["token_regressions"] == [{"seq": 2, "token": 1, "previous_token": 2}]


def test_same_token_granted_twice() -> None:
    r = check(read_jsonl(DATA / "lock-duplicate-grant.jsonl"))
    assert r.valid is False
    (dup,) = r.details["duplicate_grants"]
    assert dup["token"] == 7 and dup["grants"] == [0, 1]


def test_without_resource_log_only_grants_are_checked() -> None:
    h = read_jsonl(DATA / "lock-clean.jsonl")[:12]
    assert check(h).valid == UNKNOWN
    assert check(read_jsonl(DATA / "lock-duplicate-grant.jsonl")[:4]).valid is False
