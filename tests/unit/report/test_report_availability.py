"""The report's availability figures: recovery in the faults table, markers on the timeline, the section, and
the verdict banner when thresholds were given."""

from __future__ import annotations

from pathlib import Path

from report_bundles import Recorder
from report_dom import parse

from harness.bundle import Bundle
from harness.checkers.availability import check
from harness.checkers.base import Composite
from harness.record import RunRecord
from harness.report import render_html


def _bundle(tmp_path: Path, thresholds: dict[str, float] | None) -> Bundle:
    """Healthy 0-2 s; a partition 2-4 s with timeouts; 1.5 s of timeouts after the heal; healthy again."""
    b = Bundle.create(tmp_path, "avail")
    b.write_run(
        RunRecord.from_dict({"experiment": "avail", "seed": 1, "expect": "valid", "status": "finished"})
    )
    r = Recorder(b)
    p = 0
    for t in range(0, 2000, 100):
        p += 1
        r.call(t, t + 10, p, "read", None)
    r.at(2000, "nemesis", "info", "start-partition", {"kind": "partition", "nodes": ["n1"]})
    for t in range(2000, 4000, 100):
        p += 1
        r.call(t, t + 50, p, "write", 1, type_="info")
    r.at(4000, "nemesis", "info", "stop-partition", {"kind": "partition", "nodes": ["n1"]})
    for t in range(4000, 5500, 100):
        p += 1
        r.call(t, t + 90, p, "read", None, type_="info")
    for t in range(5500, 8000, 100):
        p += 1
        r.call(t, t + 20, p, "read", None)
    r.w.close()
    if thresholds is not None:
        res = check(b.read_history(), **thresholds)
        b.write_results(Composite({"availability": res}), outcome="pass" if res.valid else "fail")
    return b


def test_figures_shown_without_the_checker_and_no_verdict_banner(tmp_path: Path) -> None:
    dom = parse(render_html(_bundle(tmp_path, None)))
    faults = dom.one("table", cls="faults")
    assert "recovery" in faults.text()
    assert dom.one("span", cls="recovery").text() == "1.52 s"
    marker = dom.one("g", cls="recovery-marker")
    assert marker.attrs["data-fault"] == "0" and "recovered +1.52s" in marker.text()
    section = dom.one("table", cls="availability")
    text = section.text()
    assert "outside faults" in text and "fault #0 partition n1 (2.0s-4.0s)" in text and "after heal" in text
    assert "0.00%" in text  # nothing succeeded inside the fault window
    gaps = dom.one("table", cls="unavailable").text()
    assert "2 s" in gaps and "#0" in gaps
    assert not dom.find_all("div", cls="verdict", data_checker="availability")


def test_a_broken_threshold_is_a_verdict_naming_the_window(tmp_path: Path) -> None:
    dom = parse(render_html(_bundle(tmp_path, {"max_recovery_s": 1.0})))
    banner = dom.one("div", cls="verdict", data_checker="availability")
    assert banner.attrs["data-valid"] == "invalid"
    assert (
        "fault #0 partition n1 (2.0s-4.0s): recovered 1.52 s after the heal > max_recovery_s 1"
        in banner.text()
    )


def test_thresholds_that_hold_show_a_passing_banner(tmp_path: Path) -> None:
    dom = parse(render_html(_bundle(tmp_path, {"max_recovery_s": 2.0, "min_ok_rate": 0.5})))
    banner = dom.one("div", cls="verdict", data_checker="availability")
    assert banner.attrs["data-valid"] == "valid"
    assert "within the experiment's thresholds" in banner.text()
