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
