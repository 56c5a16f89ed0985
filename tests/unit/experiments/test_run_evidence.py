"""The runner with fakes: no verdict without evidence, crashed workers and nemesis, runs with no fault
injected; and how the report, ``chaos summary``, ``chaos check`` and ``chaos run`` show each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from experiment_fakes import BASE, Harness

from harness import evidence as ev
from harness.cli import main
from harness.faults.process import Kill
from harness.history import History
from harness.loader import loads
from harness.outcome import decide
from harness.registry import Registries, Registry
from harness.run import RunResult, run_experiment

PARTITION = (
    "faults:\n  steps:\n    - {kind: partition, shape: isolate, nodes: [n1], at: 0.3, duration: 0.5}\n"
)
DEAD_READS = BASE.replace("nodes: 3}", "nodes: 3, mode: dead-reads}")


def _verdict(valid: Any, expect: str, evidence: ev.Evidence) -> tuple[int, str]:
    d = decide(valid, expect, evidence)
    return d.exit_code, d.verdict


def _run(h: Harness, text: str, tmp_path: Path, **kw: Any) -> RunResult:
    exp = loads(text, "x.yaml", h.registries)
    return run_experiment(exp, out=tmp_path, registries=h.registries, cluster_factory=h.open_cluster, **kw)


def _page(o: RunResult) -> str:
    assert o.report is not None
    return o.report.read_text()


def test_the_outcome_function_weighs_the_evidence() -> None:
    thin = ev.gather(History(), ev.Rules(min_ok=0))
    assert _verdict(True, "valid", thin) == (2, "unknown")
    assert _verdict("unknown", "valid", thin) == (2, "unknown")
    assert _verdict(True, "invalid", thin) == (1, "planted bug not caught")
    assert _verdict("unknown", "invalid", thin) == (1, "planted bug not caught")
    assert _verdict(False, "invalid", thin) == (0, "as expected")  # a violation found stands
    assert _verdict(False, "valid", thin) == (1, "invariant violated")


def test_no_read_succeeded_is_unknown_not_valid(tmp_path: Path) -> None:
    o = _run(Harness(), DEAD_READS + PARTITION, tmp_path)
    assert (o.exit_code, o.valid, o.outcome) == (2, "unknown", "unknown")
    assert "too little evidence: no read completed ok" in o.summary
    assert "the history proves nothing about read" in o.summary
    results = json.loads(o.bundle.results_file.read_text())
    assert results["valid"] == "unknown" and results["results"]["no-stale"]["valid"] is True
    assert results["evidence"]["counts"]["read"]["ok"] == 0 and results["evidence"]["final_ok"] is False
    assert o.bundle.read_run().outcome == "unknown"
    page = _page(o)
    assert 'data-evidence="lacking"' in page and "TOO LITTLE EVIDENCE" in page
    assert "HOLDS, but on a history that proves too little" in page


def test_a_planted_bug_without_evidence_is_not_caught(tmp_path: Path) -> None:
    buggy = DEAD_READS.replace("expect: valid", "expect: invalid")
    o = _run(Harness(), buggy + PARTITION, tmp_path)
    assert (o.exit_code, o.outcome) == (1, "fail")
    assert o.summary.startswith("planted bug not caught: too little evidence: no read completed ok")
    assert "the planted bug was not caught" in _page(o)


def test_the_floor_and_optional_kinds_are_the_experiments_to_set(tmp_path: Path) -> None:
    h = Harness()
    high = _run(h, BASE + PARTITION + "evidence: {min_ok: 100000}\n", tmp_path)
    assert high.exit_code == 2 and "fewer than the 100000 required (min_ok)" in high.summary
    relaxed = DEAD_READS + PARTITION + "evidence: {optional: [read], final: false}\n"
    assert _run(h, relaxed, tmp_path).exit_code == 0


def test_an_ordinary_run_has_evidence_and_no_note(tmp_path: Path) -> None:
    o = _run(Harness(), BASE + PARTITION, tmp_path)
    assert o.exit_code == 0 and o.evidence is not None and o.evidence.enough and o.notes == ()
    assert o.evidence.final_ok is True and o.evidence.faults_injected == 1
    assert o.evidence.final == {"read": ev.Counts(1, 0, 0)}  # the fake workload's one final read
    assert "no fault was injected" not in _page(o)


def test_no_fault_injected_says_so_in_run_output_banner_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    o = _run(Harness(), BASE, tmp_path / "reports")
    assert o.exit_code == 0 and o.notes == (
        "no fault was injected (the fault schedule was empty): this run tested the system, not its fault "
        "tolerance",
    )
    assert 'data-evidence="no-fault"' in _page(o)
    assert main(["summary", str(tmp_path / "reports")]) == 0
    assert "1 with no fault injected" in capsys.readouterr().out
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "no fault injected" in index and "tested the system, not its fault tolerance" in index


def test_chaos_run_prints_the_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    import harness.cli.run as cli_run

    h = Harness()
    monkeypatch.setattr(cli_run, "Registries", lambda: h.registries)
    monkeypatch.setattr("harness.run._default_cluster_factory", lambda: h.open_cluster)
    exp = tmp_path / "x.yaml"
    exp.write_text(BASE)
    monkeypatch.setattr("harness.loader.Registries", lambda: h.registries)
    assert main(["run", str(exp), "--out", str(tmp_path)]) == 0
    assert "note: no fault was injected (the fault schedule was empty)" in capsys.readouterr().out


def _crash_checks(o: RunResult, h: Harness, where: str, error: str) -> None:
    assert (o.exit_code, o.outcome, o.valid) == (3, "crashed", "unknown")
    assert o.summary.startswith(f"crashed: {where}") and error in o.summary
    meta = o.bundle.read_run()
    assert meta.status == "crashed" and meta.outcome == "crashed" and meta.exit_code == 3
    assert error in meta.error and meta.crashes[0].traceback
    assert [p.phase for p in meta.phases or ()][-2:] == ["heal", "teardown"]  # healed; never checked
    assert not o.bundle.results_file.exists()
    assert len(o.bundle.read_history().client_ops()) > 0  # the history so far is kept
    assert h.clusters[-1].net.grudge == {} and set(o.bundle.node_logs()) == {"n1", "n2", "n3"}
    page = _page(o)
    assert 'data-evidence="crashed"' in page and error in page and 'data-outcome="crashed"' in page


def test_a_worker_crash_ends_the_run_crashed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = Harness()
    text = BASE.replace("duration: 1,", "duration: 30,").replace(
        "rate: 200}", "rate: 200, options: {crash_after: 20}}"
    )
    o = _run(h, text + PARTITION, tmp_path / "reports")
    _crash_checks(o, h, "worker-", "RuntimeError: plan exploded")
    assert o.bundle.read_run().timings["workload_s"] < 10  # it did not run out the 30 s
    assert main(["summary", str(tmp_path / "reports"), "--fail-on-unexpected"]) == 1
    assert "1 crashed" in capsys.readouterr().out
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "crashed: worker-" in index and "o-crashed" in index


def test_an_op_whose_client_raises_is_info_not_a_crash(tmp_path: Path) -> None:
    text = BASE.replace("rate: 200}", "rate: 200, options: {boom: true}}") + PARTITION
    o = _run(Harness(), text, tmp_path)
    assert o.exit_code == 2 and "no boom completed ok" in o.summary  # never succeeded: proves nothing
    assert o.evidence is not None and o.evidence.counts["boom"].info > 0
    allowed = _run(Harness(), text + "evidence: {optional: [boom]}\n", tmp_path)
    assert allowed.exit_code == 0 and allowed.outcome == "pass"


class ExplodingKill(Kill):
    def _down(self, cluster: Any, node: str) -> None:
        raise OSError(f"cannot kill {node}: permission denied")


def test_a_nemesis_crash_ends_the_run_crashed(tmp_path: Path) -> None:
    h = Harness()
    r = h.registries
    h.registries = Registries(r.targets, r.workloads, Registry("faults", {"kill": ExplodingKill}), r.checkers)
    text = BASE + "faults:\n  steps:\n    - {kind: kill, nodes: [n2], at: 0.3, duration: 0.3}\n"
    o = _run(h, text, tmp_path)
    _crash_checks(o, h, "nemesis", "OSError: cannot kill n2: permission denied")


def test_chaos_check_on_a_history_with_no_read_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    o = _run(Harness(), DEAD_READS + PARTITION, tmp_path)
    assert o.evidence is not None and o.evidence.final_from is not None
    hist = str(o.bundle.history_file)
    assert main(["check", hist, "--json"]) == 2
    d = json.loads(capsys.readouterr().out)
    assert d["valid"] == "unknown" and d["checker_valid"] is True and d["evidence"]["applied"] is True
    assert d["evidence"]["final_from"] == o.evidence.final_from  # the bundle's run.json says where it starts
    assert any(w.startswith("the final phase did not succeed") for w in d["evidence"]["lacking"])
    assert main(["check", hist]) == 2
    out = capsys.readouterr().out
    assert "linearizable: valid=unknown" in out and "no read completed ok" in out
    assert "ops: read 0 ok" in out
    assert main(["check", hist, "--evidence", "off"]) == 0


def test_chaos_check_on_a_hand_written_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.history import write_jsonl
    from harness.op import Op

    ops = [
        Op(0, 0, 0, "invoke", "write", {"key": "a", "value": 1}),
        Op(1, 1, 0, "ok", "write", {"key": "a", "value": 1}),
    ]
    ops += [
        Op(2, 2, 1, "invoke", "read", {"key": "a", "value": None}),
        Op(3, 3, 1, "fail", "read", {"key": "a"}),
    ]
    p = tmp_path / "h.jsonl"
    write_jsonl(History(ops), p)
    assert main(["check", str(p), "--json"]) == 2
    d = json.loads(capsys.readouterr().out)
    assert d["valid"] == "unknown" and d["evidence"]["counts"]["read"] == {"ok": 0, "fail": 1, "info": 0}
    assert main(["check", str(p), "--evidence", "off"]) == 0
    assert main(["check", str(p), "--min-ok", "-1"]) == 3


def test_a_violation_found_stands_without_evidence(tmp_path: Path) -> None:
    buggy = BASE.replace("expect: valid", "expect: invalid").replace(
        "nodes: 3}", "nodes: 3, mode: stale-read}"
    )
    o = _run(Harness(), buggy + PARTITION + "evidence: {min_ok: 100000}\n", tmp_path)
    assert (o.exit_code, o.outcome, o.valid) == (0, "pass", False)
    assert o.evidence is not None and not o.evidence.enough
    page = _page(o)
    assert 'data-evidence="thin"' in page and 'data-evidence="lacking"' not in page
