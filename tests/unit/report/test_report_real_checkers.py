"""Reports rendered from the real checkers' results (not hand-written details): the shapes stay in step."""

from __future__ import annotations

from pathlib import Path

import report_bundles as bundles
from report_dom import parse

from harness.checkers import exactly_once, linearizable, lock_safety
from harness.checkers.base import Composite, compose
from harness.report import render_html


def _recheck(b: bundles.Bundle, name: str, fn: object) -> None:
    history = b.read_history()
    composite: Composite = compose({name: lambda: fn(history)})  # type: ignore[operator]
    b.write_results(composite, outcome="pass")


def test_linearizable_checker_result_renders_the_unexplained_read(tmp_path: Path) -> None:
    b, ids = bundles.kv_stale(tmp_path, key="k1")
    _recheck(b, "linearizable", linearizable.check)
    root = parse(render_html(b))
    assert root.one("div", cls="verdict").attrs["data-valid"] == "invalid"
    ce = root.one("section", cls="lin")
    assert ce.one("code", cls="failing-key").text() == "k1"
    assert [li.attrs["data-index"] for li in ce.one("ul", cls="stuck-list").find_all("li")] == [str(ids["r"])]
    assert ce.one("svg", cls="lin-drawing").one("g", cls="stuck").attrs["data-index"] == str(ids["r"])


def test_exactly_once_checker_result_renders_lost_and_trail(tmp_path: Path) -> None:
    b, ids = bundles.queue_violation(tmp_path)
    _recheck(b, "exactly-once", exactly_once.check)
    ce = parse(render_html(b)).one("section", cls="exactly-once")
    lost = [c.text() for c in ce.one("table", cls="eo-lost").find_all("tr")[1].find_all("td")]
    assert lost == ["m2", f"#{ids['m2']} p1 ok", "deliver c1 (id 2)"]
    dup = ce.one("table", cls="eo-duplicated").find_all("tr")[1].find_all("td")
    assert dup[0].text() == "m3" and dup[1].text() == "2"


def test_lock_checker_result_renders(tmp_path: Path) -> None:
    b = bundles.lock_violation(tmp_path)
    _recheck(b, "lock-safety", lock_safety.check)
    root = parse(render_html(b))
    v = root.one("div", cls="verdict")
    assert (
        v.attrs["data-checker"] == "lock-safety" and v.attrs["data-valid"] == "invalid"
    )  # token 3 granted twice
    assert root.one("table", cls="lock-dups").find_all("td")[0].text() == "3"
