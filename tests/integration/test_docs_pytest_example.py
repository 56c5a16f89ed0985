"""The documented fixture example (docs/examples/test_redis_chaos.py, explained in docs/pytest.md) runs as a
user would run it: copied into a folder outside this checkout and run there with pytest. It must pass, and its
verdict, bundle and report must reach the pytest output and the JUnit XML."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from integration_env import require_toxiproxy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "test_redis_chaos.py"


def test_documented_example_passes_from_a_folder_outside_the_checkout(tmp_path: Path) -> None:
    require_toxiproxy()
    assert ROOT not in tmp_path.parents
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", EXAMPLE.name, "-rA", "-p", "no:cacheprovider", "--chaos-backend",
         "local", "--chaos-out", "reports", "--junitxml=junit.xml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "expected valid, got valid" in proc.stdout
    props = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "junit.xml").iter("property")}
    assert props["verdict"].startswith("as expected")
    report = tmp_path / str(props["report"])
    assert report.is_file() and report.stat().st_size > 1000
    assert (report.parent / "run.json").is_file() and (report.parent / "history.jsonl").is_file()
