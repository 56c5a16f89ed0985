"""The example checker plugin (plugins/chaos-example-checker), installed beside the harness as any user's
package is, works end to end with no edit to ``harness/``: ``chaos check --checker counter`` decides a
history, an experiment can name it, the runner's checker step runs it, and the report of a bundle that used it
shows its own words, highlights the ops it names and draws its own view."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from report_dom import parse

from harness.bundle import Bundle
from harness.checkers.contract import Checkers
from harness.history import read_jsonl
from harness.loader import loads
from harness.record import RunRecord
from harness.registry import Registries
from harness.report import render_report
from harness.run import check

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "plugins" / "chaos-example-checker"
MS = 1_000_000


def _tree(root: Path) -> str:
    """A hash of every file below ``root`` (names and contents; caches left out)."""
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _history(path: Path, *calls: tuple[int, str, str, Any]) -> Path:
    """(process, f, completion type, value) calls, one after another, as a jsonl history."""
    ops = []
    for process, f, typ, value in calls:
        for t, v in (("invoke", value if f == "add" else None), (typ, value)):
            ops.append(
                {"index": len(ops), "time": len(ops) * MS, "process": process, "type": t, "f": f, "value": v}
            )
    path.write_text("".join(json.dumps(o) + "\n" for o in ops))
    return path


GOOD = (
    (0, "add", "ok", 1),
    (1, "add", "ok", 2),
    (2, "read", "ok", 3),
    (0, "add", "info", 4),
    (2, "read", "ok", 7),
)
# the read of 7 is right (the add of 4 may have happened); 9 is more than all adds, 2 less than the acked
BAD = (*GOOD, (0, "add", "fail", 10), (3, "read", "ok", 9), (3, "read", "ok", 2))


def _chaos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, check=False
    )


def test_the_plugin_is_installed_from_this_checkout_and_registered() -> None:
    """scripts/setup installs each plugins/*/ package editable; the checker is found by its entry point."""
    dist = metadata.distribution("chaos-example-checker")
    eps = [ep for ep in dist.entry_points if ep.group == "chaos_harness.checkers"]
    assert [(ep.name, ep.value) for ep in eps] == [("counter", "chaos_example_checker.counter:CHECKER")]
    import chaos_example_checker

    assert Path(chaos_example_checker.__file__).resolve().is_relative_to(PLUGIN.resolve())
    assert not Path(chaos_example_checker.__file__).resolve().is_relative_to((ROOT / "harness").resolve())
    counter = Checkers().get("counter")
    assert (
        counter.view == "chaos_example_checker.view:render" and counter.details.__name__ == "CounterDetails"
    )


def test_the_plugin_checks_runs_and_reports_with_no_edit_to_harness(tmp_path: Path) -> None:
    before = _tree(ROOT / "harness")
    good, bad = _history(tmp_path / "good.jsonl", *GOOD), _history(tmp_path / "bad.jsonl", *BAD)

    ok = _chaos("check", str(good), "--checker", "counter")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("counter: valid=true")
    broken = _chaos("check", str(bad), "--checker", "counter", "--json")
    assert broken.returncode == 1, broken.stderr
    verdict = json.loads(broken.stdout)
    assert verdict["checker"] == "counter" and verdict["valid"] is False
    assert [(e["value"], e["lower"], e["upper"]) for e in verdict["details"]["errors"]] == [
        (9, 3, 7),
        (2, 3, 7),
    ]
    garbage = _chaos(
        "check", str(_history(tmp_path / "g.jsonl", (0, "add", "ok", "x"))), "--checker", "counter"
    )
    assert garbage.returncode == 3 and f"{tmp_path / 'g.jsonl'}:1:" in garbage.stderr  # the plugin's BadOp

    # an experiment names it like any bundled checker; the runner's checker step runs it
    exp = loads(
        "name: counter-demo\nexpect: valid\ntarget: {name: kv, nodes: 3}\nworkload: {duration: 5}\n"
        "checkers:\n  counter: {max_reported: 10}\n"
    )
    history = read_jsonl(bad)
    composite = check(exp, history, Registries())
    assert composite.results["counter"].valid is False

    b = Bundle.create(tmp_path / "reports", "counter-demo")
    b.write_run(RunRecord(experiment="counter-demo", seed=1, expect="valid", status="finished"))
    b.history_file.write_text(bad.read_text())
    b.write_results(composite, valid=composite.valid, outcome="fail")
    stored = b.read_results()
    assert stored is not None and type(stored.results["counter"].details).__name__ == "CounterDetails"
    root = parse(Path(render_report(b)).read_text())
    banner = root.one("div", cls="verdict", data_checker="counter")
    assert "no order of the adds can explain" in banner.text()  # the plugin's own words
    view = root.one("section", cls="counterexample")
    assert view.classes == {"counterexample", "counter"}
    assert [r.text() for r in view.one("table", cls="counter-errors").find_all("td")][::5] == ["#12", "#14"]
    assert len(view.find_all("circle", cls="counter-read")) == 2
    named = {int(n.attrs["data-index"]) for n in root.find_all(cls="named") if "data-index" in n.attrs}
    assert {12, 14} <= named  # the ops the verdict names are drawn one by one

    assert _tree(ROOT / "harness") == before


def test_without_the_plugin_its_results_still_render_as_a_plain_verdict(tmp_path: Path) -> None:
    """A bundle checked where the plugin was installed, read where it is not: a verdict, no drawing."""
    from harness.checkers.details import read_result
    from harness.registry import Registry

    result = Checkers().get("counter").check(read_jsonl(_history(tmp_path / "bad.jsonl", *BAD)))
    elsewhere = Checkers(Registry("checkers", {}))
    back = read_result(json.loads(json.dumps(result.to_dict())), elsewhere)
    assert type(back.details).__name__ == "PlainDetails" and back.details["errors"][0]["value"] == 9
