"""Golden histories for the lock-safety checker: the clean case and each kind of violation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.checkers.base import UNKNOWN
from harness.checkers.lock_safety import check
from harness.history import History, read_jsonl
from harness.op import Op

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


def test_grant_inside_a_running_unreleased_lease_is_caught_even_when_fencing_hid_it() -> None:
    h = read_jsonl(DATA / "lock-early-grant.jsonl")
    r = check(h)
    assert r.valid is False
    assert r.details["overlaps"] == [] and r.details["token_regressions"] == []
    (early,) = r.details["lease_overlaps"]
    assert early["lock"] == "L"
    assert (early["first"]["token"], early["second"]["token"]) == (1, 2)
    assert early["first"]["op"] == 0 and early["second"]["op"] == 2
    # Even without the resource's log the grants alone prove it.
    assert check(h[:4]).valid is False


def test_released_or_expired_leases_are_no_early_grant() -> None:
    h = read_jsonl(DATA / "lock-early-grant.jsonl")
    late = 1_100_000_000  # the second acquire is sent 1.1 s after the first (lease 1000 ms)
    after_expiry = History(
        Op(
            o.index,
            o.time + late,
            o.process,
            o.type,
            o.f,
            dict(o.value, granted_at=1010, expires_at=2010),
            o.error,
        )
        if o.index == 3
        else replace(o, time=o.time + (late if o.index > 1 else 0))
        for o in h
    )
    assert check(after_expiry).details["lease_overlaps"] == []
    # The same stamps but the second grant completed (harness clock) 3 ms after the first acquire was sent:
    # the first lease (1000 ms from no earlier than that) was still running -- caught by the harness's clock.
    skewed = History(replace(o, time=o.time + 3_000_000) if o.index >= 2 else o for o in after_expiry)
    skewed = History(replace(o, time=o.time - late) if o.index >= 2 else o for o in skewed)
    (real,) = check(skewed).details["lease_overlaps"]
    assert real["clock"] == "harness" and (real["first"]["token"], real["second"]["token"]) == (1, 2)
    # An info release (it may have happened) clears the first holder: no false alarm.
    release = {"lock": "L", "token": 1}
    release_ops = [Op(100, 2, 0, "invoke", "release", release), Op(101, 2, 0, "info", "release", release)]
    released = History([*h[:2], *release_ops, *h[2:]])
    assert check(released).details["lease_overlaps"] == []
