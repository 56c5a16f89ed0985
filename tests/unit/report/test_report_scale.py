"""Large histories: the timeline aggregates but keeps the ops the checkers named; lanes and fault pairing."""

from __future__ import annotations

import json
from pathlib import Path

import report_bundles as bundles
from report_dom import parse

from harness.faultop import fault_windows
from harness.history import History
from harness.op import Op
from harness.record import RunRecord
from harness.report import render_html
from harness.report.data import pack_lanes
from harness.report.timeline import DETAIL_LIMIT


def _big(tmp_path: Path, n: int) -> tuple[object, int]:
    b = bundles.Bundle.create(tmp_path, "big")
    b.write_run(RunRecord.from_dict({"experiment": "big", "seed": 1, "target": "kv", "expect": "valid"}))
    rec = bundles.Recorder(b)
    stuck = -1
    for i in range(n):
        proc = i % 4
        result = {"key": "k", "value": 7} if i == n // 2 else None
        idx = rec.call(i, i + 0.8, proc, "read", {"key": "k", "value": None}, result=result)
        if i == n // 2:
            stuck = idx
    rec.w.close()
    details = {
        "model": "kv",
        "parts": 1,
        "ops": n,
        "failed_part": {
            "key": "k",
            "ops": list(range(0, 2 * n, 2)),
            "longest": [[0, 2]],
            "stuck_ops": [stuck],
            "final_state": None,
        },
    }
    bundles._write_results(b, bundles._results("linearizable", False, details, "fail"))
    return b, stuck


def test_large_history_aggregates_yet_draws_the_named_ops_and_embeds_every_op(tmp_path: Path) -> None:
    n = DETAIL_LIMIT + 500
    b, stuck = _big(tmp_path, n)
    root = parse(render_html(b))  # type: ignore[arg-type]
    tl = root.one("svg", cls="timeline")
    assert tl.attrs["data-mode"] == "aggregated"
    assert tl.find_all("rect", cls="agg") and len(tl.find_all("rect", cls="op")) < 100
    named = {r.attrs["data-index"] for r in tl.find_all("rect", cls="named")}
    assert str(stuck) in named and {"0", "2"} <= named
    assert root.one("section", cls="lin").one("g", cls="stuck").attrs["data-index"] == str(stuck)
    rows = json.loads(root.one("script", id="op-data").text())["rows"]
    assert len(rows) == n


def test_small_history_draws_every_op(tmp_path: Path) -> None:
    b, _ = _big(tmp_path, 50)
    tl = parse(render_html(b)).one("svg", cls="timeline")  # type: ignore[arg-type]
    assert tl.attrs["data-mode"] == "detailed" and len(tl.find_all("rect", cls="op")) == 50


def _op(i: int, t: int, p: object, type_: str, f: str = "read", value: object = None) -> Op:
    return Op(i, t, p, type_, f, value)  # type: ignore[arg-type]


def test_a_crashed_workers_successor_reuses_its_lane() -> None:
    h = History(
        [
            _op(0, 0, 0, "invoke"),
            _op(1, 0, 1, "invoke"),
            _op(2, 5, 0, "info"),
            _op(3, 6, 1, "ok"),
            _op(4, 7, 2, "invoke"),
            _op(5, 8, 2, "ok"),
            _op(6, 9, 1, "invoke"),
            _op(7, 10, 1, "ok"),
        ]
    )
    lanes = pack_lanes(h.pairs(), 10)
    assert lanes == {0: 0, 1: 1, 2: 0}


def test_faults_pair_first_in_first_out_and_open_ones_stay_open() -> None:
    v1, v2 = {"kind": "kill", "nodes": ["n1"]}, {"kind": "kill", "nodes": ["n2"]}
    h = History(
        [
            _op(0, 1, "nemesis", "info", "start-kill", v1),
            _op(1, 2, "nemesis", "info", "start-kill", v2),
            _op(2, 3, "nemesis", "info", "stop-kill", v1),
            _op(3, 4, "nemesis", "info", "heal", None),
        ]
    )
    windows, points = fault_windows(h)
    assert [(w.nodes, w.start, w.end) for w in windows] == [(("n1",), 1, 3), (("n2",), 2, None)]
    assert [p.f for p in points] == ["heal"]
    # a stop naming the nodes of a later start closes that one
    h2 = History(
        [
            _op(0, 1, "nemesis", "info", "start-kill", v1),
            _op(1, 2, "nemesis", "info", "start-kill", v2),
            _op(2, 3, "nemesis", "info", "stop-kill", v2),
        ]
    )
    assert [(w.nodes, w.end) for w in fault_windows(h2)[0]] == [(("n1",), None), (("n2",), 3)]
