"""The history model: frozen ops, pairing by process, JSONL round trip, streaming writer, torn tail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.history import History, HistoryWriter, read_jsonl, write_jsonl
from harness.op import Op


def _h() -> History:
    return History(
        [
            Op(0, 0, 0, "invoke", "write", 1),
            Op(1, 5, 1, "invoke", "read", None),
            Op(2, 6, "nemesis", "info", "start-partition", {"kind": "partition"}),
            Op(3, 9, 0, "ok", "write", 1),
            Op(4, 12, 1, "info", "read", None, error="timeout"),
            Op(5, 13, 2, "invoke", "write", 2),
        ]
    )


def test_ops_are_frozen_and_pairs_match_by_process() -> None:
    h = _h()
    with pytest.raises(dataclasses.FrozenInstanceError):
        h[0].value = 2  # type: ignore[misc]
    pairs = h.pairs()
    assert [(p.invoke.index, p.complete.index if p.complete else None) for p in pairs] == [
        (0, 3),
        (1, 4),
        (5, None),
    ]
    assert [p.type for p in pairs] == ["ok", "info", "info"]
    assert len(h.nemesis_ops()) == 1 and len(h.client_ops()) == 5


def test_double_invoke_is_bad_input() -> None:
    h = History([Op(0, 0, 0, "invoke", "read"), Op(1, 1, 0, "invoke", "read")])
    with pytest.raises(BadInput, match="op index 1: process 0 invokes while its op 0 is still open"):
        h.pairs()


def test_jsonl_round_trip_and_streaming_writer(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    write_jsonl(_h(), p)
    assert list(read_jsonl(p)) == list(_h())
    ticks = iter(range(0, 1000, 10))
    with HistoryWriter(tmp_path / "w.jsonl", clock=lambda: next(ticks)) as w:
        w.record(0, "invoke", "read")
        w.record(0, "ok", "read", 3)
    back = read_jsonl(tmp_path / "w.jsonl")
    assert [(op.index, op.time, op.value) for op in back] == [(0, 10, None), (1, 20, 3)]


def test_torn_last_line_is_dropped_but_a_torn_middle_line_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    write_jsonl(_h(), p)
    p.write_text(p.read_text() + '{"index": 6, "ti')
    assert len(read_jsonl(p)) == 6
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0], '{"index": 6, "ti', *lines[1:]]) + "\n")
    with pytest.raises(BadInput, match=r"h.jsonl:2: not valid JSON"):
        read_jsonl(p)


def test_make_op_builds_the_same_op_as_the_constructor() -> None:
    from harness.op import make_op

    for args in [(0, 5, 1, "invoke", "txn", [["r", 1, None]], None, None), (3, 9, "nemesis", "info", "kill")]:
        assert make_op(*args) == Op(*args)  # type: ignore[arg-type]
        assert hash(make_op(*args[:5])) == hash(Op(*args[:5]))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        make_op(0, 0, 1, "ok", "r").index = 2  # type: ignore[misc]


def test_pairs_are_computed_once_and_each_call_gets_its_own_list() -> None:
    h = History([Op(0, 0, 1, "invoke", "r"), Op(1, 1, 2, "invoke", "w", 3), Op(2, 2, 1, "ok", "r", 3)])
    first = h.pairs()
    first.clear()
    again = h.pairs()
    assert [(p.invoke.index, p.complete.index if p.complete else None) for p in again] == [(0, 2), (1, None)]
    assert again is not h.pairs() and again == h.pairs()
