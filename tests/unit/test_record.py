"""The run record (``harness.record``): what ``run.json`` holds, its one writer and its strict reader.

Round trip, bundles written by older versions of the runner, keys a newer version added (kept, never lost),
and the one-line errors a corrupt or foreign ``run.json`` gives (naming the file and the field).
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness import evidence as ev
from harness.bundle import Bundle
from harness.cluster.owner import mark_killed
from harness.crash import Crash
from harness.errors import BadInput
from harness.history import History
from harness.record import Phase, RunRecord, read, write

# run.json as the first runner wrote it (commit b9241ca): status "done", outcome in words, no timestamps.
FIRST_DAY = {
    "experiment": "kv-register",
    "seed": 7,
    "expect": "valid",
    "target": "kv",
    "flags": [],
    "backend": "local",
    "nodes": ["n1", "n2", "n3"],
    "resolved": {"name": "kv-register", "seed": 7},
    "schedule": [{"kind": "partition", "at": 1.0, "duration": 2.0, "params": {"shape": "halves"}}],
    "overrides": {},
    "replay": "chaos replay reports/kv-register/20261127-101010-000",
    "status": "done",
    "python": "3.11.7",
    "phase": "check",
    "phases": [{"phase": "setup", "at_s": 0.0}, {"phase": "check", "at_s": 4.2}],
    "outcome": "as expected",
    "exit_code": 0,
    "ops": 812,
    "timings": {"setup_s": 1.5, "workload_s": 2.0},
}


def _full() -> RunRecord:
    found = ev.gather(History(), ev.Rules(min_ok=0), faults_planned=1)
    return RunRecord(
        experiment="kv-register",
        seed=7,
        expect="valid",
        target="kv",
        flags=("stale-read",),
        backend="docker",
        nodes=("n1", "n2", "n3"),
        workload={"duration": 5, "concurrency": 4},
        resolved={"name": "kv-register"},
        schedule=({"kind": "kill", "at": 1.0, "duration": 1.0, "params": {"nodes": ["n1"]}},),
        overrides={"backend": "docker"},
        replay="chaos replay x",
        started="2026-11-30T05:00:00+0000",
        python="3.11.7",
        code_version="0.2.0+abc1234",
        status="crashed",
        phase="teardown",
        phases=(Phase("setup", 0.0), Phase("teardown", 3.5)),
        steady_state={"held": True},
        aborted={"probe": "p", "reason": "r", "at_s": 1.0},
        outcome="crashed",
        verdict="crashed",
        exit_code=3,
        ops=10,
        timings={"setup_s": 1.0, "workload_s": 2.5},
        evidence=found,
        finished="2026-11-30T05:00:09+0000",
        error="worker-1: RuntimeError: boom",
        crashes=(Crash("worker-1 (process 1)", "RuntimeError: boom", "Traceback ..."),),
    )


def test_every_field_round_trips_through_run_json(tmp_path: Path) -> None:
    rec = _full()
    write(tmp_path / "run.json", rec)
    back = read(tmp_path / "run.json")
    assert back == rec
    # the JSON shape is the one bundles always had: plain objects and lists, None fields left out
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["phases"] == [{"phase": "setup", "at_s": 0.0}, {"phase": "teardown", "at_s": 3.5}]
    assert data["crashes"][0] == {
        "where": "worker-1 (process 1)",
        "error": "RuntimeError: boom",
        "traceback": "Traceback ...",
    }
    assert data["evidence"] == rec.evidence.to_dict()  # type: ignore[union-attr]
    assert data["flags"] == ["stale-read"] and data["nodes"] == ["n1", "n2", "n3"]
    assert "extra" not in data and "outcome" not in json.loads(json.dumps(RunRecord(seed=1).to_dict()))


def test_a_bundle_written_by_the_first_runner_still_reads(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps(FIRST_DAY))
    rec = read(tmp_path / "run.json")
    assert (rec.status, rec.seed, rec.outcome, rec.started, rec.evidence) == (
        "done",
        7,
        "as expected",
        None,
        None,
    )
    assert rec.phases == (Phase("setup", 0.0), Phase("check", 4.2))
    assert rec.schedule == tuple(FIRST_DAY["schedule"])  # type: ignore[arg-type]
    assert rec.to_dict() == FIRST_DAY  # rewriting it changes nothing


def test_keys_of_a_newer_version_are_kept_when_the_record_is_rewritten(tmp_path: Path) -> None:
    b = Bundle.create(tmp_path, "exp")
    b.run_file.write_text(json.dumps({"experiment": "exp", "status": "running", "future_field": {"x": [1]}}))
    assert b.update_run(status="finished", ops=3).extra == {"future_field": {"x": [1]}}
    assert json.loads(b.run_file.read_text()) == {
        "experiment": "exp",
        "status": "finished",
        "ops": 3,
        "future_field": {"x": [1]},
    }


def test_update_is_dataclasses_replace_and_refuses_an_unknown_field(tmp_path: Path) -> None:
    b = Bundle.create(tmp_path, "exp")
    b.write_run(RunRecord(experiment="exp", seed=1, status="running"))
    assert b.update_run(phase="heal") == RunRecord(experiment="exp", seed=1, status="running", phase="heal")
    with pytest.raises(TypeError):
        b.update_run(no_such_field=1)


@pytest.mark.parametrize(
    "data, field, valid",
    [
        ({"experiment": "x", "seed": "seven"}, "'seed'", "an integer"),
        ({"experiment": "x", "seed": True}, "'seed'", "an integer"),
        ({"experiment": 3}, "'experiment'", "a string"),
        ({"experiment": "x", "nodes": "n1"}, "'nodes'", "a list of node names"),
        ({"experiment": "x", "phases": [{"phase": "setup"}]}, "'phases'", '"at_s"'),
        ({"experiment": "x", "timings": {"setup_s": "fast"}}, "'timings'", "numbers"),
        (
            {"experiment": "x", "evidence": {"counts": {"read": {"ok": "many"}}}},
            "'evidence'",
            "evidence object",
        ),
        ({"experiment": "x", "crashes": ["boom"]}, "'crashes'", "where"),
        ({"experiment": "x", "status": "sleeping"}, "'status'", "running, finished"),
        ({"experiment": "x", "schedule": {"kind": "kill"}}, "'schedule'", "a list of fault events"),
    ],
)
def test_a_field_of_the_wrong_type_is_one_line_naming_file_and_field(
    tmp_path: Path, data: dict[str, Any], field: str, valid: str
) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInput) as e:
        read(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: field {field} must be ") and valid in msg and "\n" not in msg


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"name": "some other tool", "version": 2}', "not a chaos-harness run record"),
        ("[1, 2]", "expected a JSON object"),
        ("{nope", "run.json:1: not valid JSON"),
        ('"just a string"', "expected a JSON object"),
    ],
)
def test_a_foreign_or_corrupt_run_json_is_refused(tmp_path: Path, text: str, words: str) -> None:
    b = Bundle.create(tmp_path, "exp")
    b.run_file.write_text(text)
    with pytest.raises(BadInput, match=words):
        b.read_run()


def test_report_and_summary_name_the_bad_field_instead_of_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli import main

    b = Bundle.create(tmp_path / "reports", "exp")
    b.run_file.write_text(json.dumps({"experiment": "exp", "seed": [1]}))
    assert main(["report", str(b.path)]) == 3
    assert "field 'seed' must be an integer" in capsys.readouterr().err
    assert main(["summary", str(tmp_path / "reports")]) == 0
    index = html.unescape((tmp_path / "reports" / "index.html").read_text())
    assert "field 'seed' must be an integer" in index


def test_chaos_clean_marks_a_dead_run_killed_through_the_record(tmp_path: Path) -> None:
    b = Bundle.create(tmp_path, "exp")
    b.write_run(replace(_full(), status="running", extra={"kept": 1}))
    assert mark_killed(str(b.path))
    rec = b.read_run()
    assert rec.status == "killed" and "killed" in (rec.error or "") and rec.extra == {"kept": 1}
    assert rec.seed == 7 and rec.crashes == _full().crashes  # nothing else changed
    assert not mark_killed(str(b.path))  # only a running run is marked


@pytest.mark.parametrize(
    "doc, words",
    [
        ({"valid": "maybe", "results": {}}, "field 'valid' must be true, false or \"unknown\""),
        ({"results": []}, "field 'results' must be an object of checker results"),
        ({"results": {"lin": "ok"}}, "field 'results.lin' must be a checker result object"),
        ({"results": {"lin": {"checker": "lin", "valid": 1}}}, "field 'results.lin.valid' must be true"),
        ({"results": {}, "exit_code": "0"}, "field 'exit_code' must be an integer"),
    ],
)
def test_a_corrupt_results_json_names_the_file_and_field(tmp_path: Path, doc: Any, words: str) -> None:
    b = Bundle.create(tmp_path, "exp")
    b.results_file.write_text(json.dumps(doc))
    with pytest.raises(BadInput) as e:
        b.read_results()
    assert str(e.value).startswith(f"{b.results_file}: ") and words in str(e.value)


def test_results_written_before_details_were_typed_still_read(tmp_path: Path) -> None:
    """A results.json of an early run: outcome in words, no evidence, no seed; keys kept in ``extra``."""
    b = Bundle.create(tmp_path, "exp")
    doc = {
        "valid": True,
        "outcome": "as expected",
        "results": {"linearizable": {"checker": "linearizable", "valid": True, "summary": "ok", "details": {
            "model": "kv", "parts": 1, "ops": 4, "failed_part": None, "unknown_parts": [], "elapsed_s": 1}}},
        "something_new": 1,
    }  # fmt: skip
    b.results_file.write_text(json.dumps(doc))
    stored = b.read_results()
    assert stored is not None and stored.valid is True and stored.outcome == "as expected"
    assert stored.evidence is None and stored.extra == {"something_new": 1}
    assert stored.results["linearizable"].details["ops"] == 4
