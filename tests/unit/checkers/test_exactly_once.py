"""Golden histories for the exactly-once checker: the clean case and each kind of violation."""

from __future__ import annotations

from pathlib import Path

from harness.checkers.base import UNKNOWN
from harness.checkers.exactly_once import check
from harness.history import History, read_jsonl
from harness.op import Op

DATA = Path(__file__).resolve().parents[2] / "data" / "checkers"


def test_clean_run_with_recovered_unknown_send() -> None:
    r = check(read_jsonl(DATA / "eo-clean.jsonl"))
    assert r.valid is True
    d = r.details
    assert d["lost"] == [] and d["duplicated"] == [] and d["unexpected"] == []
    assert d["recovered"] == [{"msg": "m2", "send_index": 2}]
    assert d["counts"]["sent_ok"] == 1 and d["counts"]["sent_info"] == 2 and d["counts"]["sent_fail"] == 1
    assert d["counts"]["applied"] == 2


def test_acknowledged_but_never_applied_is_lost_with_its_delivery_trail() -> None:
    r = check(read_jsonl(DATA / "eo-lost.jsonl"))
    assert r.valid is False
    (lost,) = r.details["lost"]
    assert lost["msg"] == "m2" and lost["send_index"] == 2
    assert [e["event"] for e in lost["trail"]] == ["deliver"]


def test_applied_twice_under_fresh_broker_ids_is_duplicated() -> None:
    r = check(read_jsonl(DATA / "eo-duplicated.jsonl"))
    assert r.valid is False
    (dup,) = r.details["duplicated"]
    assert dup["msg"] == "m1" and dup["count"] == 2
    assert {e["id"] for e in dup["effects"]} == {"b-1", "b-7"}
    assert r.details["lost"] == []


def test_applied_but_never_or_unsuccessfully_sent_is_unexpected() -> None:
    r = check(read_jsonl(DATA / "eo-unexpected.jsonl"))
    assert r.valid is False
    assert sorted(u["msg"] for u in r.details["unexpected"]) == ["ghost", "m1"]


def test_without_read_effects_the_verdict_is_unknown() -> None:
    h = History([Op(0, 0, 0, "invoke", "send", {"msg": "m1"}), Op(1, 1, 0, "ok", "send", {"msg": "m1"})])
    r = check(h)
    assert r.valid == UNKNOWN
    assert r.details["counts"]["sent_ok"] == 1
