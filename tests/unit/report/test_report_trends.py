"""``chaos summary``'s night-over-night part: rows per run, flaky experiments, summary.json, past nights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_dom import parse
from trend_bundles import make_run, suite

from harness.bundle import Bundle
from harness.cli import main
from harness.report import trends


def test_twenty_bundles_rows_trends_and_the_flaky_experiment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "reports"
    assert len(suite(root)) == 20
    assert main(["summary", str(root)]) == 0
    assert (
        capsys.readouterr().out.strip().endswith("20 run(s), 5 with an unexpected verdict; flaky: kv-flaky")
    )
    data = json.loads((root / "summary.json").read_text())
    assert data["flaky"] == ["kv-flaky"]
    by = {e["experiment"]: e for e in data["experiments"]}
    assert by["kv-flaky"]["flaky_versions"] == ["abc123"] and by["kv-flaky"]["counts"] == {
        "pass": 5,
        "fail": 2,
    }
    assert by["kv-fixed"]["flaky"] is False  # fail on one version, pass on another: a fix, not flakiness
    steady = by["queue-steady"]["runs"]
    assert [r["date"][:10] for r in steady] == [f"2026-11-{n:02d}" for n in range(1, 7)]
    # recovery after the heal: the first ok at heal + recover_ms + 50 ms + 5 ms
    assert [r["recovery_s"] for r in steady] == [[round(0.1 * n + 0.055, 3)] for n in range(1, 7)]
    assert steady[0]["ops_per_s"] == 101.0 and steady[0]["check_s"] == 0.6 and steady[0]["seed"] == 1001
    assert steady[0]["bundle"].startswith("queue-steady/")
    dom = parse((root / "index.html").read_text())
    sections = dom.find_all("section", cls="trend")
    assert [s.attrs["data-experiment"] for s in sections] == ["kv-fixed", "kv-flaky", "queue-steady"]
    flaky = dom.one("section", cls="flaky-experiment")
    assert flaky.attrs["data-experiment"] == "kv-flaky" and "FLAKY" in flaky.text()
    assert len(flaky.find_all("rect")) == 7 and len(flaky.one("table", cls="trend-table").find_all("tr")) == 8
    assert {s.attrs["data-figure"] for s in flaky.find_all("svg", cls="spark")} == {
        "ops/s",
        "max recovery",
        "checker time",
    }


def test_earlier_nights_are_remembered_through_summary_json(tmp_path: Path) -> None:
    night1 = tmp_path / "night1"
    make_run(night1, "kv-a", 1, "pass", "v1")
    make_run(night1, "kv-a", 2, "pass", "v1")
    assert main(["summary", str(night1)]) == 0
    night2 = tmp_path / "night2"  # the next night: a fresh folder, only the previous summary.json restored
    night2.mkdir()
    shutil.copy(night1 / "summary.json", night2 / "summary.json")
    make_run(night2, "kv-a", 3, "fail", "v1")
    assert main(["summary", str(night2)]) == 0
    data = json.loads((night2 / "summary.json").read_text())
    (exp,) = data["experiments"]
    assert [r["seed"] for r in exp["runs"]] == [1001, 1002, 1003]
    assert [r["bundle"] is None for r in exp["runs"]] == [True, True, False]
    assert exp["flaky"] is True and data["flaky"] == ["kv-a"]
    # running the summary again does not duplicate the remembered runs
    assert main(["summary", str(night2)]) == 0
    assert len(json.loads((night2 / "summary.json").read_text())["experiments"][0]["runs"]) == 3


def test_unknown_outcomes_do_not_make_an_experiment_flaky() -> None:
    rows = [
        trends.RunRow(f"e/{i}", "e", f"2026-11-0{i}", i, o, None, [], None, "v")
        for i, o in enumerate(["pass", "unknown", "pass"], 1)
    ]
    (t,) = trends.build(rows)
    assert not t.flaky and t.counts() == {"pass": 2, "unknown": 1}
    assert (
        trends.build(rows[:1], [trends.RunRow("e/9", "e", "2026-11-09", 9, "fail", None, [], None, "w")])[
            0
        ].flaky_versions
        == []
    )


def test_trend_chart_labels_are_page_text_not_svg_text(tmp_path: Path) -> None:
    """A chart's label is an HTML caption at the page's font size (SVG text scaled with its chart: ~6 px)."""
    from harness.report.trends import spark

    html = spark("ops/s", [10.0, 12.5, 11.0], "ops/s")
    dom = parse(html)
    figure = dom.one("figure", cls="spark-figure")
    assert "ops/s: 11 ops/s (range 10-12.5)" in figure.one("figcaption").text()
    assert not figure.one("svg", cls="spark").find_all("text")


def test_flaky_detection_keys_on_the_system_under_tests_version(tmp_path: Path) -> None:
    """Runs recording ``sut_version`` (the user's commit) are grouped by it, not by the harness's commit: a
    pass and a fail on one harness commit but two system versions is a change, not flakiness; one system
    version with both outcomes is flaky whatever the harness commits were."""
    from harness.record import RunRecord

    def sut(bundle: Bundle, version: str) -> None:
        data = bundle.read_run().to_dict()
        bundle.write_run(RunRecord.from_dict({**data, "sut_version": version, "harness_version": "0.3.0"}))

    sut(make_run(tmp_path, "kv-changed", 1, "pass", "harness-a"), "app-1")
    sut(make_run(tmp_path, "kv-changed", 2, "fail", "harness-a"), "app-2")
    sut(make_run(tmp_path, "kv-flaky", 1, "pass", "harness-a"), "app-1")
    sut(make_run(tmp_path, "kv-flaky", 2, "fail", "harness-b"), "app-1")
    assert main(["summary", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["flaky"] == ["kv-flaky"]
    dom = parse((tmp_path / "index.html").read_text())
    flaky = dom.one("section", cls="flaky-experiment")
    assert "app-1" in flaky.text()


def test_final_phase_lanes_are_marked_and_explained() -> None:
    from harness.report import lin_view

    assert lin_view.lane_label(4000) == "p4000 (final)" and lin_view.lane_label(3) == "p3"
    assert "p4000" in lin_view.LANES_NOTE and "final" in lin_view.LANES_NOTE
