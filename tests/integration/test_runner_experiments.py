"""Acceptance: ``pytest experiments/`` runs every shipped experiment and passes (correct modes valid, planted
bugs caught), each within two minutes, with the JUnit XML carrying the seed and bundle of every item."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_experiment_passes(docker_backend: str, tmp_path: Path) -> None:
    shipped = sorted((ROOT / "experiments").glob("*.yaml"))
    assert len(shipped) >= 9
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "experiments/",
            "--chaos-backend",
            docker_backend,
            "--chaos-out",
            str(tmp_path / "reports"),
            f"--junitxml={junit}",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == len(shipped)
    for case in cases:
        assert float(case.get("time", "0")) < 120, case.get("name")
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props.get("seed") and props.get("bundle"), case.get("name")
