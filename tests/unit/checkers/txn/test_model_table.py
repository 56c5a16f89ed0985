"""One history, every consistency model: ``consistency_model: [a, b]`` and the per-model verdict table
(issue 23 point 11), in the details, ``chaos check`` and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from txn_hist import H

from harness.checkers.txn.check import TxnDetails, list_append
from harness.checkers.txn.models import MODELS
from harness.errors import BadInput
from harness.report import txn_view


def write_skew() -> H:
    h = H().begin(0, [["r", "x", []], ["append", "y", 1]]).begin(1, [["r", "y", []], ["append", "x", 1]])
    return h.end(0).end(1).txn(2, [["r", "x", [1]], ["r", "y", [1]]])


def test_a_list_of_models_rules_out_some_and_cannot_rule_out_others() -> None:
    r = list_append(write_skew().history(), consistency_model=["snapshot-isolation", "serializable"])
    table = r.details["model_verdicts"]
    assert list(table) == list(MODELS)
    assert table["serializable"] == "ruled out" and table["strict-serializable"] == "ruled out"
    assert table["snapshot-isolation"] == "not ruled out" and table["read-committed"] == "not ruled out"
    assert r.valid is False  # serializable, one of the listed, is ruled out
    assert "Per model:" in r.summary and "snapshot-isolation not ruled out" in r.summary
    holds = list_append(write_skew().history(), consistency_model=["read-committed", "snapshot-isolation"])
    assert holds.valid is True


def test_a_list_searches_real_time_so_every_model_gets_a_verdict() -> None:
    stale = H().txn(0, [["append", "x", 1]]).txn(1, [["r", "x", []]])  # G-single-realtime only
    one = list_append(stale.history(), consistency_model="serializable").details["model_verdicts"]
    assert one["strict-serializable"] == "not searched" and one["serializable"] == "not ruled out"
    both = list_append(stale.history(), consistency_model=["serializable", "read-committed"])
    assert both.details["model_verdicts"]["strict-serializable"] == "ruled out" and both.valid is True


def test_bad_lists_are_refused() -> None:
    with pytest.raises(BadInput, match="consistency_model: an empty list"):
        list_append(write_skew().history(), consistency_model=[])
    with pytest.raises(BadInput, match="unknown consistency model 'linearizable'"):
        list_append(write_skew().history(), consistency_model=["serializable", "linearizable"])


def test_the_table_round_trips_and_is_shown_in_the_report_and_by_chaos_check(tmp_path: Path) -> None:
    r = list_append(write_skew().history(), consistency_model=["snapshot-isolation", "serializable"])
    back = TxnDetails.from_dict(json.loads(json.dumps(r.details.to_dict())))
    assert back.model_verdicts == r.details.model_verdicts
    html = txn_view.render(back)
    assert 'class="txn-models"' in html and "<td>snapshot-isolation</td><td>not ruled out</td>" in html
    hist = tmp_path / "h.jsonl"
    hist.write_text("".join(json.dumps(op.to_dict()) + "\n" for op in write_skew().history()))
    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", str(hist), "--checker", "list-append",
         "--consistency-model", "snapshot-isolation", "--consistency-model", "serializable"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "model verdicts:" in out.stdout
    assert "  serializable         ruled out" in out.stdout
    assert "  snapshot-isolation   not ruled out" in out.stdout
