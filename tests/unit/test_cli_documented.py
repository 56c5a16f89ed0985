"""Every command, option and positional argument of ``chaos`` is in docs/cli.md; ``--version`` answers."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from harness.cli import build_parser, main
from harness.provenance import harness_version

ROOT = Path(__file__).resolve().parents[2]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_and_argument_is_documented() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name, parser in _subparsers().items():
        row = next((ln for ln in doc.splitlines() if ln.startswith(f"| `chaos {name}")), None)
        assert row is not None, f"chaos {name} has no row in docs/cli.md"
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            what = f"chaos {name} {action.option_strings or action.dest}"
            if action.option_strings:
                assert any(f"`{o}" in row for o in action.option_strings), what
            else:
                assert action.metavar and f"chaos {name} {action.metavar}" in row, what
            assert action.help, f"chaos {name} {action.option_strings or action.dest} has no help"


def test_positional_arguments_have_one_name_per_kind() -> None:
    names = {
        a.metavar
        for p in _subparsers().values()
        for a in p._actions
        if not a.option_strings and not isinstance(a, argparse._HelpAction)
    }
    assert names == {"EXPERIMENT", "BUNDLE", "HISTORY", "DIR", "TARGET"}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"chaos-harness {harness_version()}"


def test_check_offers_the_availability_checker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``chaos check --checker availability`` (the docs list it): figures only, valid without thresholds."""
    from harness.history import write_jsonl
    from harness.op import Op

    ops, read = [], {"key": "k", "value": None}
    for i in range(12):
        ops.append(Op(2 * i, i * 10_000_000, i % 2, "invoke", "read", read))
        ops.append(Op(2 * i + 1, i * 10_000_000 + 5_000_000, i % 2, "ok", "read", read))
    path = tmp_path / "history.jsonl"
    write_jsonl(ops, path)
    assert main(["check", str(path), "--checker", "availability"]) == 0
    assert "availability: valid=true" in capsys.readouterr().out
