"""One function decides a run's outcome (``harness.outcome``): the runner, the report and ``chaos summary``
agree on the same bundle for every outcome, and each of them goes through it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, Harness

from harness import outcome as oc
from harness.bundle import Bundle
from harness.checkers.base import merge_validity
from harness.loader import loads
from harness.report import data, render_html
from harness.report.summary import write_summary
from harness.run import RunResult, run_experiment

PARTITION = (
    "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n1], at: 0.3, duration: 0.5}\n"
)
RUNS = {  # outcome -> experiment text
    "pass": BASE + PARTITION,
    "fail": BASE.replace("nodes: 3}", "nodes: 3, mode: stale-read}") + PARTITION,
    "unknown": BASE.replace("nodes: 3}", "nodes: 3, mode: dead-reads}") + PARTITION,
    "crashed": BASE.replace("duration: 1,", "duration: 30,").replace(
        "rate: 200}", "rate: 200, options: {crash_after: 20}}"
    )
    + PARTITION,
}
EXIT = {"pass": 0, "fail": 1, "unknown": 2, "crashed": 3}


def _run(h: Harness, text: str, out: Path, **kw: Any) -> RunResult:
    exp = loads(text, "x.yaml", h.registries)
    return run_experiment(exp, out=out, registries=h.registries, cluster_factory=h.open_cluster, **kw)


def _report_outcome(b: Bundle) -> str:
    found = re.search(r'class="outcome outcome-[a-z]+" data-outcome="([a-z]+)"', render_html(b))
    assert found is not None
    return found.group(1)


def _summary_outcomes(root: Path) -> dict[str, str]:
    _, entries = write_summary(root, render_missing=False)
    return {e.bundle.resolve().name: e.outcome for e in entries}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, RunResult]]:
    root = tmp_path_factory.mktemp("reports")
    h = Harness()
    return root, {want: _run(h, text, root / want) for want, text in RUNS.items()}


@pytest.mark.parametrize("want", list(RUNS))
def test_runner_report_and_summary_agree_on_each_outcome(
    runs: tuple[Path, dict[str, RunResult]], want: str
) -> None:
    root, results = runs
    o = results[want]
    assert (o.outcome, o.exit_code) == (want, EXIT[want])
    record = o.bundle.read_run()
    stored = o.bundle.read_results()
    assert record.outcome == want and (stored is None or stored.outcome == want)
    assert _report_outcome(o.bundle) == want
    assert _summary_outcomes(root)[o.bundle.path.name] == want
    checkers_valid = None if stored is None else merge_validity([r.valid for r in stored.results.values()])
    decided = oc.decide(checkers_valid, record.expect, record.evidence, crashed=record.status == "crashed")
    assert (decided.outcome, decided.exit_code, decided.verdict) == (want, o.exit_code, record.verdict)


def test_a_bundle_that_recorded_no_outcome_is_decided_by_the_same_function(
    runs: tuple[Path, dict[str, RunResult]], tmp_path: Path
) -> None:
    """Bundles written before outcomes were recorded: the report and the summary derive it with
    ``harness.outcome`` from what was stored, and get what the runner decided."""
    _, results = runs
    for want in ("pass", "fail", "unknown"):
        src = results[want].bundle.path
        dst = tmp_path / "old" / want / "20250101-000000-000"
        dst.mkdir(parents=True)
        for name in ("run.json", "results.json", "history.jsonl"):
            d = (src / name).read_text()
            if name.endswith(".json"):
                raw = json.loads(d)
                raw.pop("outcome", None)
                raw.pop("evidence", None)  # nor evidence: the stored valid already weighs it
                d = json.dumps(raw)
            (dst / name).write_text(d)
        b = Bundle(dst)
        assert b.read_run().outcome is None
        assert _report_outcome(b) == want
        assert _summary_outcomes(tmp_path / "old")[dst.name] == want


def test_an_interrupted_run_has_no_verdict_everywhere(tmp_path: Path) -> None:
    h = Harness()
    text = BASE.replace("duration: 1,", "duration: 10,") + PARTITION.replace("duration: 0.5", "duration: 5")

    def progress(line: str) -> None:
        if "faults=partition" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(h, text, tmp_path, progress=progress)
    b = Bundle.open(tmp_path / "fake-exp" / "latest")
    assert b.read_run().status == "interrupted" and b.read_results() is None
    assert oc.decide(None, "valid", interrupted=True) == oc.Decision("none", 130, "interrupted")
    assert _report_outcome(b) == "none"
    assert _summary_outcomes(tmp_path)[b.path.resolve().name] == "none"


def test_the_runner_the_report_and_the_summary_all_call_the_outcome_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    decide, of_bundle = oc.decide, oc.of_bundle

    def spy_decide(*a: Any, **kw: Any) -> oc.Decision:
        calls.append("decide")
        return decide(*a, **kw)

    def spy_of_bundle(*a: Any, **kw: Any) -> str:
        calls.append("of_bundle")
        return of_bundle(*a, **kw)

    monkeypatch.setattr(oc, "decide", spy_decide)
    monkeypatch.setattr(oc, "of_bundle", spy_of_bundle)
    o = _run(Harness(), RUNS["pass"], tmp_path)
    assert "decide" in calls  # the runner
    calls.clear()
    assert data.load(o.bundle).outcome() == "pass" and calls == ["of_bundle"]  # the report
    calls.clear()
    _summary_outcomes(tmp_path)
    assert calls == ["of_bundle"]  # chaos summary
