"""``chaos check --checker list-append|rw-register``: Elle EDN / elle-cli JSON input, models, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import BadInput
from harness.importers_txn import load as load_txn

G_SINGLE_EDN = """; read skew: T4 saw y's append but not the x append it depends on
{:index 0 :type :invoke :f :txn :process 0 :value [[:append :x 1]]}
{:index 1 :type :ok :f :txn :process 0 :value [[:append :x 1]]}
{:index 2 :type :invoke :f :txn :process 1 :value [[:r :x nil] [:append :y 1]]}
{:index 3 :type :invoke :f :txn :process 2 :value [[:r :y nil] [:r :x nil]]}
{:index 4 :type :ok :f :txn :process 1 :value [[:r :x [1]] [:append :y 1]]}
{:index 5 :type :ok :f :txn :process 2 :value [[:r :y [1]] [:r :x []]]}
"""


def _ops(*rows: tuple[str, int, list[list[object]]]) -> list[dict[str, object]]:
    return [{"type": t, "process": p, "f": "txn", "value": v} for t, p, v in rows]


def test_elle_edn_invalid_then_valid_under_weaker_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "h.edn"
    p.write_text(G_SINGLE_EDN)
    assert main(["check", str(p), "--checker", "list-append"]) == 1
    out = capsys.readouterr().out
    assert "G-single-item" in out and "rw:" in out
    assert main(["check", str(p), "--checker", "list-append", "--consistency-model", "read-committed"]) == 0


def test_paper_style_edn_without_process_or_f(tmp_path: Path) -> None:
    p = tmp_path / "h.edn"
    p.write_text(
        "{:index 0 :type :invoke :value [[:append 1 1]]}\n{:index 1 :type :ok :value [[:append 1 1]]}\n"
        "{:index 2 :type :invoke :value [[:r 1 nil]]}\n{:index 3 :type :ok :value [[:r 1 [1]]]}\n"
    )
    assert main(["check", str(p), "--checker", "list-append", "--format", "elle-edn"]) == 0


def test_elle_json_lines_and_array(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _ops(
        ("invoke", 0, [["r", "x", None], ["w", "y", 1]]),
        ("invoke", 1, [["r", "y", None], ["w", "x", 1]]),
        ("ok", 0, [["r", "x", None], ["w", "y", 1]]),
        ("ok", 1, [["r", "y", None], ["w", "x", 1]]),
    )
    lines = tmp_path / "h.json"
    lines.write_text("\n".join(json.dumps(r) for r in rows))
    arr = tmp_path / "a.json"
    arr.write_text(json.dumps([{**r, "type": ":" + str(r["type"])} for r in rows]))
    for path in (lines, arr):
        args = ["check", str(path), "--checker", "rw-register", "--format", "elle-json", "--json"]
        assert main([*args, "--consistency-model", "serializable"]) == 1
        result = json.loads(capsys.readouterr().out)
        assert result["details"]["anomaly_types"] == ["G2-item"]
        assert "repeatable-read" in result["details"]["ruled_out_models"]
        assert main([*args, "--consistency-model", "snapshot-isolation"]) == 0
        capsys.readouterr()


def test_bad_input_is_exit_3_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "h.json"
    p.write_text('{"type": "invoke", "process": 0, "f": "txn", "value": []}\n{"type": "okay"}\n')
    assert main(["check", str(p), "--checker", "list-append"]) == 3
    assert f"{p}: line 2: type is 'okay'" in capsys.readouterr().err
    q = tmp_path / "m.json"
    q.write_text('{"type": "invoke", "process": 0, "f": "txn", "value": [["inc", "x", 1]]}\n')
    assert main(["check", str(q), "--checker", "list-append"]) == 3
    assert f"{q}:1: micro-op f 'inc'" in capsys.readouterr().err


def test_auto_format_reads_our_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _ops(
        ("invoke", 0, [["r", "x", None], ["append", "y", 1]]),
        ("invoke", 1, [["r", "y", None], ["append", "x", 1]]),
        ("ok", 0, [["r", "x", []], ["append", "y", 1]]),
        ("ok", 1, [["r", "y", []], ["append", "x", 1]]),
    )
    p = tmp_path / "h.jsonl"
    p.write_text("\n".join(json.dumps({**r, "index": i, "time": i}) for i, r in enumerate(rows)))
    assert main(["check", str(p), "--checker", "list-append", "--consistency-model", "serializable"]) == 1
    out = capsys.readouterr().out
    assert "G2-item: cycle T1 -> T0 -> T1" in out or "G2-item: cycle T0 -> T1 -> T0" in out


def test_lines_that_join_into_valid_json_are_still_one_op_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line '{"' and the next one join (with a comma) into valid JSON: the count differs, not a crash."""
    p = tmp_path / "split.json"
    p.write_text('{"\nprocess": 0, "type": "invoke", "f": "txn", "value": [["r", "x", null]]}\n')
    assert main(["check", str(p), "--format", "elle-json", "--checker", "rw-register"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"chaos: error: {p}:1: not valid JSON") and err.count("\n") == 1, err


def test_an_elle_json_type_that_is_not_a_string_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "h.jsonl"
    bad.write_text('{"type": [1], "f": "txn", "process": 1, "value": []}\n')
    with pytest.raises(BadInput, match=r"line 1: type is \[1\]"):
        load_txn(bad, "elle-json")
