"""Helpers for integration tests, importable by name from any test file (``from integration_env import ...``):
"is Docker / Toxiproxy here?" as a skip or, under ``CHAOS_REQUIRE_INTEGRATION=1`` (CI), a failure, and the
environment of a child ``chaos`` process with a ``CHAOS_HOME`` of its own. (A module named ``conftest`` cannot
be imported from tests: several conftest files share that name, and the first one imported wins.)
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
