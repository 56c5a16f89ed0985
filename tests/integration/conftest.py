"""Shared fixtures for integration tests: "is Docker / Toxiproxy here?", as a skip or, in CI, a failure.

``scripts/test`` sets ``CHAOS_REQUIRE_INTEGRATION=1``: then a missing engine or toxiproxy-server FAILS the
test instead of skipping it, so CI cannot go green without running the integration tests.

    def test_x(backend):             # runs on "local" and on "docker"
    def test_y(docker_backend):      # "docker" only
    def test_z(local_backend):       # "local" only (needs toxiproxy-server, no Docker)
    require_docker(); require_toxiproxy()   # the same checks as plain helpers
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "CHAOS_REQUIRE_INTEGRATION"


def _missing(what: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{what} ({REQUIRE_ENV}=1: integration tests may not be skipped)", pytrace=False)
    pytest.skip(what)


def require_toxiproxy() -> None:
    from harness.net.server import find_toxiproxy

    if find_toxiproxy() is None:
        _missing("toxiproxy-server not found; run scripts/setup")


def require_docker() -> None:
    """A reachable engine plus the target image (built here if only the base image is present)."""
    require_toxiproxy()
    from harness.cluster import docker as dk
    from harness.errors import InfrastructureError

    if not dk.docker_reachable():
        _missing("no Docker engine reachable; run scripts/setup")
    try:
        c = dk.client()
        dk.ensure_image(c)
        c.close()
    except InfrastructureError as e:
        _missing(str(e))


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


def isolated_env(home: object) -> dict[str, str]:
    """The environment for a child ``chaos`` process with its own ``CHAOS_HOME`` (a second "checkout"):
    it still finds this machine's toxiproxy-server and the base image set-up chose."""
    from harness.cluster.image import base_candidates
    from harness.net.server import find_toxiproxy

    env = {**os.environ, "CHAOS_HOME": str(home)}
    toxiproxy = find_toxiproxy()
    if toxiproxy is not None:
        env["CHAOS_TOXIPROXY"] = str(toxiproxy)
    base = base_candidates()[0]
    try:
        from harness.cluster import docker as dk

        if dk.docker_reachable():
            c = dk.client()
            image = dk.base_image(c)
            c.close()
            base = image.tags[0] if image.tags else image.id
    except Exception:  # noqa: BLE001 - no engine: the local backend needs no image
        pass
    env["CHAOS_BASE_IMAGE"] = base
    return env
