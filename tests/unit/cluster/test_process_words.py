"""One word per process control: ``Cluster.restart`` is what the ``restart`` fault does (a graceful stop,
then a start), ``Cluster.kill_and_start`` a crash then a start; every backend restarts, only a killable one
kills."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.base import capabilities_of
from harness.errors import BadInput
from harness.faultop import DOWN, PAUSED
from harness.faults.process import PROCESS_FAULTS, Restart
from harness.platform import Cluster


class _Backend:
    """Records the process controls it is asked for; ``kill`` only on the killable subclass."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def stop(self, node: str) -> None:
        self.calls.append(("stop", node))

    def start(self, node: str) -> None:
        self.calls.append(("start", node))


class _KillableBackend(_Backend):
    def kill(self, node: str) -> None:
        self.calls.append(("kill", node))


def _cluster(backend: Any) -> Cluster:
    contexts: Any = {"n1": None}  # a node name is all the process controls look up
    net: Any = None
    caps = capabilities_of(backend)
    return Cluster(run_id="r", backend=backend, net=net, contexts=contexts, capabilities=caps)


def test_restart_is_a_graceful_stop_then_a_start_as_the_fault() -> None:
    be = _KillableBackend()
    _cluster(be).restart("n1")
    assert be.calls == [("stop", "n1"), ("start", "n1")]
    fault = _KillableBackend()
    Restart().start(_cluster(fault), {"nodes": ["n1"]})
    Restart().stop(_cluster(fault), {"nodes": ["n1"]})
    assert fault.calls == be.calls


def test_kill_and_start_crashes_then_starts() -> None:
    be = _KillableBackend()
    _cluster(be).kill_and_start("n1")
    assert be.calls == [("kill", "n1"), ("start", "n1")]


def test_every_backend_restarts_only_a_killable_one_kills() -> None:
    plain = _Backend()
    assert {"stop", "start", "restart"} <= capabilities_of(plain) and "kill" not in capabilities_of(plain)
    _cluster(plain).restart("n1")
    assert plain.calls == [("stop", "n1"), ("start", "n1")]
    with pytest.raises(BadInput, match="kill: the recording backend cannot kill nodes"):
        _cluster(plain).kill_and_start("n1")
    assert "kill" in capabilities_of(_KillableBackend())


def test_the_process_kinds_declare_which_take_nodes_down_and_which_pause_them() -> None:
    assert {k.name: k.effect for k in PROCESS_FAULTS} == {"kill": DOWN, "restart": DOWN, "pause": PAUSED}
