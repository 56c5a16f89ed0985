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


def test_probe_leaves_the_host_qdiscs_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asserted on what the probe runs, not on the host's whole ``tc qdisc show`` (other containers' veth
    interfaces change that at any moment on a shared machine): every ``tc`` runs inside ``unshare -n``."""
    ran: list[list[str]] = []

    def fake_run(argv: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(netem.Path, "exists", lambda self: False)  # sch_netem not loaded: the probe runs tc
    monkeypatch.setattr(netem.os, "geteuid", lambda: 0)
    monkeypatch.setattr(netem.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(netem.subprocess, "run", fake_run)
    ok, how = netem.probe_host()
    assert ok is True and "throwaway namespace" in how
    assert ran and all(argv[:2] == ["unshare", "-n"] and "tc" in argv for argv in ran), ran
