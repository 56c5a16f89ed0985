"""Evidence before a verdict: per-f counts, the final phase, the floor, faults injected, how they weigh."""

from __future__ import annotations

from typing import Any

from harness import evidence as ev
from harness.history import History
from harness.op import Op


def _history(*calls: tuple[Any, str, str, Any], nemesis: tuple[tuple[str, str | None], ...] = ()) -> History:
    """``(process, f, completion type or None for never completed, value)`` per client call, in order."""
    ops: list[Op] = []
    for f, error in nemesis:
        ops.append(Op(len(ops), len(ops), "nemesis", "info", f, {"kind": "kill"}, error))
    for process, f, kind, value in calls:
        ops.append(Op(len(ops), len(ops), process, "invoke", f, value))
        if kind is not None:
            ops.append(Op(len(ops), len(ops), process, kind, f, value))
    return History(ops)


def test_counts_per_f_and_a_kind_that_never_succeeded() -> None:
    h = _history(
        (0, "write", "ok", 1),
        (1, "read", "fail", None),
        (2, "read", "info", None),
        (3, "read", None, None),
        (4, "write", "ok", 2),
    )
    e = ev.gather(h, ev.Rules(min_ok=0))
    assert e.counts == {"write": ev.Counts(2, 0, 0), "read": ev.Counts(0, 1, 2)}
    assert not e.enough and e.lacking == (
        "no read completed ok (3 issued: 1 failed, 2 unknown): the history proves nothing about read",
    )
    assert ev.judge(True, e) == "unknown" and ev.judge("unknown", e) == "unknown"
    assert ev.judge(False, e) is False  # a violation found needs no more evidence
    assert ev.gather(h, ev.Rules(min_ok=0, optional=frozenset({"read"}))).enough


def test_the_floor_counts_ok_ops_of_the_workload_only() -> None:
    h = _history(*((i, "write", "ok", i) for i in range(3)), (9, "read", "ok", None))
    assert ev.gather(h, ev.Rules(min_ok=4)).enough
    short = ev.gather(h, ev.Rules(min_ok=4), final_from=6)  # the read is a final op
    assert short.lacking == ("only 3 operation(s) completed ok, fewer than the 4 required (min_ok)",)
    assert short.final == {"read": ev.Counts(1, 0, 0)} and short.final_ok is True


def test_a_final_op_must_succeed_once_retries_included() -> None:
    final = [
        (100, "read", "fail", {"key": "k0"}),
        (101, "read", "ok", {"key": "k0"}),  # the retry succeeded
        (102, "read", "info", {"key": "k1"}),
        (103, "read", "fail", {"key": "k1"}),
    ]
    h = _history(*((i, "write", "ok", i) for i in range(10)), *final)
    e = ev.gather(h, final_from=20)
    assert e.final_ok is False and e.final_failed == (
        'read {"key": "k1"} (2 attempts: 0 ok, 1 failed, 1 unknown)',
    )
    assert len(e.lacking) == 1 and e.lacking[0].startswith("the final phase did not succeed")
    assert ev.gather(h, ev.Rules(final=False), final_from=20).enough
    assert ev.gather(h).final_ok is None  # no final phase known: nothing to require of it


def test_no_client_op_at_all_proves_nothing() -> None:
    e = ev.gather(History(), ev.Rules(min_ok=0))
    assert e.lacking == ("no client operation was recorded: the history proves nothing",)


def test_faults_injected_and_the_note_when_none_was() -> None:
    calls = [(i, "write", "ok", i) for i in range(10)]
    hit = ev.gather(_history(*calls, nemesis=(("start-kill", None), ("stop-kill", None))), faults_planned=1)
    assert hit.faults_injected == 1 and hit.notes() == []
    refused = ev.gather(_history(*calls, nemesis=(("start-kill", "refused"),)), faults_planned=2)
    assert refused.no_fault and refused.notes() == [
        "no fault was injected (2 planned, none applied): this run tested the system, not its fault tolerance"
    ]
    empty = ev.gather(_history(*calls), faults_planned=0)
    assert empty.notes()[0].startswith("no fault was injected (the fault schedule was empty)")
    assert empty.enough  # a note, not a lack of evidence


def test_round_trip_through_json_form() -> None:
    h = _history((0, "write", "ok", 1), (1, "read", "fail", None), (100, "read", "ok", {"key": "k0"}))
    e = ev.gather(h, ev.Rules(min_ok=2, optional=frozenset({"cas"})), final_from=4, faults_planned=0)
    back = ev.Evidence.from_dict(e.to_dict())
    assert back == e and back.to_dict()["notes"] == e.notes()
    assert ev.counts_line(e) == (
        "read 0 ok, 1 failed, 0 unknown; write 1 ok, 0 failed, 0 unknown; "
        "final read 1 ok, 0 failed, 0 unknown"
    )
