"""No false pass (issue 22): ``chaos check`` never says "valid" about something it did not check.

One section per point of the issue: histories from pipes are read once; a checker that finds none of the ops
it checks is bad input with a hint; non-finite and absurd numbers are refused against documented ranges;
ill-typed ops are bad input naming line and field, never a checker crash reported as unknown; a history in
which nothing succeeded is decided by a pre-check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).parents[2]


def kv_history(n: int, *, stale: bool) -> str:
    """``n`` write/read pairs on key "a"; with ``stale`` the last read returns a value never current."""
    lines = []
    i = 0
    for k in range(n):
        for f, v, out in (("write", k, k), ("read", None, k)):
            if stale and k == n - 1 and f == "read":
                out = 0 if n > 1 else 99
            lines.append({"index": i, "time": i, "process": 0, "type": "invoke", "f": f,
                          "value": {"key": "a", "value": v}})
            lines.append({"index": i + 1, "time": i + 1, "process": 0, "type": "ok", "f": f,
                          "value": {"key": "a", "value": out}})
            i += 2
    return "".join(json.dumps(d) + "\n" for d in lines)


def chaos(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- 1. piped histories are read once ---------------------------------------------------------------------
@pytest.mark.parametrize("ops", [3, 600])  # under and over the 64 KiB that format detection looks at
def test_a_piped_history_gets_the_verdict_of_the_file(ops: int, tmp_path: Path) -> None:
    text = kv_history(ops, stale=True)
    assert (len(text) > 65536) == (ops > 100)
    path = tmp_path / "h"  # no extension: the format is guessed from the content
    path.write_text(text)
    assert chaos(["check", str(path)]).returncode == 1
    piped = chaos(["check", "/dev/stdin"], stdin=text.encode())
    assert piped.returncode == 1, piped.stdout + piped.stderr
    assert "Not linearizable" in piped.stdout


def test_a_piped_transactional_history_is_read_once() -> None:
    lines = [
        {"process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1]]},
        {"process": 0, "type": "ok", "f": "txn", "value": [["append", "x", 1]]},
        {"process": 1, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
        {"process": 1, "type": "ok", "f": "txn", "value": [["r", "x", [2]]]},  # 2 was never appended
    ]
    text = "".join(json.dumps(d) + "\n" for d in lines)
    piped = chaos(["check", "/dev/stdin", "--checker", "list-append"], stdin=text.encode())
    assert piped.returncode == 1, piped.stdout + piped.stderr


def test_a_piped_history_over_the_size_bound_is_refused() -> None:
    text = kv_history(600, stale=False)
    piped = chaos(["check", "/dev/stdin", "--max-history-mb", "0.01"], stdin=text.encode())
    assert piped.returncode == 3 and "--max-history-mb" in piped.stderr
    assert len(piped.stderr.strip().splitlines()) == 1
