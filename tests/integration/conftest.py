"""Shared fixtures for integration tests: "is Docker / Toxiproxy here?", as a skip or, in CI, a failure.

``scripts/test`` sets ``CHAOS_REQUIRE_INTEGRATION=1``: then a missing engine or toxiproxy-server FAILS the
test instead of skipping it, so CI cannot go green without running the integration tests.

    def test_x(backend):             # runs on "local" and on "docker"
    def test_y(docker_backend):      # "docker" only
    def test_z(local_backend):       # "local" only (needs toxiproxy-server, no Docker)
    require_docker(); require_toxiproxy()   # the same checks as plain helpers (integration_env)
"""

from __future__ import annotations

import pytest
from integration_env import require_docker, require_toxiproxy


@pytest.fixture
def local_backend() -> str:
    require_toxiproxy()
    return "local"


@pytest.fixture
def docker_backend() -> str:
    require_docker()
    return "docker"


@pytest.fixture(params=["local", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        require_docker()
    else:
        require_toxiproxy()
    return str(request.param)
