"""The node that served an operation (``Completion.node`` -> op field ``node``) reaches the report: the
embedded operation table rows and the timeline's op titles show it; ops without one show nothing extra."""

from __future__ import annotations

import json
from pathlib import Path

import report_bundles as bundles
from report_dom import parse

from harness.bundle import Bundle
from harness.report import render_html


def test_served_by_node_in_table_and_timeline(tmp_path: Path) -> None:
    b = Bundle.create(tmp_path, "kv-register")
    b.write_run(bundles._run("kv-register", "kv"))
    rec = bundles.Recorder(b)
    rec.at(0, 0, "invoke", "write", {"key": "k1", "value": 1})
    rec.at(10, 0, "ok", "write", {"key": "k1", "value": 1}, node="n2")
    rec.call(12, 20, 1, "read", {"key": "k1", "value": None}, result={"key": "k1", "value": 1})
    rec.w.close()
    html = render_html(b)
    rows = json.loads(parse(html).one("script", id="op-data").text())["rows"]
    assert [r[9] for r in rows] == ["n2", None]
    assert "p0 @n2 write" in html and "p1 @" not in html
    assert json.loads(b.history_file.read_text().splitlines()[1])["node"] == "n2"
