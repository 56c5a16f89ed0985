"""report.html rendered from small recorded bundles, asserted on the parsed DOM."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import report_bundles as bundles
from report_dom import Node, parse

from harness.report import render_html, render_report


def _page(b: object) -> Node:
    return parse(render_html(b))  # type: ignore[arg-type]


def _verdict(root: Node) -> Node:
    return root.one("div", cls="verdict")


def test_valid_run_shows_facts_verdict_and_fault_band(tmp_path: Path) -> None:
    b = bundles.kv_valid(tmp_path)
    root = _page(b)
    v = _verdict(root)
    assert v.attrs["data-valid"] == "valid" and v.attrs["data-checker"] == "linearizable"
    assert "HOLDS" in v.text() and "single copy" in v.one("p", cls="explain").text()
    assert root.one("div", cls="outcome").attrs["data-outcome"] == "pass"
    facts = root.one("table", cls="facts").text()
    assert "4242" in facts and "kv-register" in facts and "local" in facts
    assert root.one("code", cls="replay").text().startswith("chaos replay reports/kv-register/")
    timeline = root.one("svg", cls="timeline")
    assert timeline.attrs["data-mode"] == "detailed"
    ops = timeline.find_all("rect", cls="op")
    assert sorted(o.attrs["class"].split()[1] for o in ops) == [
        "op-fail",
        "op-info",
        "op-ok",
        "op-ok",
        "op-ok",
    ]
    band = timeline.one("g", cls="fault-band")
    assert band.attrs["data-kind"] == "partition" and band.attrs["data-nodes"] == "n1,n2,n3"
    assert band.one("text", cls="band-label").text() == "partition n1, n2, n3"
    assert "n1 drops n2, n3" in band.one("title").text()
    # the same bands are drawn across throughput and latency
    for chart in ("throughput", "latency"):
        assert len(root.one("svg", cls=chart).find_all("g", cls="fault-band")) == 1
        assert root.one("svg", cls=chart).find_all("polyline", cls="series")
    assert "n1 became leader" in root.one("pre", cls="log").text()


def test_band_lies_over_the_ops_inside_the_fault_window(tmp_path: Path) -> None:
    root = _page(bundles.kv_valid(tmp_path))
    tl = root.one("svg", cls="timeline")
    rect = tl.one("g", cls="fault-band").one("rect")
    xa, xb = float(rect.attrs["x"]), float(rect.attrs["x"]) + float(rect.attrs["width"])
    cas = [o for o in tl.find_all("rect", cls="op-fail")][0]  # the cas at 30..40 ms, inside 25..60 ms
    assert xa < float(cas.attrs["x"]) < xb
    first = min(tl.find_all("rect", cls="op"), key=lambda o: float(o.attrs["x"]))  # write at 0 ms
    assert float(first.attrs["x"]) < xa


def test_linearizability_violation_names_key_and_the_unexplained_read(tmp_path: Path) -> None:
    b, ids = bundles.kv_stale(tmp_path)
    root = _page(b)
    v = _verdict(root)
    assert v.attrs["data-valid"] == "invalid" and "VIOLATED" in v.text()
    assert bundles.XSS in v.one("p", cls="explain").text() and f"#{ids['r']}" in v.text()
    ce = root.one("section", cls="lin")
    assert ce.one("code", cls="failing-key").text() == bundles.XSS
    stuck = ce.one("ul", cls="stuck-list").find_all("li")
    assert [li.attrs["data-index"] for li in stuck] == [str(ids["r"])]
    assert "read -> 1" in stuck[0].text() and stuck[0].text().endswith(": get() -> 1")
    order = ce.find_all("ol", cls="linearization")[0].find_all("li")
    assert [li.attrs["data-index"] for li in order] == [str(ids["w1"]), str(ids["w2"])]
    drawing = ce.one("svg", cls="lin-drawing")
    stuck_g = drawing.one("g", cls="stuck")
    assert (
        stuck_g.attrs["data-index"] == str(ids["r"])
        and stuck_g.one("text", cls="op-text").text() == "read -> 1"
    )
    steps = {
        g.attrs["data-index"]: g.one("text", cls="lin-step").text()
        for g in drawing.find_all("g", cls="linearized")
    }
    assert steps == {str(ids["w1"]): "1", str(ids["w2"]): "2"}
    roles = {
        tr.find_all("td")[0].text(): tr.find_all("td")[-1].text() for tr in ce.one("table").find_all("tr")[1:]
    }
    assert roles == {str(ids["w1"]): "linearized #1", str(ids["w2"]): "linearized #2", str(ids["r"]): "stuck"}


def test_exactly_once_tables_with_delivery_trails(tmp_path: Path) -> None:
    b, ids = bundles.queue_violation(tmp_path)
    root = _page(b)
    assert _verdict(root).attrs["data-valid"] == "invalid"
    ce = root.one("section", cls="exactly-once")
    lost = ce.one("table", cls="eo-lost").find_all("tr")[1].find_all("td")
    assert [c.text() for c in lost] == ["m2", f"#{ids['m2']} p1 ok", "deliver c1 (id 2)"]
    dup = ce.one("table", cls="eo-duplicated").find_all("tr")[1].find_all("td")
    assert dup[0].text() == "m3" and dup[1].text() == "2"
    assert "c1 applied id 3" in dup[2].text() and "c2 applied id 3" in dup[2].text()
    assert dup[3].text() == "deliver c1 (id 3) -> redeliver c2 (id 3) -> ack c2 (id 3)"
    unexpected = ce.one("table", cls="eo-unexpected").find_all("tr")[1].find_all("td")
    assert unexpected[0].text() == "m9" and unexpected[2].text() == "no delivery recorded"
    # the kill of n2 is drawn as a down window on n2's lane and counted in the node table
    nodes = root.one("svg", cls="nodes")
    down = nodes.one("rect", cls="node-down")
    assert down.attrs["data-node"] == "n2" and down.attrs["data-kind"] == "kill"
    rows = {
        tr.find_all("td")[0].text(): tr.find_all("td")[1].text()
        for tr in root.one("table", cls="node-table").find_all("tr")[1:]
    }
    assert rows == {"n1": "0", "n2": "1", "n3": "0"}


def test_lock_overlaps_on_a_time_axis_with_tokens(tmp_path: Path) -> None:
    root = _page(bundles.lock_violation(tmp_path))
    v = _verdict(root)
    assert v.attrs["data-valid"] == "invalid" and "1 pair(s) of critical sections overlapped" in v.text()
    assert "1 grant(s) were made while another holder's lease was still running" in v.text()
    assert root.one("div", cls="outcome").attrs["data-outcome"] == "fail"
    ce = root.one("section", cls="lock-safety")
    secs = ce.one("svg", cls="lock-overlaps").find_all("g", cls="critical-section")
    assert [s.attrs["data-token"] for s in secs] == ["3", "4"]
    a, bb = (s.one("rect") for s in secs)
    a_end = float(a.attrs["x"]) + float(a.attrs["width"])
    assert float(bb.attrs["x"]) < a_end  # the two critical sections overlap on the drawn axis
    assert [c.text() for c in ce.one("table", cls="lock-regressions").find_all("td")] == ["7", "3", "4"]
    assert ce.one("table", cls="lock-dups").find_all("td")[0].text() == "3"
    early = [c.text() for c in ce.one("table", cls="lock-early-grants").find_all("td")]
    assert early[0] == "L" and early[2] == "2 .. 102" and early[4] == "12"
    assert root.one("rect", cls="node-pause").attrs["data-node"] == "n1"


def test_unknown_verdict_explains_why(tmp_path: Path) -> None:
    root = _page(bundles.unknown(tmp_path))
    v = _verdict(root)
    assert v.attrs["data-valid"] == "unknown" and "UNKNOWN" in v.text()
    assert "time budget of 10 s spent" in v.text() and "k1" in v.text()
    assert root.one("div", cls="outcome").attrs["data-outcome"] == "unknown"


def test_crashed_run_without_results_still_renders_its_history(tmp_path: Path) -> None:
    root = _page(bundles.crashed(tmp_path))
    v = _verdict(root)
    assert v.attrs["data-valid"] == "none" and "crashed" in v.text()
    assert root.one("div", cls="outcome").attrs["data-outcome"] == "none"
    ops = root.one("svg", cls="timeline").find_all("rect", cls="op")
    assert {o.attrs["class"].split()[1] for o in ops} == {"op-ok", "op-info"}  # the open read counts as info
    band = root.one("svg", cls="timeline").one("g", cls="fault-band")
    assert band.attrs["data-open"] == "true" and "not ended" in band.text()


def test_every_history_and_log_value_is_escaped(tmp_path: Path) -> None:
    b, _ = bundles.kv_stale(tmp_path)
    run = b.read_run()
    b.write_run(replace(run, experiment=bundles.XSS, replay=f"chaos replay '{bundles.XSS}'"))
    (b.logs_dir / "n1.log").write_text(f"boom {bundles.XSS}\n", encoding="utf-8")
    html_text = render_html(b)
    root = parse(html_text)
    scripts = root.find_all("script")
    assert [s.attrs.get("type", "js") for s in scripts] == ["application/json", "js"]
    assert "alert" not in scripts[1].text()
    assert bundles.XSS in root.one("h1").text() and bundles.XSS in root.one("pre", cls="log").text()
    assert bundles.XSS in root.one("code", cls="replay").text()
    # the embedded op data cannot close its script element, and still holds the value
    raw = scripts[0].text()
    assert "<" not in raw and bundles.XSS in json.dumps(json.loads(raw))
    assert html_text.count("<script") == 2


def test_all_ops_are_embedded_for_the_table(tmp_path: Path) -> None:
    b = bundles.kv_valid(tmp_path)
    root = _page(b)
    rows = json.loads(root.one("script", id="op-data").text())["rows"]
    client = [r for r in rows if r[1] != "nemesis"]
    assert len(client) == 5 and [r[3] for r in client] == ["ok", "ok", "fail", "info", "ok"]
    assert {r[2] for r in rows if r[1] == "nemesis"} == {"start-partition", "stop-partition"}
    assert client[1][7] == {"key": "k1", "value": 1}  # the read's result


def test_report_is_self_contained(tmp_path: Path) -> None:
    out = render_report(bundles.kv_valid(tmp_path))
    html_text = out.read_text(encoding="utf-8")
    assert out.name == "report.html"
    for needle in ("http://", "https://", "<link", " src=", "@import", "url("):
        assert needle not in html_text.replace("http-equiv", ""), needle
    assert "default-src 'none'" in html_text
