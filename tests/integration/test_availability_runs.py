"""Availability and the steady-state hypothesis against a real kv cluster (local backend: processes behind
Toxiproxy, fast): the shipped experiment recovers within its threshold, a threshold too tight is invalid with
the window named, a probe failing before faults makes the run unknown, and an abort mid-run heals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.loader import loads, with_overrides
from harness.run import run_experiment

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "experiments" / "kv-availability.yaml"


def _exp(text: str, duration: float | None = None) -> Any:
    return with_overrides(loads(text, str(SHIPPED)), backend="local", duration=duration)


def _results(o: Any) -> dict[str, Any]:
    return dict(json.loads(o.bundle.results_file.read_text())["results"])


def test_correct_kv_recovers_within_the_shipped_threshold(local_backend: str, tmp_path: Path) -> None:
    # the first isolation only (3 s to 6 s; the full 20 s run is the docker dry run of experiments/)
    o = run_experiment(_exp(SHIPPED.read_text(), duration=9), out=tmp_path)
    assert o.exit_code == 0, o.summary
    av = _results(o)["availability"]
    assert av["valid"] is True and av["details"]["thresholds"]["max_recovery_s"] == 3
    faults = av["details"]["faults"]
    assert [f["nodes"] for f in faults] == [["n1"]]
    assert all(f["recovered"] and f["recovery_s"] <= 3 for f in faults), faults
    run = o.bundle.read_run()
    assert run.steady_state["held"] is True and run.aborted is None
    assert 'class="recovery-marker"' in o.report.read_text()


def test_a_threshold_too_tight_is_invalid_and_names_the_window(local_backend: str, tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace("max_recovery_s: 3", "max_recovery_s: 0.05")
    o = run_experiment(_exp(text, duration=9), out=tmp_path)  # one leader isolation, 3 s to 6 s
    assert o.exit_code == 1 and o.valid is False
    av = _results(o)["availability"]
    assert av["valid"] is False
    (breach,) = [b for b in av["details"]["breaches"] if "max_recovery_s" in b or "not recovered" in b]
    assert breach.startswith("fault #0 partition n1 (")
    assert "fault #0 partition n1" in o.summary


def test_a_probe_failing_before_faults_makes_the_run_unknown(local_backend: str, tmp_path: Path) -> None:
    # the kv nodes speak JSON lines, not HTTP: a health check over HTTP can never pass
    text = (
        SHIPPED.read_text()
        .replace(
            "    - {name: n1-accepts, tcp: n1}\n",
            "    - {name: n1-accepts, tcp: n1}\n"
            "    - {name: n2-http-health, http: 'http://{n2}/health', timeout: 0.5}\n",
        )
        .replace("within: 15", "within: 2")
    )
    o = run_experiment(_exp(text), out=tmp_path)
    assert o.exit_code == 2 and o.valid == "unknown"
    (res,) = _results(o).values()
    assert res["checker"] == "steady-state" and "'n2-http-health'" in res["summary"]
    run = o.bundle.read_run()
    assert run.outcome == "unknown" and run.steady_state["probe"] == "n2-http-health"
    assert [op.f for op in o.bundle.read_history().nemesis_ops()] == ["steady-state-failed"]


def test_an_abort_mid_run_stops_the_faults_heals_and_says_so(local_backend: str, tmp_path: Path) -> None:
    # every node cut off from every other for 10 s: no leader, reads fail, the abort trips after 3 checks
    text = SHIPPED.read_text()
    start = text.index("faults:\n")
    end = text.index("steady_state:")
    text = (
        text[:start]
        + "faults:\n  steps:\n    - {kind: partition, shape: groups, groups: [[n1], [n2], [n3]], at: 2, "
        "duration: 10}\n" + text[end:].replace("interval: 1, failures: 3", "interval: 0.5, failures: 3")
    )
    o = run_experiment(_exp(text, duration=14), out=tmp_path)
    run = o.bundle.read_run()
    assert run.aborted["probe"] == "read-k0", run.aborted
    assert 2 < run.aborted["at_s"] < 8
    assert run.timings["workload_s"] < 9  # cut short of 14 s
    nem = o.bundle.read_history().nemesis_ops()
    assert [op.f for op in nem] == ["start-partition", "abort", "stop-partition"]
    assert (nem[2].time - nem[1].time) / 1e9 < 3  # healed right after the abort, not at the planned 12 s
    res = _results(o)
    assert res["steady-state"]["valid"] == "unknown" and "aborted at" in res["steady-state"]["summary"]
    assert res["linearizable"]["valid"] is True
    assert o.exit_code == 2


def test_planted_slow_election_is_caught_by_availability_alone(local_backend: str, tmp_path: Path) -> None:
    exp = with_overrides(loads((ROOT / "experiments" / "kv-slow-election.yaml").read_text()), backend="local")
    o = run_experiment(exp, out=tmp_path)
    assert o.exit_code == 0, o.summary  # expect: invalid, and it was
    res = _results(o)
    assert res["linearizable"]["valid"] is True  # safe: only availability suffers
    assert res["availability"]["valid"] is False
    breaches = res["availability"]["details"]["breaches"]
    assert breaches and all(" partition n" in b and "> max_unavailable_s 2" in b for b in breaches), breaches
