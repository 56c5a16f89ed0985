"""Every malformed experiment in tests/data/bad_experiments/ -> exit 3 and one line naming file, line, field.

Each corpus file starts with ``# error: LINE FIELD``: the line and field path the message must name (``YAML``
for syntax errors, which have no field). Nothing may start: validation happens before any cluster exists.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "data" / "bad_experiments"
FILES = sorted(CORPUS.glob("*.yaml"))


def _expected(path: Path) -> tuple[int, str]:
    m = re.match(r"# error: (\d+) (.+)\n", path.read_text(encoding="utf-8"))
    assert m, f"{path.name} lacks its '# error: LINE FIELD' header"
    return int(m.group(1)), m.group(2)


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_experiment_exits_3_with_one_line(
    path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line, field = _expected(path)
    code = main(["run", str(path), "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 3
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"chaos: error: {path}:{line}: "), lines[0]
    if field == "YAML":
        assert "YAML syntax error" in lines[0]
    else:
        assert f": {field}: " in lines[0], lines[0]
    assert not any(tmp_path.iterdir()), "validation must fail before a bundle is created"


def test_corpus_through_the_real_command_has_no_traceback() -> None:
    sample = [p for p in FILES if p.stem in ("yaml-syntax-tab", "unknown-target", "partition-unknown-node")]
    for path in sample:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert f"{path}:{_expected(path)[0]}:" in proc.stderr
