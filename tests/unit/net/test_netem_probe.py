"""``chaos doctor`` says whether the kernel has sch_netem, as ``probe_host`` found it, and the probe never
changes the host: it works in a throwaway network namespace."""

from __future__ import annotations

import subprocess

import pytest

from harness.cli import doctor
from harness.net import netem


def test_doctor_reports_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netem, "probe_host", lambda: (False, "not in this kernel"))
    monkeypatch.setattr("harness.cluster.docker.docker_reachable", lambda: False)
    line = [c for c in doctor.checks() if c[2] == "netem"]
    assert line == [(False, False, "netem", "not in this kernel")]


def test_probe_leaves_the_host_qdiscs_alone() -> None:
    before = subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True).stdout
    ok, how = netem.probe_host()
    assert ok in (True, False, None) and how
    assert subprocess.run(["tc", "qdisc", "show"], capture_output=True, text=True).stdout == before
