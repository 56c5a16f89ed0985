"""The report picks a verdict's explanation and counterexample by the type of the result's details (read back
by the checker name written with each result), never by the experiment's name for the checker or by keys
that happen to be in the details."""

from __future__ import annotations

import json
from pathlib import Path

from report_dom import parse

from harness.bundle import Bundle
from harness.checkers import availability, exactly_once, linearizable, lock_safety
from harness.checkers.base import Composite, Result
from harness.history import History, write_jsonl
from harness.op import Op
from harness.record import RunRecord
from harness.report import render_html, verdicts

MS = 1_000_000
STALE = History(
    [
        Op(0, 0, 0, "invoke", "write", {"key": "a", "value": 1}),
        Op(1, 1 * MS, 0, "ok", "write", {"key": "a", "value": 1}),
        Op(2, 2 * MS, 1, "invoke", "write", {"key": "a", "value": 2}),
        Op(3, 3 * MS, 1, "ok", "write", {"key": "a", "value": 2}),
        Op(4, 4 * MS, 2, "invoke", "read", {"key": "a", "value": None}),
        Op(5, 5 * MS, 2, "ok", "read", {"key": "a", "value": 1}),
    ]
)
LOOKALIKE = {  # a user's checker whose details share keys with the bundled ones
    "failed_part": {"key": "a", "ops": [4], "longest": [[0]], "stuck_ops": [4]},
    "lost": [{"msg": "m1", "send_index": 0}],
    "overlaps": [{"a": {}, "b": {}}],
    "anomalies": [],
    "consistency_model": "serializable",
}


def _bundle(tmp_path: Path, composite: Composite) -> Bundle:
    b = Bundle.create(tmp_path, "dispatch")
    b.write_run(RunRecord(experiment="dispatch", seed=1, expect="valid", status="finished"))
    write_jsonl(STALE, b.history_file)
    b.write_results(composite, valid=composite.valid, outcome="fail")
    return b


def test_a_checker_under_another_name_is_explained_by_its_details_type(tmp_path: Path) -> None:
    """The experiment calls the linearizability checker ``registers``: its banner and drawing are still the
    linearizability ones, because its details are ``LinearizableDetails``."""
    b = _bundle(tmp_path, Composite({"registers": linearizable.check(STALE, engine="python")}))
    stored = b.read_results()
    assert stored is not None
    assert isinstance(stored.results["registers"].details, linearizable.LinearizableDetails)
    root = parse(render_html(b))
    banner = root.one("div", cls="verdict")
    assert banner.attrs["data-checker"] == "registers"
    assert "no order of its" in banner.text() and "single copy of the data" in banner.text()
    assert root.one("section", cls="counterexample").attrs["class"] == "counterexample lin"


def test_lookalike_keys_do_not_make_a_users_checker_look_like_a_bundled_one(tmp_path: Path) -> None:
    mine = Result("my-check", False, "my invariant broke", LOOKALIKE)
    explained = verdicts.explain("linearizable", mine)  # even under a bundled checker's name
    assert explained == "The linearizable invariant was violated on this history."
    b = _bundle(tmp_path, Composite({"linearizable": mine}))
    root = parse(render_html(b))
    assert root.find_all("section", cls="counterexample") == []  # no drawing guessed from the keys
    assert root.one("div", cls="verdict").attrs["data-valid"] == "invalid"
    assert verdicts.named_ops(b.read_results()) == set()


def test_each_bundled_type_gets_its_own_explanation() -> None:
    lin = linearizable.check(STALE, engine="python")
    eo = exactly_once.check(History())  # undecided: counts only
    lock = lock_safety.check(History())  # no resource log: unknown
    assert "single copy of the data" in verdicts.explain("x", lin)
    assert verdicts.explain("x", eo).startswith("The x checker could not decide")
    assert verdicts.explain("x", lock).startswith("The x checker could not decide")
    valid_lock = Result("lock-safety", True, "", lock_safety.LockSafetyDetails(grants=2, writes=3))
    assert "(2 grants, 3 accepted writes)" in verdicts.explain("x", valid_lock)


def test_a_stored_result_is_typed_by_the_checker_written_with_it(tmp_path: Path) -> None:
    """The results.json key is the experiment's name for the checker; the type comes from ``checker``."""
    lin = linearizable.check(STALE, engine="python").to_dict()
    doc = {"valid": False, "results": {"anything": lin, "plain": {**lin, "checker": "someone-elses"}}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc))
    from harness.record import read_results

    stored = read_results(path)
    assert isinstance(stored.results["anything"].details, linearizable.LinearizableDetails)
    assert not isinstance(stored.results["plain"].details, linearizable.LinearizableDetails)


def test_stored_availability_figures_are_found_by_type_not_by_name(tmp_path: Path) -> None:
    """An experiment that names the availability checker ``uptime`` (with its own sustain_s): the report
    shows the stored figures, not figures derived again with the defaults."""
    stored = availability.check(STALE, sustain_s=0.25)
    b = _bundle(tmp_path, Composite({"uptime": stored}))
    assert "next 0.25 s ok" in render_html(b)
    derived = _bundle(
        tmp_path / "other", Composite({"linearizable": linearizable.check(STALE, engine="python")})
    )
    assert "next 1.0 s ok" in render_html(derived)
