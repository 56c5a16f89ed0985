"""The node that served each operation, in every checker's witness (issue 23 point 9): linearizable,
exactly-once, lock-safety and the transactional checkers, in JSON and in ``chaos check``'s text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.checkers import exactly_once, linearizable, lock_safety
from harness.checkers.txn.check import list_append
from harness.history import History
from harness.op import Op


def ops(rows: list[tuple[Any, ...]]) -> History:
    return History(
        Op(i, i * 10, p, t, f, v, node=n)  # type: ignore[arg-type]
        for i, (p, t, f, v, n) in enumerate(rows)
    )


STALE = [  # a write acknowledged by n1, then a read on n3 that misses it: not linearizable
    (0, "invoke", "write", {"key": "k", "value": 1}, None),
    (0, "ok", "write", {"key": "k", "value": 1}, "n1"),
    (1, "invoke", "read", {"key": "k", "value": None}, None),
    (1, "ok", "read", {"key": "k", "value": 0}, "n3"),
]


def test_linearizable_witness_names_each_ops_node(tmp_path: Path) -> None:
    r = linearizable.check(ops(STALE), model="kv", init=0)
    assert r.valid is False
    assert r.details["failed_part"]["nodes"] == {"0": "n1", "2": "n3"}
    hist = tmp_path / "h.jsonl"
    hist.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in ops(STALE)))
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", str(hist), "--init", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "process 0 on n1" in out.stdout and "process 1 on n3" in out.stdout, out.stdout + out.stderr


def test_exactly_once_lost_messages_name_the_node_that_acknowledged_them() -> None:
    h = ops(
        [
            (0, "invoke", "send", {"msg": "m1"}, None),
            (0, "ok", "send", {"msg": "m1"}, "n2"),
            (9, "invoke", "read-effects", None, None),
            (9, "ok", "read-effects", [], "n1"),
        ]
    )
    r = exactly_once.check(h)
    assert r.details["lost"] == [{"msg": "m1", "send_index": 0, "node": "n2"}]


def test_lock_grants_name_the_node_that_granted_them() -> None:
    grant = {"lock": "L", "token": 1, "granted_at": 0, "expires_at": 100}
    h = ops(
        [
            (0, "invoke", "acquire", {"lock": "L"}, None),
            (0, "ok", "acquire", grant, "n1"),
            (1, "invoke", "acquire", {"lock": "L"}, None),
            (1, "ok", "acquire", {**grant, "granted_at": 50, "expires_at": 150}, "n2"),
        ]
    )
    (overlap,) = lock_safety.check(h).details["lease_overlaps"]
    assert overlap["first"]["node"] == "n1" and overlap["second"]["node"] == "n2"
    twice = [
        (0, "invoke", "acquire", {"lock": "L"}, None),
        (0, "ok", "acquire", grant, "n1"),
        (1, "invoke", "acquire", {"lock": "L"}, None),
        (1, "ok", "acquire", grant, "n3"),
    ]
    dup = lock_safety.check(ops(twice))
    assert dup.details["duplicate_grants"][0]["nodes"] == {"0": "n1", "2": "n3"}


def test_txn_anomaly_transactions_name_their_node() -> None:
    h = ops(
        [
            (0, "invoke", "txn", [["r", "x", None], ["append", "y", 1]], None),
            (1, "invoke", "txn", [["r", "y", None], ["append", "x", 1]], None),
            (0, "ok", "txn", [["r", "x", []], ["append", "y", 1]], "n1"),
            (1, "ok", "txn", [["r", "y", []], ["append", "x", 1]], "n2"),
            (2, "invoke", "txn", [["r", "x", None], ["r", "y", None]], None),
            (2, "ok", "txn", [["r", "x", [1]], ["r", "y", [1]]], "n3"),
        ]
    )
    r = list_append(h, consistency_model="serializable")
    (anomaly,) = r.details["anomalies"]
    assert {t["name"]: t["node"] for t in anomaly["txns"]} == {"T0": "n1", "T1": "n2"}


def test_the_report_views_show_the_nodes() -> None:
    from harness.report import effects_view, lin_view

    h = ops(STALE)
    lin = linearizable.check(h, model="kv", init=0)
    html = lin_view.render(lin.details.failed_part, h.pairs())
    assert "<th>node</th>" in html and "<td>n3</td>" in html
    grant = {"lock": "L", "token": 1, "granted_at": 0, "expires_at": 100}
    twice = ops(
        [
            (0, "invoke", "acquire", {"lock": "L"}, None),
            (0, "ok", "acquire", grant, "n1"),
            (1, "invoke", "acquire", {"lock": "L"}, None),
            (1, "ok", "acquire", {**grant, "granted_at": 50}, "n3"),
        ]
    )
    lock_html = effects_view.render_lock(lock_safety.check(twice).details)
    assert "#0 on n1, #2 on n3" in lock_html and "(op #2 on n3)" in lock_html
    lost = ops(
        [
            (0, "invoke", "send", {"msg": "m1"}, None),
            (0, "ok", "send", {"msg": "m1"}, "n2"),
            (9, "invoke", "read-effects", None, None),
            (9, "ok", "read-effects", [], "n1"),
        ]
    )
    eo_html = effects_view.render_exactly_once(exactly_once.check(lost).details, lost.pairs(), lost)
    assert "#0 p0 ok on n2" in eo_html
