"""A ``docker pause`` the engine refuses on a loaded host ("OCI runtime pause failed: unable to freeze") is
tried again; refused every time, it is one InfrastructureError line, never an APIError traceback
(issue 22)."""

from __future__ import annotations

import docker.errors
import pytest

from harness.cluster.docker import engine_retry
from harness.errors import InfrastructureError


class Flaky:
    def __init__(self, refusals: int) -> None:
        self.refusals, self.calls = refusals, 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise docker.errors.APIError(
                "500 Server Error", explanation="OCI runtime pause failed: unable to freeze: unknown"
            )


def test_a_refused_pause_is_tried_again() -> None:
    flaky = Flaky(refusals=2)
    engine_retry(flaky, "docker pause n1", attempts=3, pause_s=0)
    assert flaky.calls == 3


def test_refused_every_time_is_one_line() -> None:
    flaky = Flaky(refusals=5)
    with pytest.raises(InfrastructureError) as e:
        engine_retry(flaky, "docker pause n1", attempts=3, pause_s=0)
    assert flaky.calls == 3
    why = "OCI runtime pause failed: unable to freeze: unknown"
    assert str(e.value) == f"docker pause n1 failed 3 times: {why}"


def test_a_node_whose_network_sandbox_died_is_down() -> None:
    """The watch asks ``states()``: a node container still running in a dead sandbox reaches nobody, so it
    is an observed outage (issue 22: it used to go unseen until the engine refused to restart the node)."""
    from types import SimpleNamespace

    from harness.cluster.docker import DockerBackend
    from harness.cluster.rundir import LABEL

    def container(role: str, node: str, status: str) -> SimpleNamespace:
        return SimpleNamespace(
            labels={LABEL: "r1", "chaos-harness.role": role, "chaos-harness.node": node}, status=status
        )

    listed = [
        container("node", "n1", "running"),
        container("sandbox", "n1", "exited"),
        container("node", "n2", "paused"),
        container("sandbox", "n2", "running"),
        container("node", "n3", "running"),
        container("sandbox", "n3", "running"),
        container("toxiproxy", "None", "running"),
    ]
    fake = SimpleNamespace(
        client=SimpleNamespace(containers=SimpleNamespace(list=lambda **kw: listed)),
        run=SimpleNamespace(run_id="r1"),
        _containers={"n1": None, "n2": None, "n3": None, "n4": None},
    )
    assert DockerBackend.states(fake) == {"n1": "down", "n2": "paused", "n3": "running", "n4": "down"}  # type: ignore[arg-type]
