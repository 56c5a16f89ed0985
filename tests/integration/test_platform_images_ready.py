"""Nodes from an image the harness builds (base image + Debian packages) or one the user names, readiness by
HTTP status and by command, and a data dir that exists (writable by the node's user) before the node starts;
peers addressed by their stable hostnames on docker."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from harness.errors import BadInput, InfrastructureError
from harness.platform import open_cluster
from harness.target import Addr, ImageBuild, NodeContext, NodeSpec, Readiness, Topology

pytestmark = pytest.mark.integration

PING = ImageBuild(packages=("iputils-ping",))


class HttpTarget:
    """Each node serves its data dir over HTTP (python3 -m http.server), from a declared or named image."""

    name = "http-files"
    planted_bugs: frozenset[str] = frozenset()
    ports = {"web": 8080}

    def __init__(self, image: str | ImageBuild | None = PING, ready: Readiness | None = None) -> None:
        self.image = image
        self.ready = ready or Readiness(kind="http", port="web", path="/", status=200)
        self.images = (PING,)

    def topology(self, nodes: int, options: Mapping[str, Any]) -> Topology:
        return Topology.full_mesh([f"n{i}" for i in range(1, nodes + 1)])

    def node_spec(self, ctx: NodeContext) -> NodeSpec:
        argv = ("python3", "-m", "http.server", str(ctx.ports["web"]), "--bind", ctx.listen.host)
        argv += ("--directory", ctx.data_dir)
        return NodeSpec(argv, image=self.image, ready=self.ready)

    def client(self, nodes: Mapping[str, Addr], process: int, timeout: float) -> Any:
        raise NotImplementedError


def test_built_image_http_readiness_data_dir_and_hostnames(docker_backend: str) -> None:
    with open_cluster(HttpTarget(), nodes=2, backend=docker_backend) as cluster:
        cluster.wait_ready(timeout=60)
        be = cluster.backend
        ctx = cluster.contexts["n1"]
        assert ctx.host == "n1" and ctx.peer_addrs["n2"]["web"] == Addr("n2", 8080)
        assert be.run_command("n1", ("sh", "-c", "command -v ping"), {}, 10) == 0  # the package is in
        assert be.run_command("n1", ("test", "-w", ctx.data_dir), {}, 10) == 0  # made for nobody
        fetch = "import urllib.request as u; u.urlopen('http://n2:8080/', timeout=3).read()"
        assert be.run_command("n1", ("python3", "-c", fetch), {}, 10) == 0  # n2 by its hostname, real port
        cluster.kill("n2")
        cluster.start("n2")
        assert cluster.wait_ready(timeout=30) >= 0
        assert be.run_command("n1", ("python3", "-c", fetch), {}, 10) == 0


def test_command_readiness_runs_in_the_node_and_waits(docker_backend: str) -> None:
    flag = "/tmp/chaos-data/n1/go"
    target = HttpTarget(ready=Readiness(kind="command", argv=("test", "-e", flag)))
    with open_cluster(target, nodes=1, backend=docker_backend) as cluster:
        timer = threading.Timer(1.5, lambda: cluster.backend.run_command("n1", ("touch", flag), {}, 10))
        timer.start()
        try:
            assert cluster.wait_ready(timeout=30) >= 1.4
        finally:
            timer.cancel()
        with pytest.raises(InfrastructureError, match="not ready within"):
            cluster.backend.run_command("n1", ("rm", flag), {}, 10)
            cluster.wait_ready(timeout=1)


def test_a_missing_named_image_is_bad_input(docker_backend: str) -> None:
    with pytest.raises(BadInput, match="not found in the local engine"):
        with open_cluster(HttpTarget(image="chaos-harness/no-such-image:1"), nodes=1, backend=docker_backend):
            pass


def test_http_readiness_on_local(local_backend: str) -> None:
    with open_cluster(HttpTarget(), nodes=2, backend=local_backend) as cluster:
        cluster.wait_ready(timeout=30)
        ctx = cluster.contexts["n1"]
        assert (
            ctx.host == "127.0.0.1"
            and ctx.peer_addrs["n2"]["web"].port != cluster.contexts["n2"].ports["web"]
        )
