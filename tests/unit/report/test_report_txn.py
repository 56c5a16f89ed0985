"""The report of a transactional run: anomaly list, witnesses drawn as cycles, transactions in the table."""

from __future__ import annotations

import json
from pathlib import Path

import report_bundles as bundles
from report_dom import parse

from harness.checkers.base import compose
from harness.checkers.txn.check import list_append
from harness.report import render_html
from harness.report.timeline import DETAIL_LIMIT
from harness.report.txn_view import table_text


def _bundle(tmp_path: Path, extra_txns: int = 0) -> bundles.Bundle:
    b = bundles.Bundle.create(tmp_path, "txn")
    b.write_run(bundles._run("txn", "postgres", expect="valid", workload={"name": "list-append"}))
    rec = bundles.Recorder(b)
    for i in range(extra_txns):  # a long valid prefix on keys of their own
        rec.call(i, i + 0.5, i % 3, "txn", [["append", 100 + i, i]], result=[["append", 100 + i, i]])
    t = extra_txns + 1.0
    rec.at(t, 2, "invoke", "txn", [["r", "y", None], ["r", "x", None]])
    rec.call(t + 1, t + 2, 0, "txn", [["append", "x", 1]])
    rec.call(
        t + 3,
        t + 4,
        1,
        "txn",
        [["r", "x", None], ["append", "y", 1]],
        result=[["r", "x", [1]], ["append", "y", 1]],
    )
    rec.at(t + 5, 2, "ok", "txn", [["r", "y", [1]], ["r", "x", []]])
    rec.w.close()
    history = b.read_history()
    b.write_results(compose({"list-append": lambda: list_append(history)}), outcome="fail")
    return b


def test_anomaly_table_cycle_drawing_and_reasons(tmp_path: Path) -> None:
    root = parse(render_html(_bundle(tmp_path)))
    sec = root.one("section", cls="txn")
    cells = [td.text() for td in sec.one("table", cls="txn-anomalies").find_all("tr")[1].find_all("td")]
    assert cells[0] == "G-single-item" and "serializable" in cells[2]
    svg = sec.one("svg", cls="txn-cycle")
    assert len(svg.find_all("g", cls="txn")) == 3
    kinds = sorted(g.attrs["data-kind"] for g in svg.find_all("g", cls="edge"))
    assert kinds == ["rw", "wr", "wr"]
    steps = [li.text() for li in sec.one("ol", cls="txn-steps").find_all("li")]
    assert any("without T1's append of 1" in s for s in steps) and len(steps) == 3


def test_transactions_in_the_operations_table_and_named_in_the_timeline(tmp_path: Path) -> None:
    root = parse(render_html(_bundle(tmp_path)))
    rows = json.loads(root.one("script", id="op-data").text())["rows"]
    assert [r[6] for r in rows if r[2] == "txn"] == ["r y [1]; r x []", "append x 1", "r x [1]; append y 1"]
    named = {r.attrs["data-index"] for r in root.one("svg", cls="timeline").find_all("rect", cls="named")}
    assert named == {"0", "1", "3"}


def test_large_history_still_aggregates_and_draws_the_witness(tmp_path: Path) -> None:
    n = DETAIL_LIMIT + 200
    root = parse(render_html(_bundle(tmp_path, n)))
    assert root.one("svg", cls="timeline").attrs["data-mode"] == "aggregated"
    assert len(root.one("section", cls="txn").one("svg", cls="txn-cycle").find_all("g", cls="txn")) == 3
    assert len(json.loads(root.one("script", id="op-data").text())["rows"]) == n + 3


def test_long_reads_are_cut_in_the_table() -> None:
    assert (
        table_text([["r", "k", list(range(20))], ["append", "k", 20]])
        == "r k [… 14 15 16 17 18 19] (20); append k 20"
    )
