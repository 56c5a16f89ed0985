"""The local backend never hands one port to two owners of a run.

Without ``base_port`` the kernel picks free ports, and a port it gave back (bound, then closed) may come
again before its first owner binds it: two nodes on one port answer for each other (a CI run saw ``ping n3``
answered by n2). Proxies get their ports from the same place, so Toxiproxy cannot take a node's port either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cluster import local
from harness.cluster.rundir import RunDir


def test_a_port_the_kernel_gives_twice_is_handed_out_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path))
    kernel = iter([41001, 41002, 41001, 41002, 41003, 41001, 41004, 41005])
    monkeypatch.setattr(local, "free_port", lambda: next(kernel))
    be = local.LocalBackend(RunDir.create("ports-test"))
    n1 = be.node_addrs("n1").listen.port
    n2 = be.node_addrs("n2").listen.port
    proxy = be.proxy_port(0)
    n3 = be.node_addrs("n3").listen.port
    assert [n1, n2, proxy, n3] == [41001, 41002, 41003, 41004]


def test_proxies_get_explicit_ports_not_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path))
    be = local.LocalBackend(RunDir.create("ports-test"))
    ports = [be.proxy_port(i) for i in range(20)] + [be.node_addrs(f"n{i}").listen.port for i in range(5)]
    assert 0 not in ports and len(set(ports)) == len(ports)
